"""`csce-config report` through the real engine: a tiny PPLCNet trained for 1 epoch by PaddleClas's own
tools/train.py (CPU, 32 px, 4 classes, on a copy of the checkout), then tools/eval.py and `report` on the same
model and list. Report's top-1 equals tools/eval.py's; its confusion matrix, recall, precision, balanced accuracy
and ECE equal a float64 computation written here from the logits it saved; a second report from those logits
alone gives the same figures. Bad inputs (a model that does not fit the config, another architecture, labels
at or over the class count, a missing image, an empty list, a crafted pickle): one located line, exit 1, no
--out folder. About 2 minutes of CPU.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import yaml

from conftest import PADDLECLAS, REPO, python_cli, repo_env

pytestmark = pytest.mark.engine

TRAIN_COUNTS = [30, 12, 6, 3]
EVAL_COUNTS = [8, 5, 4, 3]
NAMES = ["red", "green", "blue", "yellow"]
TIMEOUT = 900


def _images(root: Path, counts: List[int], name: str) -> Path:
    """Tiny JPEGs, one colour per class plus strong noise (so the model makes some mistakes), and their list."""
    import cv2

    rng = np.random.default_rng(len(name))
    colours = np.array([(200, 60, 60), (60, 180, 60), (60, 60, 200), (180, 180, 60)], dtype=np.float64)
    lines = []
    for label, count in enumerate(counts):
        (root / name).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            image = np.clip(colours[label] + rng.normal(0, 45, size=(32, 32, 3)), 0, 255).astype(np.uint8)
            relative = f"{name}/{label}_{index}.jpg"
            assert cv2.imwrite(str(root / relative), image)
            lines.append(f"{relative} {label}")
    listing = root / f"{name}.txt"
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return listing


def _config(checkout: Path, data: Path, train_list: Path, eval_list: Path, output: Path, **arch: object) -> dict:
    config = yaml.safe_load((checkout / "ppcls/configs/ImageNet/ResNet/ResNet18.yaml").read_text())
    config["Global"].update(epochs=1, device="cpu", output_dir=str(output), print_batch_step=1, save_interval=1,
                            eval_during_train=False, image_shape=[3, 32, 32], seed=0)
    config["Arch"] = {"name": "PPLCNet_x0_25", "class_num": 4, **arch}
    config["Optimizer"]["lr"] = {"name": "Cosine", "learning_rate": 0.05}
    ops = [{"DecodeImage": {"to_rgb": True, "channel_first": False}},
           {"NormalizeImage": {"scale": 1.0 / 255.0, "mean": [0.5] * 3, "std": [0.25] * 3, "order": ""}}]
    for mode, listing, shuffle in (("Train", train_list, True), ("Eval", eval_list, False)):
        config["DataLoader"][mode] = {
            "dataset": {"name": "ImageNetDataset", "image_root": str(data), "cls_label_path": str(listing),
                        "transform_ops": ops},
            "sampler": {"name": "DistributedBatchSampler", "batch_size": 8, "drop_last": False, "shuffle": shuffle},
            "loader": {"num_workers": 0, "use_shared_memory": False}}
    config["Metric"] = {"Train": [{"TopkAcc": {"topk": [1]}}], "Eval": [{"TopkAcc": {"topk": [1]}}]}
    names = data / "names.txt"
    names.write_text("".join(f"{label} {name}\n" for label, name in enumerate(NAMES)), encoding="utf-8")
    config["Infer"] = {"PostProcess": {"name": "Topk", "topk": 1, "class_id_map_file": str(names)}}
    return config


def _run(command: List[str], cwd: Path, ok: bool = True) -> subprocess.CompletedProcess:
    env = repo_env()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    if ok:
        assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Dict[str, object]:
    """Train 1 epoch with tools/train.py, evaluate with tools/eval.py, report with --save-logits."""
    if PADDLECLAS is None:
        pytest.skip("no PaddleClas checkout")
    pytest.importorskip("cv2", reason="the engine tests need the [engine] extra: pip install -e '.[engine]'")
    root = tmp_path_factory.mktemp("report")
    checkout = root / "PaddleClas"
    shutil.copytree(PADDLECLAS, checkout, ignore=shutil.ignore_patterns("__pycache__", "output*", "dataset"))
    data = root / "data"
    train_list, eval_list = _images(data, TRAIN_COUNTS, "train"), _images(data, EVAL_COUNTS, "val")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(_config(checkout, data, train_list, eval_list, root / "output")))
    _run([sys.executable, "tools/train.py", "-c", str(config), "-o", "Global.device=cpu"], checkout)
    model = root / "output" / "latest.pdparams"
    assert model.is_file()
    done = _run([sys.executable, "tools/eval.py", "-c", str(config), "-o", "Global.device=cpu",
                 "-o", f"Global.pretrained_model={str(model)[:-len('.pdparams')]}"], checkout)
    final = [line for line in (done.stdout + done.stderr).splitlines() if "[Eval][Epoch 0][Avg]" in line]
    assert len(final) == 1, (done.stdout + done.stderr)[-3000:]
    eval_top1 = float(re.search(r"top1: ([0-9.]+)", final[0]).group(1))
    out, logits = root / "report", root / "logits.npz"
    reported = _run(python_cli("report", "--model", str(model), "--config", str(config), "--paddleclas",
                               str(checkout), "--device", "cpu", "--out", str(out), "--save-logits", str(logits)),
                    root)
    return {"root": root, "checkout": checkout, "config": config, "model": model, "eval_top1": eval_top1,
            "out": out, "logits": logits, "reported": reported, "data": data, "eval_list": eval_list,
            "train_list": train_list}


def test_report_top1_equals_tools_eval(trained) -> None:
    report = json.loads((trained["out"] / "report.json").read_text())
    (model,) = report["models"]
    assert model["images"] == sum(EVAL_COUNTS)
    assert model["top1"] == pytest.approx(trained["eval_top1"], abs=6e-6)  # eval.py prints 5 decimals
    assert "top-1" in trained["reported"].stdout and "%" in trained["reported"].stdout  # the terminal summary
    assert "img/s" in trained["reported"].stderr or "it/s" in trained["reported"].stderr  # the progress bar


def test_report_figures_equal_a_float64_computation_on_its_saved_logits(trained) -> None:
    with np.load(trained["logits"], allow_pickle=False) as saved:
        logits, labels = saved["logits"].astype(np.float64), saved["labels"]
        assert saved["train_counts"].tolist() == TRAIN_COUNTS
        meta = json.loads(str(saved["meta"][()]))
    assert meta["model"] == str(trained["model"]) and meta["class_num"] == 4
    assert sorted(labels.tolist()) == sorted(label for label, n in enumerate(EVAL_COUNTS) for _ in range(n))
    predicted = logits.argmax(axis=1)
    confusion = np.zeros((4, 4), dtype=np.int64)
    for truth, guess in zip(labels, predicted):
        confusion[truth, guess] += 1
    with open(trained["out"] / "confusion.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert np.array_equal(np.array([row[1:] for row in rows[1:]], dtype=np.int64), confusion)
    report = json.loads((trained["out"] / "report.json").read_text())
    recall = [confusion[c, c] / confusion[c].sum() for c in range(4)]
    precision = [confusion[c, c] / confusion[:, c].sum() if confusion[:, c].sum() else None for c in range(4)]
    by_class = {row["class"]: row for row in report["per_class"]}
    for c in range(4):
        assert by_class[c]["recall"] == pytest.approx(recall[c], abs=1e-6)
        assert by_class[c]["precision"] == (None if precision[c] is None else pytest.approx(precision[c], abs=1e-6))
        assert by_class[c]["name"] == NAMES[c] and by_class[c]["train_count"] == TRAIN_COUNTS[c]
    model = report["models"][0]
    assert model["balanced_acc"] == pytest.approx(np.mean(recall), abs=1e-6)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    confidence, right = probabilities.max(axis=1), predicted == labels
    ece = sum(np.sum(members) / len(labels) * abs(right[members].mean() - confidence[members].mean())
              for members in ((confidence > m / 15) & (confidence <= (m + 1) / 15) for m in range(15)) if members.any())
    assert model["ece"] == pytest.approx(ece, abs=1e-6)
    markdown = (trained["out"] / "report.md").read_text()
    assert "| 0 red | 30 | 8 |" in markdown and "![confusion.png](confusion.png)" in markdown
    for picture in ("confusion.png", "reliability.png", "recall_vs_train_count.png"):
        assert (trained["out"] / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_saved_logits_report_again_without_a_forward_pass(trained, tmp_path: Path) -> None:
    out = tmp_path / "again"
    done = _run(python_cli("report", "--logits", str(trained["logits"]), "--config", str(trained["config"]),
                           "--out", str(out)), tmp_path)
    assert "img/s" not in done.stderr
    first = json.loads((trained["out"] / "report.json").read_text())
    again = json.loads((out / "report.json").read_text())
    assert [dict(row, model="") for row in again["per_class"]] == [dict(row, model="") for row in first["per_class"]]
    for key in ("top1", "balanced_acc", "macro_f1", "ece", "many_acc", "medium_acc", "few_acc"):
        assert again["models"][0][key] == first["models"][0][key]


def _refused(trained, tmp_path: Path, *args: str) -> str:
    out = tmp_path / "never"
    done = _run(python_cli("report", "--paddleclas", str(trained["checkout"]), "--device", "cpu",
                           "--out", str(out), *args), tmp_path, ok=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert not out.exists()  # nothing half written
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if ": error: " in line]
    assert len(errors) >= 1, done.stderr
    return done.stderr


def _variant(trained, tmp_path: Path, **arch: object) -> Path:
    config = yaml.safe_load(Path(trained["config"]).read_text())
    config["Arch"].update(arch)
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_model_that_does_not_fit_the_config_names_the_parameter(trained, tmp_path: Path) -> None:
    config = _variant(trained, tmp_path, class_num=5)
    stderr = _refused(trained, tmp_path, "--model", str(trained["model"]), "--config", str(config),
                      "--val-list", str(trained["eval_list"]))
    line = [line for line in stderr.splitlines() if ": error: " in line][0]
    assert line.startswith(f"{trained['model']}: error: parameter fc.weight has shape [1280, 4] in the model but "
                           "[1280, 5]"), stderr
    assert line.endswith("[report-model]")


def test_a_model_of_another_architecture_is_refused(trained, tmp_path: Path) -> None:
    config = _variant(trained, tmp_path, name="ResNet18")
    stderr = _refused(trained, tmp_path, "--model", str(trained["model"]), "--config", str(config))
    assert f"{trained['model']}: error: not a model of the config's architecture ResNet18" in stderr


@pytest.mark.parametrize("case", ["label", "missing", "empty"])
def test_bad_evaluation_lists_are_located(trained, tmp_path: Path, case: str) -> None:
    lines = Path(trained["eval_list"]).read_text().splitlines()
    if case == "label":
        lines[2] = lines[2].rsplit(" ", 1)[0] + " 4"
        expected = f":3:"
    elif case == "missing":
        lines[4] = "val/nothing_here.jpg 1"
        expected = ":5: error: no image at"
    else:
        lines, expected = [], ": error: no images: the evaluation list is empty"
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(lines) + ("\n" if lines else ""))
    stderr = _refused(trained, tmp_path, "--model", str(trained["model"]), "--config", str(trained["config"]),
                      "--val-list", str(bad))
    assert f"{bad}{expected}" in stderr, stderr
    if case == "label":
        assert "label 4 is out of range for 4 classes [list-line]" in stderr


def test_a_crafted_model_file_never_runs(trained, tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    import pickle

    evil = tmp_path / "evil.pdparams"
    evil.write_bytes(pickle.dumps({"fc.weight": ("w", np.zeros((1280, 4), "float32")), "x": Evil()}))
    stderr = _refused(trained, tmp_path, "--model", str(evil), "--config", str(trained["config"]))
    assert f"{evil}: error: refused: not a model file as paddle.save writes it" in stderr
    assert not marker.exists()


# The commands docs/report.md shows, run here as written (from a folder holding the checkout, the config and the
# model under the names the page uses).
DOC_ADJUST = "csce-config adjust --model output/best_model.pdparams --train-list train_list.txt --tau 1 -o output/adjusted.pdparams"
DOC_REPORT = ("csce-config report --model output/best_model.pdparams --model output/adjusted.pdparams "
              "--config my_config.yaml --paddleclas PaddleClas --out report --save-logits ce.npz "
              "--save-logits adjusted.npz")
DOC_AGAIN = "csce-config report --logits ce.npz --logits adjusted.npz --config my_config.yaml --out report_again"


def test_the_docs_commands_and_an_adjusted_model_side_by_side(trained, tmp_path: Path) -> None:
    import shlex

    shutil.copytree(trained["checkout"], tmp_path / "PaddleClas", symlinks=True)
    shutil.copy(trained["config"], tmp_path / "my_config.yaml")
    shutil.copy(trained["train_list"], tmp_path / "train_list.txt")
    (tmp_path / "output").mkdir()
    shutil.copy(trained["model"], tmp_path / "output" / "best_model.pdparams")
    for command in (DOC_ADJUST, DOC_REPORT, DOC_AGAIN):
        _run(python_cli(*shlex.split(command)[1:]), tmp_path)
    first = json.loads((tmp_path / "report" / "report.json").read_text())
    again = json.loads((tmp_path / "report_again" / "report.json").read_text())
    assert [model["label"] for model in first["models"]] == ["best_model", "adjusted"]
    assert [model["label"] for model in again["models"]] == ["ce", "adjusted"]  # named after the logits files
    renamed = {"ce": "best_model", "adjusted": "adjusted"}
    assert first["per_class"] == [dict(row, model=renamed[row["model"]]) for row in again["per_class"]]
    with np.load(tmp_path / "ce.npz") as ce, np.load(tmp_path / "adjusted.npz") as adjusted:
        assert np.array_equal(ce["labels"], adjusted["labels"])
        prior = np.asarray(TRAIN_COUNTS, dtype=np.float64) / sum(TRAIN_COUNTS)
        shifted = ce["logits"].astype(np.float64) - np.log(prior)  # the adjusted logits, tau 1
        np.testing.assert_allclose(adjusted["logits"], shifted, atol=1e-4)
        assert np.array_equal(adjusted["logits"].argmax(axis=1), shifted.argmax(axis=1))
    rows = {(row["model"], row["class"]): row for row in first["per_class"]}
    for label in range(4):
        after, before = rows[("adjusted", label)], rows[("best_model", label)]
        assert after["recall_delta"] == pytest.approx(after["recall"] - before["recall"], abs=2e-6)
