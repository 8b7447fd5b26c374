"""PaddleX 3 end to end: a real PaddleX training of a gen-written config, on the CPU.

Needs the paddlex package in this Python, with PaddleX's PaddleClas templates and its PaddleClas checkout
installed (`paddlex --install PaddleClas`): .ci/paddlex builds exactly that from the package index. Without
paddlex every test here is skipped, with the reason. About 2 minutes of CPU time.

A tiny long-tailed dataset in PaddleX's format (label.txt, train.txt, val.txt, real PNG images); PaddleX's own
PP-LCNet_x0_25 module config with Train.epochs_iters 3; the tool installed into PaddleX's checkout (install
--paddlex); gen --drw-epoch 2 --sampler balanced --sampler-epoch 2 --metric --write; then PaddleX's own entry
point trains it. The checkpoints' loss step counters prove the DRW switch lands on the first step of epoch 2
as PaddleX's epochs, batch size and cards give it; balanced_acc is in the eval log.
"""

import importlib.util
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import REPO

PACKAGE = Path(importlib.util.find_spec("paddlex").origin).parent if importlib.util.find_spec("paddlex") else None
CHECKOUT = PACKAGE / "repo_manager" / "repos" / "PaddleClas" if PACKAGE else None
MODULE = PACKAGE / "configs" / "modules" / "image_classification" / "PP-LCNet_x0_25.yaml" if PACKAGE else None
WHY = ("needs paddlex in this Python with its PaddleClas templates and checkout: run .ci/paddlex (pip install "
       "paddlex==3.7.2 paddlepaddle, the templates, `paddlex --install PaddleClas --use_local_repos`)")
READY = (PACKAGE is not None and (CHECKOUT / ".installed").is_file()
         and (PACKAGE / "repo_apis" / "PaddleClas_api" / "configs" / "PP-LCNet_x0_25.yaml").is_file())
pytestmark = pytest.mark.skipif(not READY, reason=WHY)

COUNTS = [40, 14, 5]  # a long tail, 59 images
BATCH = 8
EPOCHS = 3
ITERS = math.ceil(sum(COUNTS) / BATCH)  # one card, drop_last False: 8 steps an epoch
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TIMEOUT = 900


# docs/paddlex.md's recipe, word for word (its console block is tested-by test_the_recipe_runs), from a folder
# holding the module config and the dataset folder.
INSTALL = "csce-config install --paddlex"
GEN = ("csce-config gen --config PP-LCNet_x0_25.yaml --drw-epoch 2 --sampler balanced --sampler-epoch 2 --metric "
       "--write --paddlex-override Train.pretrain_weight_path=None")
TRAIN = ('python -c "from paddlex.engine import Engine; Engine().run()" -c PP-LCNet_x0_25.yaml -o Global.mode=train '
         "-o Global.dataset_dir=dataset -o Global.device=cpu -o Train.pretrain_weight_path=None -o Global.output=output")
VALIDATE = "csce-config validate PP-LCNet_x0_25.yaml output/config.yaml"
RECIPE = [INSTALL, GEN, TRAIN, VALIDATE]
# The Global keys PaddleX 3.7.2's ClsModel.train sets on every run (docs/paddlex.md): not gen's to write.
RUN_TIME = ("device", "to_static", "use_visualdl", "checkpoints", "uniform_output_enabled", "pdx_model_name",
            "export_with_pir")


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """A docs command as the user's shell runs it: csce-config is this checkout's, python this interpreter."""
    words = shlex.split(command)
    words = [sys.executable, "-m", "ppcls_csce", *words[1:]] if words[0] == "csce-config" else (
        [sys.executable, *words[1:]] if words[0] == "python" else words)
    env = dict(os.environ, PYTHONPATH=str(REPO), PADDLE_PDX_LOCAL_FONT_FILE_PATH=FONT)
    return subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def csce(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return shell(" ".join(["csce-config", *map(shlex.quote, args)]), cwd)


def write_dataset(root: Path) -> None:
    """PaddleX's classification format: label.txt (`id name`), train.txt and val.txt (`image label`)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    colours = [(230, 40, 40), (40, 200, 40), (40, 40, 220)]
    (root / "images").mkdir(parents=True)
    (root / "label.txt").write_text("".join(f"{c} class_{c}\n" for c in range(len(COUNTS))))
    for split, counts in (("train", COUNTS), ("val", [4] * len(COUNTS))):
        lines = []
        for label, count in enumerate(counts):
            for index in range(count):
                image = np.asarray(colours[label], dtype=np.float64) + rng.normal(0, 25, (32, 32, 3))
                name = f"images/{split}_{label}_{index}.png"
                assert cv2.imwrite(str(root / name), image.clip(0, 255).astype(np.uint8))
                lines.append(f"{name} {label}\n")
        (root / f"{split}.txt").write_text("".join(lines))


def module_config(path: Path) -> None:
    """PaddleX's own PP-LCNet_x0_25 module config, with this dataset's classes, 3 epochs, batch 8, the CPU."""
    text = MODULE.read_text(encoding="utf-8")
    for key, value in (("num_classes", "3"), ("epochs_iters", str(EPOCHS)), ("batch_size", str(BATCH)),
                       ("warmup_steps", "0"), ("device", "cpu"), ("dataset_dir", "dataset")):
        text, count = re.subn(rf"^(\s+{key}:).*$", rf"\g<1> {value}", text, count=1, flags=re.M)
        assert count == 1, key
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Dict[str, object]:
    work = tmp_path_factory.mktemp("paddlex")
    write_dataset(work / "dataset")
    module_config(work / "PP-LCNet_x0_25.yaml")
    installed_before = csce("install", "--check", "--paddlex", cwd=work).returncode == 0
    done: Dict[str, subprocess.CompletedProcess] = {}
    try:
        for command in RECIPE:
            done[command] = shell(command, work)
            result = done[command]
            assert result.returncode == 0, f"$ {command}\n" + (result.stdout + result.stderr)[-4000:]
    finally:
        if not installed_before:  # leave PaddleX's checkout as it was
            csce("uninstall", "--paddlex", cwd=work)
    return {"work": work, "done": done}


def test_the_recipe_runs(run) -> None:
    assert list(run["done"]) == [INSTALL, GEN, TRAIN, VALIDATE] and all(result.returncode == 0 for result in run["done"].values())
    assert "balanced_acc" in run["done"][TRAIN].stdout + run["done"][TRAIN].stderr


def train_steps(checkpoint: Path) -> List[int]:
    import paddle

    state = paddle.load(str(checkpoint))
    return [int(value.numpy().reshape(-1)[0]) for key, value in state.items() if key.endswith("train_steps")]


def test_gen_writes_the_schedule_paddlex_runs(run) -> None:
    import yaml

    work = run["work"]
    module = yaml.safe_load((work / "PP-LCNet_x0_25.yaml").read_text())
    assert module["Train"]["basic_config_path"] == "PP-LCNet_x0_25.paddleclas.yaml"
    written = yaml.safe_load((work / "PP-LCNet_x0_25.paddleclas.yaml").read_text())
    entry = written["Loss"]["Train"][0]["CostSensitiveCE"]
    assert entry["num_class_list"] == COUNTS
    assert (entry["drw_start_epoch"], entry["iters_per_epoch"]) == (2, ITERS)
    assert written["DataLoader"]["Train"]["sampler"]["name"] == "LongTailSampler"
    assert written["Global"]["epochs"] == EPOCHS and written["DataLoader"]["Train"]["dataset"]["name"] == "ClsDataset"
    # the config PaddleX ran (output/config.yaml): PaddleX's own rewrites of the written config changed nothing;
    # only the keys its model.train sets at run time differ, which gen leaves out
    ran = yaml.safe_load((work / "output" / "config.yaml").read_text())
    for config in (ran, written):
        config.pop("AMP", None)  # removed at run time unless Train.amp is set
        config.pop("profiler_options", None)
        for key in RUN_TIME:
            config["Global"].pop(key, None)
    assert ran == written


def test_the_loss_switched_at_the_step_paddlex_gives(run) -> None:
    output = run["work"] / "output"
    # the counter after each epoch: exactly PaddleX's steps (3 epochs of ceil(59 / 8) on one card), so the
    # switch at step (drw_start_epoch - 1) * iters_per_epoch is the first step of epoch 2
    for epoch in range(1, EPOCHS + 1):
        assert train_steps(output / f"epoch_{epoch}" / f"epoch_{epoch}.pdparams") == [epoch * ITERS]
    log = (output / "train.log").read_text()
    assert "deferred re-weighting is configured for iters_per_epoch" not in log  # the loss saw no other epoch length
    assert len(re.findall(r"\[Train\]\[Epoch 2/3\]\[Iter: \d+/(\d+)\]", log)) == ITERS


def test_balanced_accuracy_is_in_the_eval_log(run) -> None:
    log = (run["work"] / "output" / "train.log").read_text()
    rows = re.findall(r"\[Eval\]\[Epoch (\d+)\]\[Avg\].*?balanced_acc: ([0-9.]+).*?few_acc: ([0-9.]+)", log)
    assert [int(epoch) for epoch, _, _ in rows] == list(range(1, EPOCHS + 1))
    best = max(float(value) for _, value, _ in rows)
    # PaddleX's train_results.json keeps the first Eval metric's figure as "score": LongTailAcc's balanced_acc
    results = json.loads((run["work"] / "output" / "train_results.json").read_text())
    assert results["models"]["best"]["score"] == pytest.approx(best, abs=1e-5)


def test_validate_accepts_the_run_then_flags_a_changed_epochs_iters(run) -> None:
    work = run["work"]
    assert csce("validate", "PP-LCNet_x0_25.yaml", cwd=work).returncode == 0
    assert csce("validate", "output/config.yaml", cwd=work).returncode == 0  # the PaddleClas config PaddleX ran
    changed = work / "changed.yaml"
    shutil.copy(work / "PP-LCNet_x0_25.yaml", changed)
    changed.write_text(re.sub(r"epochs_iters: \d+", "epochs_iters: 1", changed.read_text()))
    result = csce("validate", "changed.yaml", cwd=work)
    line = 1 + changed.read_text().splitlines().index("  epochs_iters: 1")
    assert result.returncode == 1
    assert re.search(rf"^changed\.yaml:{line}:\d+: error: drw_start_epoch 2 is after the last epoch.*"
                     r"from Train\.epochs_iters\) \[csce-drw-schedule\]$", result.stdout, re.M), result.stdout
