"""`csce-config install/uninstall` of the bundle (losses, LongTailSampler, LongTailAcc) on a small tree shaped
like a PaddleClas checkout, the generated files, and one run of PaddleClas's own trainer."""

import ast
import errno
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
from click.testing import CliRunner

from ppcls_csce import __version__
from ppcls_csce import install as installer
from ppcls_csce.cli import cli
from ppcls_csce.install import MANIFEST
from ppcls_csce.plugin_source import digest, generate_source, split_lines

from conftest import PADDLECLAS, SKIP_REASON  # the one definition of where the checkout is

LOSS, SAMPLER, METRIC = MANIFEST
# The parts of PaddleClas's three __init__.py files that install depends on: imports, eval() of a name, build_*.
LOSS_INIT = '''\
import copy

import paddle
import paddle.nn as nn

from .celoss import CELoss, MixCELoss
from .focalloss import FocalLoss
from .multilabelloss import (MultiLabelLoss,
                             MultiLabelAsymmetricLoss)


class CombinedLoss(nn.Layer):
    def __init__(self, config_list):
        super().__init__()
        self.loss_func, self.loss_weight = [], []
        for config in config_list:
            name = list(config)[0]
            param = config[name]
            self.loss_weight.append(param.pop("weight"))
            self.loss_func.append(eval(name)(**param))
        self.loss_func = nn.LayerList(self.loss_func)

    def __call__(self, input, batch):
        loss = self.loss_func[0](input, batch)
        return dict(loss, loss=list(loss.values())[0])


def build_loss(config):
    if config is None:
        return None
    return CombinedLoss(copy.deepcopy(config))
'''
DATA_INIT = '''\
import inspect
from ppcls.data.dataloader.imagenet_dataset import ImageNetDataset


def build_dataloader(config, mode, device, use_dali=False, seed=None):
    config_sampler = dict(config[mode]["sampler"])
    return eval(config_sampler.pop("name"))(None, **config_sampler)
'''
METRIC_INIT = '''\
import copy
from collections import OrderedDict

from .metrics import TopkAcc


class CombinedMetrics:
    def __init__(self, config_list):
        self.metric_func_list = [eval(list(c)[0])(**(list(c.values())[0] or {})) for c in config_list]


def build_metrics(config):
    return CombinedMetrics(copy.deepcopy(config))
'''
STUBS = {
    "ppcls/__init__.py": "",
    "ppcls/loss/celoss.py": "class CELoss:\n    pass\n\n\nclass MixCELoss:\n    pass\n",
    "ppcls/loss/focalloss.py": "class FocalLoss:\n    pass\n",
    "ppcls/loss/multilabelloss.py": "class MultiLabelLoss:\n    pass\n\n\nclass MultiLabelAsymmetricLoss:\n    pass\n",
    "ppcls/data/dataloader/__init__.py": "",
    "ppcls/data/dataloader/imagenet_dataset.py": "class ImageNetDataset:\n    pass\n",
    "ppcls/metric/metrics.py": "class TopkAcc:\n    pass\n",
    "tools/train.py": "",
}
INITS = {"ppcls/loss/__init__.py": LOSS_INIT, "ppcls/data/__init__.py": DATA_INIT, "ppcls/metric/__init__.py": METRIC_INIT}


def make_checkout(root: Path, **inits: str) -> Path:
    """A tree shaped like PaddleClas; inits={'loss': text} replaces one __init__.py."""
    texts = dict(INITS)
    for name, text in inits.items():
        texts[f"ppcls/{name}/__init__.py"] = text
    for relative, text in {**STUBS, **texts}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(text.encode("utf-8"))
    return root


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def snapshot(root: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    return make_checkout(tmp_path / "PaddleClas")


def loss_classes() -> List[str]:
    """Every public top-level class of loss.py (the loss helper adds losses there in parallel)."""
    tree = ast.parse((Path(installer.__file__).parent / "loss.py").read_text())
    return [node.name for node in tree.body if isinstance(node, ast.ClassDef) and not node.name.startswith("_")]


def test_the_names_configs_use_are_the_names_install_imports() -> None:
    """validate's installed-names rule and gen look for these names; PaddleClas eval()s what install imports."""
    from ppcls_csce import params, ppconfig

    imported = {part.source: part.names for part in MANIFEST}
    assert imported["sampler.py"] == [ppconfig.LONG_TAIL_SAMPLER]
    assert imported["metric.py"] == [ppconfig.LONG_TAIL_METRIC]
    assert sorted(imported["loss.py"]) == sorted(params.LOSSES)


def test_install_check_uninstall_round_trip(checkout: Path) -> None:
    before = snapshot(checkout)
    result = run("install", "--paddleclas", str(checkout), "--check")
    assert result.exit_code == 1 and result.output.startswith("absent:")

    result = run("install", "--paddleclas", str(checkout))
    assert result.exit_code == 0, result.output
    for part in MANIFEST:
        assert (checkout / part.target).read_text() == generate_source(part.source)
    assert LOSS.names == loss_classes() and "CostSensitiveCE" in LOSS.names
    assert SAMPLER.names == ["LongTailSampler"] and METRIC.names == ["LongTailAcc"]
    lines = (checkout / LOSS.init).read_text().splitlines()
    # right after the last top-level `from .x import y` (a parenthesised one ending on line 9)
    assert lines[8].endswith("MultiLabelAsymmetricLoss)") and lines[9] == LOSS.import_line
    assert lines[9].startswith(f"from .cs_celoss import {', '.join(loss_classes())}  # ppcls-csce")
    data_lines = (checkout / SAMPLER.init).read_text().splitlines()
    assert data_lines[2].startswith("from .dataloader.lt_sampler import LongTailSampler  # ppcls-csce")  # after the last import
    assert (checkout / METRIC.init).read_text().splitlines()[4].startswith("from .lt_metric import LongTailAcc  #")
    added = set(snapshot(checkout)) - set(before)
    assert added == {part.target for part in MANIFEST}  # no temp files left

    result = run("install", "--paddleclas", str(checkout), "--check")
    assert result.exit_code == 0 and result.output.startswith("installed: ") and f"(ppcls-csce {__version__})" in result.output

    result = run("uninstall", "--paddleclas", str(checkout))
    assert result.exit_code == 0 and "removed" in result.output
    assert snapshot(checkout) == before
    result = run("uninstall", "--paddleclas", str(checkout))
    assert result.exit_code == 0 and "not installed" in result.output
    assert snapshot(checkout) == before


def test_second_install_changes_nothing(checkout: Path) -> None:
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    installed = snapshot(checkout)
    stamps = {p: p.stat().st_mtime_ns for p in checkout.rglob("*.py")}
    result = run("install", "--paddleclas", str(checkout))
    assert result.exit_code == 0 and "already installed" in result.output
    assert snapshot(checkout) == installed and {p: p.stat().st_mtime_ns for p in checkout.rglob("*.py")} == stamps


def test_outdated_states_and_repair(checkout: Path) -> None:
    run("install", "--paddleclas", str(checkout))
    installed = snapshot(checkout)
    sampler_file, metric_init = checkout / SAMPLER.target, checkout / METRIC.init

    # an older ppcls-csce wrote a different body, with its own (matching) checksum in the header
    old_body = generate_source(SAMPLER.source).split("\n", 1)[1].replace("uniformly", "at random", 1)
    sampler_file.write_text(f"# generated by ppcls-csce 0.0.1 from ppcls_csce/sampler.py (body sha256 "
                            f"{digest(old_body)}); do not edit\n" + old_body)
    result = run("install", "--paddleclas", str(checkout), "--check")
    assert result.exit_code == 1 and result.output.startswith("outdated:") and "(ppcls-csce 0.0.1) differs" in result.output
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    assert snapshot(checkout) == installed

    metric_init.write_text(metric_init.read_text().replace(METRIC.import_line + "\n", ""))  # import removed by hand
    result = run("install", "--paddleclas", str(checkout), "--check")
    assert result.exit_code == 1 and "does not import LongTailAcc" in result.output
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    assert snapshot(checkout) == installed

    loss_init = checkout / LOSS.init  # an older install imported another list of losses than loss.py has now
    older_line = f"from .cs_celoss import {', '.join(LOSS.names + ['RetiredLoss'])}{installer.MARK_TEXT}"
    loss_init.write_text(loss_init.read_text().replace(LOSS.import_line, older_line))
    result = run("install", "--paddleclas", str(checkout), "--check")
    assert result.exit_code == 1 and "marked import line is from another version" in result.output
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    assert snapshot(checkout) == installed

    (checkout / LOSS.target).unlink()  # file deleted by hand
    result = run("install", "--paddleclas", str(checkout), "--check")
    assert result.exit_code == 1 and "cs_celoss.py is missing" in result.output
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    assert snapshot(checkout) == installed


def test_edited_locally_is_kept_unless_force(checkout: Path) -> None:
    before = snapshot(checkout)
    run("install", "--paddleclas", str(checkout))
    metric_file = checkout / METRIC.target
    metric_file.write_text(metric_file.read_text().replace("nan", "0.0", 1))  # a local edit
    edited = snapshot(checkout)

    result = run("install", "--paddleclas", str(checkout), "--check")
    assert result.exit_code == 1 and result.output.startswith("edited locally:")
    assert f"{metric_file}: edited locally" in result.output and "outdated" not in result.output
    for command in ("install", "uninstall"):
        result = run(command, "--paddleclas", str(checkout))
        assert result.exit_code == 1 and "edited locally" in result.output and "--force" in result.output
        assert snapshot(checkout) == edited  # nothing changed, not even the other parts
    assert run("install", "--paddleclas", str(checkout), "--force").exit_code == 0
    assert metric_file.read_text() == generate_source(METRIC.source)
    metric_file.write_text(metric_file.read_text() + "# mine\n")
    assert run("uninstall", "--paddleclas", str(checkout), "--force").exit_code == 0
    assert snapshot(checkout) == before


def test_refuses_a_folder_that_is_not_paddleclas(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for command in (["install"], ["install", "--check"], ["uninstall"]):
        result = run(*command[:1], "--paddleclas", str(tmp_path / "empty"), *command[1:])
        assert result.exit_code == 1
        assert result.output.strip() == (f"{tmp_path / 'empty'}: error: not a PaddleClas checkout (no ppcls/loss/__init__.py) "
                                         "[input]")
    other = make_checkout(tmp_path / "other", metric="from .x import y\n")
    before = snapshot(other)
    result = run("install", "--paddleclas", str(other))
    assert result.exit_code == 1 and "not PaddleClas's metric package (no `def build_metrics`)" in result.output
    assert snapshot(other) == before  # the loss and the sampler were not installed either
    assert run("install", "--paddleclas", str(tmp_path / "missing")).exit_code == 2


def test_refuses_a_file_it_did_not_write(checkout: Path) -> None:
    foreign = checkout / SAMPLER.target
    foreign.write_text("# my own sampler\n")
    before = snapshot(checkout)
    for command in (["install"], ["install", "--check"], ["uninstall"], ["uninstall", "--force"]):
        result = run(*command[:1], "--paddleclas", str(checkout), *command[1:])
        assert result.exit_code == 1
        assert result.output.strip() == (f"{foreign}: error: exists but was not written by ppcls-csce; move it "
                                         "away first [input]")
    assert snapshot(checkout) == before


def test_a_target_that_is_a_directory_changes_nothing(checkout: Path) -> None:
    (checkout / METRIC.target).mkdir()
    before = snapshot(checkout)
    result = run("install", "--paddleclas", str(checkout))
    assert result.exit_code == 1 and f"{checkout / METRIC.target}: error: not a regular file; nothing was changed [input]" in result.output
    assert snapshot(checkout) == before


def _failing_at(monkeypatch: pytest.MonkeyPatch, step: int) -> List[int]:
    """Make the k-th write or delete fail as an immutable file would (EPERM); returns the step counter."""
    calls = [0]
    real_write, real_remove = installer._write_bytes, installer._remove

    def fail_or(action):
        def wrapped(path, *args):
            calls[0] += 1
            if calls[0] == step:
                raise PermissionError(errno.EPERM, "Operation not permitted", str(path))
            return action(path, *args)
        return wrapped

    monkeypatch.setattr(installer, "_write_bytes", fail_or(real_write))
    monkeypatch.setattr(installer, "_remove", fail_or(real_remove))
    return calls


@pytest.mark.parametrize("step", range(1, 7))  # 3 files, then 3 imports
def test_install_is_all_or_nothing(checkout: Path, monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    before = snapshot(checkout)
    _failing_at(monkeypatch, step)
    result = run("install", "--paddleclas", str(checkout))
    assert result.exit_code == 1 and "Operation not permitted; nothing was changed" in result.output
    assert snapshot(checkout) == before


@pytest.mark.parametrize("step", range(1, 7))  # 3 imports out, then 3 files
def test_uninstall_is_all_or_nothing(checkout: Path, monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    run("install", "--paddleclas", str(checkout))
    os.chmod(checkout / LOSS.init, 0o640)
    installed = snapshot(checkout)
    _failing_at(monkeypatch, step)
    result = run("uninstall", "--paddleclas", str(checkout))
    assert result.exit_code == 1 and "nothing was changed" in result.output
    assert snapshot(checkout) == installed
    assert (checkout / LOSS.init).stat().st_mode & 0o777 == 0o640
    monkeypatch.undo()
    assert run("install", "--paddleclas", str(checkout), "--check").exit_code == 0


TRICKY_INITS = {
    "crlf": LOSS_INIT.replace("\n", "\r\n"),
    "import-first": "from .celoss import CELoss\ndef build_loss(config):\n    return CombinedLoss(config)\n",
    "import-last-no-newline": "def build_loss(config):\n    return CombinedLoss(config)\nfrom .celoss import CELoss",
    "no-relative-import": "# none here\nimport copy\n\ndef build_loss(config):\n    return CombinedLoss(config)\n",
    "bom": "\ufeff" + LOSS_INIT,
    "form-feed": LOSS_INIT.replace("from .multilabelloss", "\x0c\nfrom .multilabelloss"),
    "x1c": LOSS_INIT.replace("import copy\n", "import copy  # \x1c\n"),
    "x85": LOSS_INIT.replace("import copy\n", "import copy  # \x85 \u2028\n"),
}


@pytest.mark.parametrize("init_text", TRICKY_INITS.values(), ids=TRICKY_INITS.keys())
def test_init_files_get_the_line_where_ast_says_and_come_back_byte_for_byte(tmp_path: Path, init_text: str) -> None:
    checkout = make_checkout(tmp_path / "pc", loss=init_text)
    init = checkout / LOSS.init
    original = init.read_bytes()
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    changed = init.read_bytes().decode("utf-8")
    assert changed.count("cs_celoss") == 1 and changed.startswith("\ufeff") == init_text.startswith("\ufeff")
    tree = ast.parse(changed.lstrip("\ufeff"))
    ours = [node for node in tree.body if isinstance(node, ast.ImportFrom) and node.module == "cs_celoss"]
    assert len(ours) == 1 and [alias.name for alias in ours[0].names] == loss_classes()
    relative = [node for node in tree.body if isinstance(node, ast.ImportFrom) and node.level]
    if len(relative) > 1:  # directly after the last import that was there
        assert relative[-1] is ours[0] and ours[0].lineno == (relative[-2].end_lineno or 0) + 1
    assert split_lines(changed.lstrip("\ufeff"))[ours[0].lineno - 1].startswith("from .cs_celoss import")
    if "\r\n" in init_text:  # the added line keeps the file's line ends
        assert (LOSS.import_line + "\r\n") in changed and changed.count("\n") == changed.count("\r\n")
    assert run("install", "--paddleclas", str(checkout), "--check").exit_code == 0
    assert run("uninstall", "--paddleclas", str(checkout)).exit_code == 0
    assert init.read_bytes() == original


def test_a_result_that_would_not_compile_is_never_written(tmp_path: Path) -> None:
    # the last import's statement goes on with a backslash: a line after it would break the file
    text = LOSS_INIT.replace("MultiLabelAsymmetricLoss)", "MultiLabelAsymmetricLoss); x = \\\n    1")
    checkout = make_checkout(tmp_path / "pc", loss=text)
    before = snapshot(checkout)
    result = run("install", "--paddleclas", str(checkout))
    assert result.exit_code == 1 and "error: cannot parse it" in result.output
    assert snapshot(checkout) == before


def test_a_symlinked_init_is_written_through(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "pc")
    real = tmp_path / "elsewhere" / "metric_init.py"
    real.parent.mkdir()
    (checkout / METRIC.init).rename(real)
    (checkout / METRIC.init).symlink_to(real)
    original = real.read_bytes()
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    assert (checkout / METRIC.init).is_symlink() and "LongTailAcc" in real.read_text()
    assert run("install", "--paddleclas", str(checkout), "--check").exit_code == 0
    assert run("uninstall", "--paddleclas", str(checkout)).exit_code == 0
    assert (checkout / METRIC.init).is_symlink() and real.read_bytes() == original


@pytest.mark.paddle
def test_installed_checkout_builds_the_loss_by_name(checkout: Path) -> None:
    """What tools/train.py does: import ppcls.loss from the checkout, build_loss with the YAML entry."""
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    code = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        import paddle
        from ppcls.loss import build_loss
        loss = build_loss([{"CostSensitiveCE": {"weight": 1.0, "gamma": 1.0, "num_class_list": [90, 9, 3]}}])
        out = loss(paddle.to_tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]], dtype="float64"),
                   paddle.to_tensor([[0], [2]], dtype="int64"))
        import ppcls.data, ppcls.metric
        print(repr(float(out["loss"])), "ppcls_csce" in sys.modules, ppcls.data.LongTailSampler.__name__,
              type(ppcls.metric.build_metrics([{"LongTailAcc": {"num_class_list": [9, 3]}}]).metric_func_list[0]).__name__)
        """
    )
    done = subprocess.run([sys.executable, "-c", code, str(checkout)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    value, leaked, sampler, metric = done.stdout.split()
    from ppcls_csce.reference import reference_loss

    want = reference_loss(np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]]), np.array([0, 2]), [90, 9, 3])
    assert float(value) == pytest.approx(float(want), rel=1e-12)
    assert (leaked, sampler, metric) == ("False", "LongTailSampler", "LongTailAcc")


# --- PaddleClas's own trainer ----------------------------------------------------------------------

def _tree(root: Path) -> Dict[str, bytes]:
    """Every file of a checkout except the byte code a run leaves behind."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def _image_set(root: Path, counts: List[int], name: str) -> Path:
    """Tiny 32 px JPEGs, one colour per class plus noise, and their PaddleClas list file."""
    import cv2

    rng = np.random.default_rng(len(name))
    lines = []
    for label, count in enumerate(counts):
        for i in range(count):
            image = np.clip(rng.normal(50 + 60 * label, 20, size=(32, 32, 3)), 0, 255).astype(np.uint8)
            relative = f"{name}/{label}_{i}.jpg"
            (root / name).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / relative), image)
            lines.append(f"{relative} {label}")
    (root / f"{name}.txt").write_text("\n".join(lines) + "\n")
    return root / f"{name}.txt"


@pytest.mark.engine
def test_engine_trains_with_the_sampler_and_reports_the_metric(tmp_path: Path) -> None:
    """install, then 2 CPU epochs of PPLCNet_x0_25 at 32 px through tools/train.py with the config `csce-config gen
    --sampler balanced --sampler-epoch 2 --metric` makes of a plain one (DistributedBatchSampler, TopkAcc, CELoss,
    which gen makes CostSensitiveCE): a deferred class-balanced LongTailSampler and LongTailAcc first in Metric.Eval;
    uninstall restores the tree."""
    if PADDLECLAS is None:
        pytest.skip(SKIP_REASON)
    pytest.importorskip("paddle")
    import yaml

    checkout = tmp_path / "PaddleClas"
    shutil.copytree(PADDLECLAS, checkout, ignore=shutil.ignore_patterns("__pycache__", "output", "dataset"))
    before = _tree(checkout)
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0

    train_counts, data = [40, 12, 6, 3], tmp_path / "data"
    train_list, eval_list = _image_set(data, train_counts, "train"), _image_set(data, [9, 0, 3, 6], "val")
    config = yaml.safe_load((checkout / "ppcls/configs/ImageNet/ResNet/ResNet18.yaml").read_text())
    config["Global"].update(epochs=2, device="cpu", output_dir=str(tmp_path / "output"), print_batch_step=1,
                            save_interval=100, image_shape=[3, 32, 32])
    config["Arch"] = {"name": "PPLCNet_x0_25", "class_num": 4}
    config["Optimizer"]["lr"] = {"name": "Cosine", "learning_rate": 0.01}
    ops = [{"DecodeImage": {"to_rgb": True, "channel_first": False}},
           {"NormalizeImage": {"scale": 1.0 / 255.0, "mean": [0.5] * 3, "std": [0.25] * 3, "order": ""}}]
    for mode, lst, shuffle in (("Train", train_list, True), ("Eval", eval_list, False)):
        config["DataLoader"][mode] = {
            "dataset": {"name": "ImageNetDataset", "image_root": str(data), "cls_label_path": str(lst), "transform_ops": ops},
            "sampler": {"name": "DistributedBatchSampler", "batch_size": 8, "drop_last": False, "shuffle": shuffle},
            "loader": {"num_workers": 0, "use_shared_memory": False}}
    config["Metric"] = {"Train": [{"TopkAcc": {"topk": [1]}}], "Eval": [{"TopkAcc": {"topk": [1]}}]}
    base_path, config_path = tmp_path / "base.yaml", tmp_path / "lt.yaml"
    base_path.write_text(yaml.safe_dump(config))
    gen = subprocess.run([sys.executable, "-m", "ppcls_csce", "gen", "--config", str(base_path), "--train-list",
                          str(train_list), "--sampler", "balanced", "--sampler-epoch", "2", "--metric",
                          "-o", str(config_path)], capture_output=True, text=True, timeout=120)
    assert gen.returncode == 0, gen.stderr
    generated = yaml.safe_load(config_path.read_text())
    assert generated["DataLoader"]["Train"]["sampler"] == {"name": "LongTailSampler", "batch_size": 8, "drop_last": False,
                                                          "shuffle": True, "power": 0.0, "start_epoch": 2}
    assert generated["DataLoader"]["Eval"]["sampler"] == config["DataLoader"]["Eval"]["sampler"]
    assert generated["Metric"] == {"Train": [{"TopkAcc": {"topk": [1]}}],
                                   "Eval": [{"LongTailAcc": {"num_class_list": train_counts}}, {"TopkAcc": {"topk": [1]}}]}
    assert [list(entry) for entry in generated["Loss"]["Train"]] == [["CostSensitiveCE"]]
    assert generated["Loss"]["Train"][0]["CostSensitiveCE"]["num_class_list"] == train_counts

    done = subprocess.run([sys.executable, "tools/train.py", "-c", str(config_path), "-o", "Global.device=cpu"],
                          cwd=checkout, capture_output=True, text=True, timeout=600)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert "LongTailSampler: class-balanced from epoch 2 (instance-balanced before); 4 classes, 61 images, " \
           "8 batches per epoch per rank" in log
    assert ("LongTailAcc: 4 classes, shot groups by thirds of the classes by training count (the ImageNet-LT "
            "thresholds leave a group empty): many 2, medium 1, few 1") in log
    balanced = []
    for epoch in (1, 2):
        final = [line for line in log.splitlines() if f"[Eval][Epoch {epoch}][Avg]" in line]
        assert len(final) == 1, log[-3000:]
        pairs = [part.split(": ") for part in final[0].split("[Avg]")[1].split(", ")]
        names = [name for name, _ in pairs]
        assert names[names.index("balanced_acc"):] == ["balanced_acc", "top1", "many_acc", "medium_acc", "few_acc",
                                                       "top1"], final[0]  # then TopkAcc's
        values = {name: float(value) for name, value in pairs[names.index("balanced_acc"):][:5]}
        assert values["top1"] == pytest.approx(float(pairs[-1][1]), abs=1e-5)  # the same top-1 as TopkAcc's
        # thirds by count: many = classes 0 and 1 (1 has no test images, so it is left out), medium 2, few 3
        assert values["many_acc"] * 9 == pytest.approx(round(values["many_acc"] * 9), abs=1e-4)
        assert values["balanced_acc"] == pytest.approx(
            np.mean([values[k] for k in ("many_acc", "medium_acc", "few_acc")]), abs=1e-5)
        top1_from_groups = (9 * values["many_acc"] + 3 * values["medium_acc"] + 6 * values["few_acc"]) / 18
        assert values["top1"] == pytest.approx(top1_from_groups, abs=1e-5)
        balanced.append(values["balanced_acc"])
        best = [line for line in log.splitlines() if f"[Eval][Epoch {epoch}][best metric:" in line][0]
        assert float(best.split("best metric: ")[1].rstrip("]")) == pytest.approx(max(balanced), abs=1e-5)

    assert run("uninstall", "--paddleclas", str(checkout)).exit_code == 0
    assert _tree(checkout) == before


# --- validate --paddleclas / smoke --paddleclas: is what the config uses installed there? (rules/installed.py) ---

LT_CONFIG = """\
Arch:
  name: ResNet18
  class_num: 3
Loss:
  Train:
    - {loss}:
        weight: 1.0
        num_class_list: [40, 12, 6]
        {strength}: 0.9
DataLoader:
  Train:
    dataset:
      name: ImageNetDataset
      image_root: ./dataset/
      cls_label_path: ./dataset/train_list.txt
    sampler:
      name: LongTailSampler
      batch_size: 8
      drop_last: False
      shuffle: True
      power: 0.0
Metric:
  Eval:
    - LongTailAcc:
        num_class_list: [40, 12, 6]
"""


@pytest.fixture()
def real_checkout(tmp_path: Path) -> Path:
    """A copy of the real checkout's ppcls/ package (without its configs): what install writes into."""
    if PADDLECLAS is None:
        pytest.skip(SKIP_REASON)
    root = tmp_path / "PaddleClas"
    shutil.copytree(PADDLECLAS / "ppcls", root / "ppcls", ignore=shutil.ignore_patterns("__pycache__", "configs"))
    return root


def lt_config(tmp_path: Path, loss: str = "CostSensitiveCE", strength: str = "gamma") -> Path:
    path = tmp_path / "lt.yaml"
    path.write_text(LT_CONFIG.format(loss=loss, strength=strength), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def installed_lines(output: str) -> List[str]:
    return [line for line in output.splitlines() if line.endswith("[installed]")]


@pytest.mark.parametrize(("loss", "strength"), [("CostSensitiveCE", "gamma"), ("ClassBalancedCE", "beta"),
                                                ("BalancedSoftmaxCE", "tau")])
def test_validate_paddleclas_names_each_missing_install_and_the_fix(real_checkout: Path, tmp_path: Path, loss: str,
                                                                    strength: str) -> None:
    config = lt_config(tmp_path, loss, strength)
    fix = f"fix: csce-config install --paddleclas {real_checkout}"
    result = run("validate", str(config), "--paddleclas", str(real_checkout))
    assert result.exit_code == 1, result.output
    lines = installed_lines(result.output)
    assert len(lines) == 3, result.output  # the loss, the sampler, the metric: each where the config names it
    for line, (name, where) in zip(lines, ((loss, f"- {loss}:"), ("LongTailSampler", "name: LongTailSampler"),
                                          ("LongTailAcc", "- LongTailAcc:"))):
        assert line.startswith(f"{config}:{line_of(config, where)}:"), line
        assert f": error: {name} is absent in {real_checkout}" in line and fix in line
    assert run("install", "--paddleclas", str(real_checkout)).exit_code == 0
    result = run("validate", str(config), "--paddleclas", str(real_checkout))
    assert installed_lines(result.output) == [] and result.exit_code == 0, result.output
    result = run("validate", str(config))  # without --paddleclas nothing is looked at
    assert installed_lines(result.output) == []


def test_validate_paddleclas_outdated_and_edited_locally(real_checkout: Path, tmp_path: Path) -> None:
    config = lt_config(tmp_path)
    assert run("install", "--paddleclas", str(real_checkout)).exit_code == 0
    loss_file, metric_init = real_checkout / LOSS.target, real_checkout / METRIC.init
    loss_file.write_text(loss_file.read_text() + "# my change\n")  # a local edit
    metric_init.write_text(metric_init.read_text().replace(METRIC.import_line + "\n", ""))  # an import lost
    result = run("validate", str(config), "--paddleclas", str(real_checkout))
    assert result.exit_code == 1
    loss_line, metric_line = installed_lines(result.output)
    assert "CostSensitiveCE is edited locally" in loss_line
    assert f"csce-config install --paddleclas {real_checkout} --force" in loss_line
    assert "LongTailAcc is outdated" in metric_line and "does not import LongTailAcc" in metric_line
    assert metric_line.endswith(f"fix: csce-config install --paddleclas {real_checkout} [installed]")


def test_validate_paddleclas_refuses_a_folder_that_is_not_paddleclas(tmp_path: Path) -> None:
    config = lt_config(tmp_path)
    result = run("validate", str(config), "--paddleclas", str(tmp_path))
    assert result.exit_code == 1 and "not a PaddleClas checkout" in result.output
    assert "Traceback" not in result.output


def test_smoke_paddleclas(real_checkout: Path, tmp_path: Path) -> None:
    pytest.importorskip("paddle")
    config = lt_config(tmp_path, "BalancedSoftmaxCE", "tau")
    small = ["--steps", "2", "--batch-size", "8"]
    result = run("smoke", "--config", str(config), "--paddleclas", str(real_checkout), *small)
    assert result.exit_code == 1 and result.stdout == ""
    assert len(installed_lines(result.stderr)) == 3 and "BalancedSoftmaxCE is absent" in result.stderr
    result = run("smoke", "--class-num", "5", "--paddleclas", str(real_checkout), *small)
    assert result.exit_code == 1 and "CostSensitiveCE is absent" in result.stderr
    assert result.stderr.rstrip().endswith(f"fix: csce-config install --paddleclas {real_checkout} [installed]")
    assert run("install", "--paddleclas", str(real_checkout)).exit_code == 0
    result = run("smoke", "--config", str(config), "--paddleclas", str(real_checkout), *small)
    assert result.exit_code == 0, result.output
    assert (f"pass  installed: BalancedSoftmaxCE, LongTailAcc, LongTailSampler installed and current in "
            f"{real_checkout}") in result.stdout


def test_an_edited_cs_celoss_is_never_deleted_without_force(checkout: Path) -> None:
    """Issue 11.4: uninstall keeps a cs_celoss.py the user edited (unless --force); --check says edited locally."""
    before = snapshot(checkout)
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    loss_file = checkout / LOSS.target
    loss_file.write_bytes(loss_file.read_bytes().replace(b"def forward", b"def forward  ", 1))  # a one-byte-ish edit
    edited = snapshot(checkout)
    result = run("install", "--paddleclas", str(checkout), "--check")
    assert result.exit_code == 1
    assert result.output == f"edited locally: {loss_file}: edited locally (its bytes are not what ppcls-csce " \
                            f"{__version__} wrote)\n"
    result = run("uninstall", "--paddleclas", str(checkout))
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "Traceback" not in result.output
    assert result.output.startswith(f"{loss_file}: error: edited locally (its bytes are not what ppcls-csce")
    assert "nothing was changed (uninstall --force removes it anyway)" in result.output
    assert snapshot(checkout) == edited  # the edited file, and every import line, left as they were
    result = run("uninstall", "--paddleclas", str(checkout), "--force")
    assert result.exit_code == 0, result.output
    assert snapshot(checkout) == before  # forced: the tree as before install, byte for byte
