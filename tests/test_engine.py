"""The real trainer: PaddleClas's own tools/train.py, on the CPU, with CostSensitiveCE installed by this tool.

A copy of the PaddleClas checkout (PPCLS_CSCE_PADDLECLAS, default ../shared/PaddleClas; without one these tests
are skipped, see conftest.py) gets `install`; a real config (ResNet18) is turned into a 32-pixel, 4-class run on
a tiny JPEG set written here, and `gen --write` puts CostSensitiveCE into it; two epochs train through
tools/train.py. Then: the logged CS_CELoss is finite and falls; a DRW config is plain CE for exactly its first
epoch and the weighted loss from the first step of the next one (checked on every step against float64 numpy);
`uninstall` restores the tree byte for byte. Needs the [engine] extra (visualdl, scikit-learn, opencv, tqdm,
easydict). About a minute of CPU time.
"""

import hashlib
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from conftest import PADDLECLAS, python_cli, repo_env, shrink_transforms

pytestmark = pytest.mark.engine

COUNTS = [24, 12, 6, 6]  # a long tail, 48 images
BATCH = 8
ITERS = math.ceil(sum(COUNTS) / BATCH)  # drop_last False: 6 steps an epoch
GAMMA = 1.0
SIZE = 32
TIMEOUT = 600
DRIFT_BATCH = 16  # the DRW config launched with this batch size instead: 3 steps an epoch, not 6

# tools/train.py, run as PaddleClas runs it, with the installed loss's forward wrapped to record, for every
# training call, the step it saw, the loss it returned, and the logits and labels (to check it in numpy).
DRIVER = r"""
import json, runpy, sys
import numpy as np
sys.path.insert(0, ".")
from ppcls.loss import cs_celoss

record = []
original = cs_celoss.CostSensitiveCE.forward

def forward(self, x, label):
    step = int(self.train_steps.numpy().reshape(-1)[0])
    out = original(self, x, label)
    if self.training:
        logits = x["logits"] if isinstance(x, dict) else x
        record.append({"step": step, "loss": float(out["CS_CELoss"].numpy()),
                       "logits": logits.numpy().astype("float64").tolist(),
                       "label": label.numpy().reshape(-1).tolist()})
    return out

cs_celoss.CostSensitiveCE.forward = forward
out_path, sys.argv = sys.argv[1], ["tools/train.py"] + sys.argv[2:]
runpy.run_path("tools/train.py", run_name="__main__")
with open(out_path, "w") as handle:
    json.dump(record, handle)
"""


def tree_digest(root: Path) -> Dict[str, str]:
    """sha256 of every file under ppcls/ and tools/ (bytecode caches left out)."""
    digests = {}
    for top in ("ppcls", "tools"):
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digests[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def write_images(root: Path) -> Path:
    """A tiny JPEG set: class c is a colour with noise; its list in PaddleClas's `path label` form."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    colours = [(220, 40, 40), (40, 200, 40), (40, 40, 220), (200, 200, 40)]
    lines = []
    for label, count in enumerate(COUNTS):
        folder = root / "dataset" / "images" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            image = np.clip(np.array(colours[label], dtype=np.float64) + rng.normal(0, 25, (SIZE + 4, SIZE + 4, 3)),
                            0, 255).astype(np.uint8)
            assert cv2.imwrite(str(folder / f"{index}.jpg"), image)
            lines.append(f"images/{label}/{index}.jpg {label}")
    listing = root / "dataset" / "train_list.txt"
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return listing


def tiny_config(checkout: Path, name: str) -> Path:
    """PaddleClas's ResNet18 config, cut down to this data: 32 px, 4 classes, 2 epochs, batch 8, no eval."""
    data = yaml.safe_load((checkout / "ppcls" / "configs" / "ImageNet" / "ResNet" / "ResNet18.yaml").read_text())
    data["Global"].update(epochs=2, print_batch_step=1, eval_during_train=False, save_interval=1, seed=0,
                          output_dir=f"./output_{name}/", image_shape=[3, SIZE, SIZE])
    data["Arch"]["class_num"] = len(COUNTS)
    # a small step: at PaddleClas's 0.1 (meant for batch 256) a batch of 8 makes the loss jump about (measured)
    data["Optimizer"]["lr"] = {"name": "Piecewise", "learning_rate": 0.002, "decay_epochs": [30],
                               "values": [0.002, 0.0002]}
    for mode in ("Train", "Eval"):
        loader = data["DataLoader"][mode]
        loader["dataset"].update(image_root="./dataset/", cls_label_path="./dataset/train_list.txt")
        loader["sampler"]["batch_size"] = BATCH
        loader["loader"] = {"num_workers": 0, "use_shared_memory": False}
        shrink_transforms(loader, SIZE)
    for mode in ("Train", "Eval"):
        data["Metric"][mode] = [{"TopkAcc": {"topk": [1, 2]}}]
    path = checkout / "configs_test" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run(command: List[str], cwd: Path) -> subprocess.CompletedProcess:
    env = repo_env()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Dict[str, object]:
    """Install, gen --write two configs, train both; what the tests below check."""
    if PADDLECLAS is None:
        pytest.skip("no PaddleClas checkout")
    pytest.importorskip("cv2", reason="the engine tests need the [engine] extra: pip install -e '.[engine]'")
    checkout = tmp_path_factory.mktemp("engine") / "PaddleClas"
    shutil.copytree(PADDLECLAS, checkout, ignore=shutil.ignore_patterns("__pycache__", "output*"))
    before = tree_digest(checkout)
    run(python_cli("install", "--paddleclas", str(checkout)), checkout)
    listing = write_images(checkout)
    plain, drw = tiny_config(checkout, "cs_ce"), tiny_config(checkout, "drw")
    run(python_cli("gen", "--train-list", str(listing), "--gamma", str(GAMMA), "--config", str(plain), "--write"),
        checkout)
    run(python_cli("gen", "--train-list", str(listing), "--gamma", str(GAMMA), "--config", str(drw), "--write",
                   "--drw-epoch", "2"), checkout)
    results = {}
    for name, config in (("cs_ce", plain), ("drw", drw)):
        record = checkout / f"record_{name}.json"
        done = run([sys.executable, "-c", DRIVER, str(record), "-c", str(config.relative_to(checkout)),
                    "-o", "Global.device=cpu"], checkout)
        results[name] = {"log": done.stdout + done.stderr, "record": json.loads(record.read_text())}
    # the DRW config (written for batch 8) launched with another batch size, one epoch, tools/train.py as is
    done = run([sys.executable, "tools/train.py", "-c", str(drw.relative_to(checkout)), "-o", "Global.device=cpu",
                "-o", f"DataLoader.Train.sampler.batch_size={DRIFT_BATCH}", "-o", "Global.epochs=1",
                "-o", "Global.output_dir=./output_drift/"], checkout)
    log_file = checkout / "output_drift" / "train.log"
    results["drift"] = {"log": done.stdout + done.stderr,
                        "log_file": log_file.read_text(encoding="utf-8") if log_file.is_file() else ""}
    run(python_cli("uninstall", "--paddleclas", str(checkout)), checkout)
    return {"checkout": checkout, "before": before, "after": tree_digest(checkout), "plain_config": plain,
            "drw_config": drw,
            **results}


def test_gen_wrote_costsensitivece_into_the_real_config(engine) -> None:
    for name in ("plain_config", "drw_config"):
        data = yaml.safe_load(Path(engine[name]).read_text(encoding="utf-8"))
        [entry] = data["Loss"]["Train"]
        assert entry["CostSensitiveCE"]["num_class_list"] == COUNTS
        done = subprocess.run(python_cli("validate", "--strict", str(engine[name])), cwd=engine["checkout"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr  # what gen writes, validate accepts
    drw = yaml.safe_load(Path(engine["drw_config"]).read_text(encoding="utf-8"))["Loss"]["Train"][0]["CostSensitiveCE"]
    assert (drw["drw_start_epoch"], drw["iters_per_epoch"]) == (2, ITERS)


def test_logged_cs_celoss_is_finite_and_falls(engine) -> None:
    averages = {int(epoch): float(value) for epoch, value in
                re.findall(r"\[Train\]\[Epoch (\d+)/2\]\[Avg\].*?CS_CELoss: ([^,\s]+)", engine["cs_ce"]["log"])}
    assert sorted(averages) == [1, 2], engine["cs_ce"]["log"][-3000:]
    assert all(math.isfinite(value) for value in averages.values())
    assert averages[2] < averages[1], averages
    steps = [row["step"] for row in engine["cs_ce"]["record"]]
    assert steps == list(range(2 * ITERS))  # one training call per step, counted by the loss


def _numpy_loss(logits: List[List[float]], labels: List[int], weighted: bool) -> float:
    import numpy as np

    x = np.array(logits, dtype=np.float64)
    y = np.array(labels, dtype=np.int64)
    log_p = x - x.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    per_sample = -log_p[np.arange(len(y)), y]
    counts = np.array(COUNTS, dtype=np.float64)
    weight = (counts.min() / counts) ** GAMMA if weighted else np.ones(len(COUNTS))
    return float((weight[y] * per_sample).sum() / weight[y].sum())


def test_drw_is_plain_ce_for_the_first_epoch_then_weighted(engine) -> None:
    record = engine["drw"]["record"]
    assert [row["step"] for row in record] == list(range(2 * ITERS))
    for row in record:
        switched = row["step"] >= ITERS  # drw_start_epoch 2: the first step of epoch 2
        expected = _numpy_loss(row["logits"], row["label"], weighted=switched)
        other = _numpy_loss(row["logits"], row["label"], weighted=not switched)
        assert row["loss"] == pytest.approx(expected, rel=1e-4, abs=1e-6), row["step"]
        if len(set(row["label"])) > 1:  # a batch of one class weighs the same either way
            assert abs(other - expected) > 1e-4 * abs(expected), row["step"]
    saved = Path(engine["checkout"]) / "output_drw" / "latest.pdparams"
    assert saved.is_file()
    import paddle

    state = paddle.load(str(saved))
    steps = [value for key, value in state.items() if key.endswith("train_steps")]
    assert len(steps) == 1 and int(steps[0].numpy().reshape(-1)[0]) == 2 * ITERS  # the counter is checkpointed


def test_uninstall_restores_the_tree_byte_for_byte(engine) -> None:
    assert engine["after"] == engine["before"]


def test_batch_size_override_of_a_drw_config_logs_the_mismatch_once(engine) -> None:
    from ppcls_csce.drw import drw_drift_message

    expected = drw_drift_message("CostSensitiveCE", 2, ITERS, sum(COUNTS), DRIFT_BATCH, 1)
    assert expected is not None
    actual = math.ceil(sum(COUNTS) / DRIFT_BATCH)
    # the switch after ITERS steps comes at epoch 3, iteration 1 of this run, not at the start of epoch 2
    assert f"iters_per_epoch {ITERS}" in expected and f"{actual} iterations per epoch" in expected
    assert "epoch 3, iteration 1" in expected
    for where in ("log", "log_file"):  # on the console and in PaddleClas's output/train.log
        text = engine["drift"][where]
        assert text.count(expected) == 1, f"{where}:\n{text[-3000:]}"
        assert text.count("deferred re-weighting is configured for iters_per_epoch") == 1
