"""PaddleClas before 2023 (release/2.4, release/2.5): its engine never calls the batch sampler's set_epoch and never
fills total_epochs. install and validate --paddleclas read that from the checkout's code and say so; gen writes
total_epochs with a progressive sampler; validate keeps it equal to Global.epochs.

The old engine is a small tree shaped like release/2.5's files (no checkout needed), and, when a checkout is there
(PPCLS_CSCE_PADDLECLAS), the real one with its set_epoch call and total_epochs lines taken out.
"""

import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ppcls_csce.cli import cli
from ppcls_csce.paddleclas_engine import engine_support

from conftest import PADDLECLAS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# What release/2.5.1 and later have (verbatim lines of PaddleClas's engine.py and data/__init__.py), and what
# release/2.5 and older have in their place.
NEW_ENGINE = '''class Engine(object):
    def train(self):
        if self.config.Global.checkpoints is not None:
            metric_info = init_model(self.config.Global, self.model, self.optimizer, self.train_loss_func, ema_module)
            if metric_info is not None:
                best_metric.update(metric_info)
            if hasattr(self.train_dataloader.batch_sampler, "set_epoch"):
                self.train_dataloader.batch_sampler.set_epoch(best_metric["epoch"])
'''
OLD_ENGINE = '''class Engine(object):
    def train(self):
        if self.config.Global.checkpoints is not None:
            metric_info = init_model(self.config.Global, self.model, self.optimizer)
            if metric_info is not None:
                best_metric.update(metric_info)
        # batch_sampler.set_epoch(epoch) is not called here
'''
NEW_DATA = '''def build_dataloader(config, mode, device, use_dali=False, seed=None):
    sampler_name = config_sampler.pop("name")
    sampler_argspec = inspect.getfullargspec(eval(sampler_name).__init__).args
    if "total_epochs" in sampler_argspec:
        config_sampler.update({"total_epochs": epochs})
    batch_sampler = eval(sampler_name)(dataset, **config_sampler)
'''
OLD_DATA = '''def build_dataloader(config, mode, device, use_dali=False, seed=None):
    sampler_name = config_sampler.pop("name")
    batch_sampler = eval(sampler_name)(dataset, **config_sampler)
'''


def fake_checkout(root: Path, new: bool) -> Path:
    """The files install and the engine check read, shaped like PaddleClas's (new: release/2.5.1 and later)."""
    files = {
        "ppcls/engine/engine.py": NEW_ENGINE if new else OLD_ENGINE,
        "ppcls/data/__init__.py": "import inspect\nfrom .dataloader.imagenet_dataset import ImageNetDataset\n\n"
                                  + (NEW_DATA if new else OLD_DATA),
        "ppcls/data/dataloader/__init__.py": "",
        "ppcls/loss/__init__.py": "from .celoss import CELoss\n\n\ndef build_loss(config):\n    pass\n",
        "ppcls/metric/__init__.py": "from .metrics import TopkAcc\n\n\ndef build_metrics(config):\n    pass\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def sampler_config(tmp_path: Path, *sampler: str) -> Path:
    """The bundled example with `gen --sampler ...` (its Global.epochs is 90)."""
    config = tmp_path / "cfg.yaml"
    result = run("gen", "--train-list", str(EXAMPLES / "train_list.txt"), "--config",
                 str(EXAMPLES / "ResNet18_longtail.yaml"), "-o", str(config), "--drw-epoch", "1", *sampler)
    assert result.exit_code == 0, result.stderr
    return config


def test_engine_support_is_read_from_the_code(tmp_path: Path) -> None:
    new = engine_support(str(fake_checkout(tmp_path / "new", new=True)))
    old = engine_support(str(fake_checkout(tmp_path / "old", new=False)))
    assert (new.sets_epoch, new.fills_total_epochs) == (True, True)
    assert (old.sets_epoch, old.fills_total_epochs) == (False, False)  # a comment naming set_epoch is no call


def old_copy_of_real_checkout(tmp_path: Path) -> Path:
    """The real checkout's ppcls/ with its set_epoch call and total_epochs lines removed: how release/2.5 reads."""
    assert PADDLECLAS is not None
    root = tmp_path / "old"
    shutil.copytree(PADDLECLAS / "ppcls", root / "ppcls", ignore=shutil.ignore_patterns("__pycache__", "configs"))
    engine = root / "ppcls/engine/engine.py"
    text = engine.read_text(encoding="utf-8")
    text, calls = re.subn(r'\n *if hasattr\(self\.train_dataloader\.batch_sampler, "set_epoch"\):\n'
                          r' *self\.train_dataloader\.batch_sampler\.set_epoch\(best_metric\[\s*"epoch"\]\)', "", text)
    assert calls == 1
    engine.write_text(text, encoding="utf-8")
    data = root / "ppcls/data/__init__.py"
    text, fills = re.subn(r'\n *if "total_epochs" in sampler_argspec:\n *config_sampler\.update\(\{"total_epochs": epochs\}\)',
                          "", data.read_text(encoding="utf-8"))
    assert fills == 1
    data.write_text(text, encoding="utf-8")
    return root


def test_real_checkout_has_both_and_without_the_lines_neither(tmp_path: Path) -> None:
    real = engine_support(str(PADDLECLAS))
    assert (real.sets_epoch, real.fills_total_epochs) == (True, True)
    old = engine_support(str(old_copy_of_real_checkout(tmp_path)))
    assert (old.sets_epoch, old.fills_total_epochs) == (False, False)


@pytest.mark.parametrize("new", [False, True])
def test_install_warns_once_about_an_old_engine(tmp_path: Path, new: bool) -> None:
    checkout = fake_checkout(tmp_path / "pc", new=new)
    result = run("install", "--paddleclas", str(checkout))
    assert result.exit_code == 0, result.stderr
    assert "installed ppcls/loss/cs_celoss.py" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "[paddleclas-engine]" in line]
    if new:
        assert warnings == []
        return
    [line] = warnings
    assert line.startswith(f"{checkout / 'ppcls/engine'}: warning: this PaddleClas never calls the batch sampler's "
                           "set_epoch")
    assert "does not fill a sampler's total_epochs" in line and "release/2.5.1 and later" in line


@pytest.mark.parametrize("sampler, words", [
    (("--sampler", "balanced", "--sampler-epoch", "70"), "draws instance-balanced again until epoch 70"),
    (("--sampler", "progressive"), "restarts its progressive schedule at epoch 1"),
])
def test_validate_paddleclas_warns_at_the_sampler_once(tmp_path: Path, sampler: tuple, words: str) -> None:
    config = sampler_config(tmp_path, *sampler)
    old = fake_checkout(tmp_path / "old", new=False)
    new = fake_checkout(tmp_path / "new", new=True)
    for checkout in (old, new):
        assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    result = run("validate", "--paddleclas", str(old), str(config))
    assert result.exit_code == 0, result.stdout  # a warning: training from the start is right
    [line] = result.stdout.splitlines()
    sampler_line = config.read_text(encoding="utf-8").splitlines().index("    sampler:") + 1
    assert line.startswith(f"{config}:{sampler_line}:5: warning: LongTailSampler: the PaddleClas in {old} never "
                           "calls the batch sampler's set_epoch")
    assert words in line and line.endswith("[paddleclas-engine]")
    assert "total_epochs" not in line  # gen wrote it for progressive
    assert run("validate", "--strict", "--paddleclas", str(old), str(config)).exit_code == 1
    assert run("validate", "--paddleclas", str(new), str(config)).stdout == ""


def test_power_sampler_from_epoch_1_is_no_concern(tmp_path: Path) -> None:
    config = sampler_config(tmp_path, "--sampler", "sqrt")
    old = fake_checkout(tmp_path / "old", new=False)
    assert run("install", "--paddleclas", str(old)).exit_code == 0
    result = run("validate", "--paddleclas", str(old), str(config))
    assert (result.exit_code, result.stdout) == (0, "")


def test_progressive_without_total_epochs_on_an_old_engine(tmp_path: Path) -> None:
    config = sampler_config(tmp_path, "--sampler", "progressive")
    text = config.read_text(encoding="utf-8")
    assert "      total_epochs: 90\n" in text
    config.write_text(text.replace("      total_epochs: 90\n", ""), encoding="utf-8")
    old = fake_checkout(tmp_path / "old", new=False)
    assert run("install", "--paddleclas", str(old)).exit_code == 0
    [line] = run("validate", "--paddleclas", str(old), str(config)).stdout.splitlines()
    assert "progressive: True needs total_epochs, and the PaddleClas in" in line
    assert "add total_epochs: 90 to the sampler" in line


def test_gen_progressive_writes_total_epochs_and_validate_keeps_it_equal(tmp_path: Path) -> None:
    config = sampler_config(tmp_path, "--sampler", "progressive")
    sampler = yaml.safe_load(config.read_text(encoding="utf-8"))["DataLoader"]["Train"]["sampler"]
    assert (sampler["progressive"], sampler["total_epochs"]) == (True, 90)
    assert run("validate", str(config)).exit_code == 0
    config.write_text(config.read_text(encoding="utf-8").replace("  epochs: 90", "  epochs: 120"), encoding="utf-8")
    result = run("validate", str(config))
    assert result.exit_code == 1
    assert "total_epochs 90 is not Global.epochs 120" in result.stdout and "[sampler-params]" in result.stdout


def test_sampler_says_what_is_missing_without_total_epochs() -> None:
    pytest.importorskip("paddle", reason="the sampler needs paddle")
    from ppcls_csce.sampler import LongTailSampler, SamplerError

    class Data:
        labels = [0, 0, 1]

        def __len__(self) -> int:
            return 3

    with pytest.raises(SamplerError, match="older ones do not; write total_epochs: N in DataLoader.Train.sampler"):
        LongTailSampler(Data(), batch_size=2, progressive=True)


# docs/versions.md shows these, in this order, with an older PaddleClas in PaddleClas-2.5/ (docs test: tested-by).
DOCS_GEN = ("csce-config gen --train-list examples/train_list.txt --config examples/ResNet18_longtail.yaml "
            "--sampler progressive --drw-epoch 1 -o progressive.yaml")
DOCS_INSTALL = "csce-config install --paddleclas PaddleClas-2.5"
DOCS_VALIDATE = "csce-config validate --paddleclas PaddleClas-2.5 progressive.yaml"


def test_docs_commands_on_an_old_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shlex

    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("work", "__pycache__"))
    fake_checkout(tmp_path / "PaddleClas-2.5", new=False)
    monkeypatch.chdir(tmp_path)
    outputs = []
    for command in (DOCS_GEN, DOCS_INSTALL, DOCS_VALIDATE):
        result = CliRunner().invoke(cli, shlex.split(command)[1:])
        assert result.exit_code == 0, (command, result.output)
        outputs.append(result.stdout + result.stderr)
    gen, install, validate = outputs
    assert gen.endswith("wrote progressive.yaml\n")
    assert "      total_epochs: 90\n" in (tmp_path / "progressive.yaml").read_text(encoding="utf-8")
    assert install.splitlines()[1].startswith("PaddleClas-2.5/ppcls/engine: warning: this PaddleClas never calls "
                                              "the batch sampler's set_epoch")
    [line] = validate.splitlines()
    assert line.startswith("progressive.yaml:65:5: warning: LongTailSampler: the PaddleClas in PaddleClas-2.5 never "
                           "calls the batch sampler's set_epoch")
    assert line.endswith("[paddleclas-engine]")


def test_smoke_paddleclas_says_the_warning_and_still_runs(tmp_path: Path) -> None:
    pytest.importorskip("paddle", reason="smoke needs paddle")
    config = sampler_config(tmp_path, "--sampler", "balanced", "--sampler-epoch", "70")
    old = fake_checkout(tmp_path / "old", new=False)
    assert run("install", "--paddleclas", str(old)).exit_code == 0
    result = run("smoke", "--config", str(config), "--paddleclas", str(old), "--steps", "1", "--batch-size", "8")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("smoke: PASS")
    [line] = result.stderr.splitlines()
    assert "draws instance-balanced again until epoch 70" in line and line.endswith("[paddleclas-engine]")
