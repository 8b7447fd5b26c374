"""LongTailAcc against a direct numpy computation from the same predictions."""

import math
from pathlib import Path

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from ppcls_csce.metric import KEYS, LongTailAcc, MetricError  # noqa: E402

TRAIN_COUNTS = [300, 150, 60, 25, 12, 5]  # many: 0, 1; medium: 2, 3; few: 4, 5
GROUPS = {"many": [0, 1], "medium": [2, 3], "few": [4, 5]}


def direct(logits: np.ndarray, labels: np.ndarray) -> dict:
    """The definitions, written out: recall per class with test images; means over classes and groups."""
    predicted = logits.argmax(axis=1)
    recall = {c: float(np.mean(predicted[labels == c] == c)) for c in range(len(TRAIN_COUNTS)) if np.any(labels == c)}
    result = {"top1": float(np.mean(predicted == labels)), "balanced_acc": float(np.mean(list(recall.values())))}
    for name, classes in GROUPS.items():
        present = [recall[c] for c in classes if c in recall]
        result[f"{name}_acc"] = float(np.mean(present)) if present else math.nan
    return result


def eval_data(seed: int = 0, size: int = 300):
    rng = np.random.default_rng(seed)
    labels = rng.choice([0, 1, 2, 3, 5], size=size, p=[0.4, 0.3, 0.15, 0.1, 0.05])  # class 4: no test images
    logits = rng.normal(size=(size, 6))
    logits[np.arange(size), labels] += rng.choice([0.0, 3.0], size=size, p=[0.5, 0.5])  # about 60% right
    return logits.astype("float32"), labels


def feed(metric: LongTailAcc, logits: np.ndarray, labels: np.ndarray, sizes=(64, 64, 7, 100)) -> None:
    start = 0
    for size in list(sizes) + [len(labels)]:
        stop = min(start + size, len(labels))
        if stop > start:
            metric(paddle.to_tensor(logits[start:stop]), paddle.to_tensor(labels[start:stop].reshape(-1, 1)))
        start = stop


def test_matches_the_direct_computation_over_uneven_batches() -> None:
    logits, labels = eval_data()
    metric = LongTailAcc(TRAIN_COUNTS)
    assert metric.groups == GROUPS
    feed(metric, logits, labels)
    want = direct(logits, labels)
    assert metric.values() == pytest.approx(want, rel=1e-12)
    assert want["balanced_acc"] != pytest.approx(want["top1"], abs=1e-3)  # the data really is imbalanced
    # the class with no test images (4) is left out of balanced and few-shot accuracy, not counted as 0
    assert metric.values()["few_acc"] == pytest.approx(np.mean(logits[labels == 5].argmax(1) == 5))
    # not a mean of per-batch values (what TopkAcc's meters would give for balanced accuracy)
    batch_means = []
    for start in range(0, len(labels), 64):
        m = LongTailAcc(TRAIN_COUNTS)
        feed(m, logits[start:start + 64], labels[start:start + 64], sizes=())
        batch_means.append(m.values()["balanced_acc"])
    assert metric.values()["balanced_acc"] != pytest.approx(float(np.mean(batch_means)), abs=1e-4)


def test_the_engine_protocol_avg_avg_info_reset_and_best_key() -> None:
    logits, labels = eval_data(1)
    metric = LongTailAcc(TRAIN_COUNTS)
    feed(metric, logits, labels)
    want = direct(logits, labels)
    assert list(metric.avg_meters) == ["balanced_acc", "top1", "many_acc", "medium_acc", "few_acc"]
    assert metric.avg == pytest.approx(want["balanced_acc"])  # what the engine keeps best_model by
    assert metric.avg_info == ", ".join(f"{key}: {want[key]:.5f}" for key in metric.avg_meters)
    few_first = LongTailAcc(TRAIN_COUNTS, best="few_acc")
    feed(few_first, logits, labels)
    assert few_first.avg == pytest.approx(want["few_acc"]) and few_first.avg_info.startswith("few_acc: ")
    metric.reset()  # the engine resets before each evaluation
    assert math.isnan(metric.avg) and metric.avg_info.startswith("balanced_acc: nan")
    feed(metric, logits[:50], labels[:50])
    assert metric.values() == pytest.approx(direct(logits[:50], labels[:50]), nan_ok=True)


def test_summed_over_two_simulated_ranks_equals_one_process() -> None:
    logits, labels = eval_data(2, size=401)
    ranks = [LongTailAcc(TRAIN_COUNTS) for _ in range(2)]
    feed(ranks[0], logits[::2], labels[::2], sizes=(32, 32))
    feed(ranks[1], logits[1::2], labels[1::2], sizes=(50,))
    merged = LongTailAcc(TRAIN_COUNTS)
    for rank in ranks:
        merged.update(rank.total, rank.correct)
    assert merged.values() == pytest.approx(direct(logits, labels), rel=1e-12)
    assert ranks[0].values() != pytest.approx(merged.values())


def test_dict_output_and_batch_counts() -> None:
    metric = LongTailAcc([5, 5, 5])
    logits = paddle.to_tensor([[3.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, 0.0, 0.0]])
    total, correct = metric.batch_counts({"logits": logits}, paddle.to_tensor([[0], [1], [2]]))
    assert total.tolist() == [1, 1, 1] and correct.tolist() == [1, 1, 0]
    out = metric({"logits": logits}, paddle.to_tensor([[0], [1], [2]]))
    assert set(out) == set(KEYS) and out["top1"] == pytest.approx(2 / 3)
    assert metric.groups == {"many": [0], "medium": [1], "few": [2]}  # thirds: no class above 100 images


@pytest.mark.parametrize("kwargs, message", [
    ({"num_class_list": []}, "no classes"),
    ({"num_class_list": "100 20"}, "must be the list of training counts"),
    ({"num_class_list": [10, -1]}, "class 1 has count -1"),
    ({"num_class_list": [10, 2], "best": "top5"}, "best must be one of"),
    ({"num_class_list": [10, 2], "sum_over_ranks": "yes"}, "sum_over_ranks must be true or false"),
])
def test_construction_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(MetricError, match=message):
        LongTailAcc(**kwargs)


def test_a_label_outside_the_counts_is_a_clear_error() -> None:
    metric = LongTailAcc([10, 2])
    with pytest.raises(MetricError, match="label 2 is outside 0..1"):
        metric(paddle.to_tensor([[1.0, 0.0, 0.0]]), paddle.to_tensor([[2]]))


RANKS_SCRIPT = r'''
import json
import numpy as np, paddle, paddle.distributed as dist
dist.init_parallel_env()
from ppcls_csce.metric import LongTailAcc
rank = dist.get_rank()
data = json.load(open("data.json"))
metric = LongTailAcc(data["counts"], sum_over_ranks=True)
for logits, labels in data["ranks"][rank]:
    metric(paddle.to_tensor(np.array(logits, dtype="float32")), paddle.to_tensor(np.array(labels).reshape(-1, 1)))
print("RESULT", rank, dist.get_world_size(), json.dumps(metric.values()), flush=True)
'''


def test_sum_over_ranks_all_reduces_in_a_real_two_process_run(tmp_path) -> None:
    """Two CPU processes (paddle.distributed.launch), each with its own share: both print the whole set's figures."""
    import json
    import os
    import subprocess
    import sys

    logits, labels = eval_data(3, size=96)
    shares = [[(logits[i:i + 16].tolist(), labels[i:i + 16].tolist()) for i in range(start, 96, 32)] for start in (0, 16)]
    (tmp_path / "data.json").write_text(json.dumps({"counts": TRAIN_COUNTS, "ranks": shares}))
    (tmp_path / "ranks.py").write_text(RANKS_SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[1]),
                                                                   os.environ.get("PYTHONPATH", "")) if p))
    done = subprocess.run([sys.executable, "-m", "paddle.distributed.launch", "--nnodes", "1", "--nproc_per_node", "2",
                           "--log_dir", str(tmp_path / "log"), "ranks.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    logs = "".join(p.read_text(errors="replace") for p in sorted((tmp_path / "log").glob("*")) if p.is_file())
    assert done.returncode == 0, (done.stdout + done.stderr + logs)[-3000:]
    results = sorted(line.split(" ", 3)[1:] for line in logs.splitlines() if line.startswith("RESULT "))
    assert [(rank, world) for rank, world, _ in results] == [("0", "2"), ("1", "2")], logs[-3000:]
    used = np.concatenate([np.arange(i, i + 16) for start in (0, 16) for i in range(start, 96, 32)])
    want = direct(logits[used], labels[used])
    for _, _, values in results:
        assert json.loads(values) == pytest.approx(want, rel=1e-12, nan_ok=True)
