"""`csce-config install/uninstall` on a small tree shaped like a PaddleClas checkout, and the generated file."""

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
from click.testing import CliRunner

from ppcls_csce import __version__
from ppcls_csce.cli import cli
from ppcls_csce.install import IMPORT_LINE, generate_loss_source

# The parts of PaddleClas's ppcls/loss/__init__.py that install depends on: top-level relative imports,
# CombinedLoss resolving each loss name with eval() in this module's namespace, and build_loss.
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
STUBS = {
    "celoss.py": "class CELoss:\n    pass\n\n\nclass MixCELoss:\n    pass\n",
    "focalloss.py": "class FocalLoss:\n    pass\n",
    "multilabelloss.py": "class MultiLabelLoss:\n    pass\n\n\nclass MultiLabelAsymmetricLoss:\n    pass\n",
}


def make_checkout(root: Path, init_text: str = LOSS_INIT) -> Path:
    loss_dir = root / "ppcls" / "loss"
    loss_dir.mkdir(parents=True)
    (root / "ppcls" / "__init__.py").write_bytes(b"")
    (loss_dir / "__init__.py").write_bytes(init_text.encode("utf-8"))
    for name, text in STUBS.items():
        (loss_dir / name).write_text(text)
    (root / "tools").mkdir()
    (root / "tools" / "train.py").write_text("")
    return root


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def snapshot(root: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    return make_checkout(tmp_path / "PaddleClas")


def test_install_check_uninstall_round_trip(checkout: Path) -> None:
    before = snapshot(checkout)
    loss_dir = checkout / "ppcls" / "loss"

    result = run("install", "--paddleclas", str(checkout), "--check")
    assert result.exit_code == 1 and result.output.startswith("absent:")

    result = run("install", "--paddleclas", str(checkout))
    assert result.exit_code == 0, result.output
    assert "installed CostSensitiveCE" in result.output
    assert (loss_dir / "cs_celoss.py").read_text() == generate_loss_source()
    lines = (loss_dir / "__init__.py").read_text().splitlines()
    # right after the last top-level `from .x import y` (a parenthesised one ending on line 9)
    assert lines[8].endswith("MultiLabelAsymmetricLoss)") and lines[9] == IMPORT_LINE
    assert "ppcls-csce" in IMPORT_LINE
    assert sorted(p.name for p in loss_dir.iterdir()) == sorted([*STUBS, "__init__.py", "cs_celoss.py"])  # no temp files

    result = run("install", "--paddleclas", str(checkout), "--check")
    assert result.exit_code == 0 and result.output.startswith(f"installed: {loss_dir / 'cs_celoss.py'} (ppcls-csce {__version__})")

    result = run("uninstall", "--paddleclas", str(checkout))
    assert result.exit_code == 0 and "removed CostSensitiveCE" in result.output
    assert snapshot(checkout) == before

    result = run("uninstall", "--paddleclas", str(checkout))
    assert result.exit_code == 0 and "not installed" in result.output
    assert snapshot(checkout) == before


def test_second_install_changes_nothing(checkout: Path) -> None:
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    loss_dir = checkout / "ppcls" / "loss"
    installed = snapshot(checkout)
    stamps = {p.name: p.stat().st_mtime_ns for p in loss_dir.iterdir()}
    result = run("install", "--paddleclas", str(checkout))
    assert result.exit_code == 0 and "already installed" in result.output
    assert snapshot(checkout) == installed
    assert {p.name: p.stat().st_mtime_ns for p in loss_dir.iterdir()} == stamps
    assert (loss_dir / "__init__.py").read_text().count("cs_celoss") == 1


def test_outdated_states_and_repair(checkout: Path) -> None:
    loss_dir = checkout / "ppcls" / "loss"
    run("install", "--paddleclas", str(checkout))
    installed = snapshot(checkout)
    loss_file, init = loss_dir / "cs_celoss.py", loss_dir / "__init__.py"

    # an older ppcls-csce wrote a different file
    loss_file.write_text(loss_file.read_text().replace(__version__, "0.0.1", 1).replace("w_c = ", "w = ", 1))
    result = run("install", "--paddleclas", str(checkout), "--check")
    assert result.exit_code == 1 and result.output.startswith("outdated:") and "ppcls-csce 0.0.1" in result.output
    result = run("install", "--paddleclas", str(checkout))
    assert result.exit_code == 0 and result.output.startswith("updated")
    assert snapshot(checkout) == installed

    # the import line was removed by hand
    init.write_text(init.read_text().replace(IMPORT_LINE + "\n", ""))
    result = run("install", "--paddleclas", str(checkout), "--check")
    assert result.exit_code == 1 and "does not import CostSensitiveCE" in result.output
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    assert snapshot(checkout) == installed

    # the file was deleted by hand
    loss_file.unlink()
    result = run("install", "--paddleclas", str(checkout), "--check")
    assert result.exit_code == 1 and "the file is missing" in result.output
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    assert snapshot(checkout) == installed


def test_refuses_a_folder_that_is_not_paddleclas(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for command in (["install"], ["install", "--check"], ["uninstall"]):
        result = run(*command[:1], "--paddleclas", str(tmp_path / "empty"), *command[1:])
        assert result.exit_code == 1
        assert result.output.strip() == (f"{tmp_path / 'empty'}: error: not a PaddleClas checkout (no ppcls/loss/__init__.py) "
                                         "[input]")
    other = tmp_path / "other"
    (other / "ppcls" / "loss").mkdir(parents=True)
    (other / "ppcls" / "loss" / "__init__.py").write_text("from .x import y\n")
    result = run("install", "--paddleclas", str(other))
    assert result.exit_code == 1 and "not PaddleClas's loss package" in result.output
    assert (other / "ppcls" / "loss" / "__init__.py").read_text() == "from .x import y\n"
    assert not (other / "ppcls" / "loss" / "cs_celoss.py").exists()
    # a folder that does not exist is bad usage
    assert run("install", "--paddleclas", str(tmp_path / "missing")).exit_code == 2


def test_refuses_a_cs_celoss_it_did_not_write(checkout: Path) -> None:
    foreign = checkout / "ppcls" / "loss" / "cs_celoss.py"
    foreign.write_text("# my own loss\n")
    before = snapshot(checkout)
    for command in (["install"], ["install", "--check"], ["uninstall"]):
        result = run(*command[:1], "--paddleclas", str(checkout), *command[1:])
        assert result.exit_code == 1
        assert result.output.strip() == (f"{foreign}: error: exists but was not written by ppcls-csce; move it "
                                         "away first [input]")
    assert snapshot(checkout) == before


@pytest.mark.parametrize(
    "init_text",
    [
        LOSS_INIT.replace("\n", "\r\n"),
        "from .celoss import CELoss\ndef build_loss(config):\n    return CombinedLoss(config)\n",
        "def build_loss(config):\n    return CombinedLoss(config)\nfrom .celoss import CELoss",  # no final line end
        "# no relative imports here\nimport copy\n\ndef build_loss(config):\n    return CombinedLoss(config)\n",
    ],
    ids=["crlf", "import-first", "import-last-no-newline", "no-relative-import"],
)
def test_uninstall_restores_init_byte_for_byte(tmp_path: Path, init_text: str) -> None:
    checkout = make_checkout(tmp_path / "pc", init_text)
    init = checkout / "ppcls" / "loss" / "__init__.py"
    original = init.read_bytes()
    assert run("install", "--paddleclas", str(checkout)).exit_code == 0
    changed = init.read_bytes()
    assert changed.count(b"cs_celoss") == 1 and changed != original
    ast.parse(changed)
    if b"\r\n" in original:  # the added line keeps the file's line ends
        assert (IMPORT_LINE + "\r\n").encode() in changed and changed.count(b"\n") == changed.count(b"\r\n")
    assert run("install", "--paddleclas", str(checkout), "--check").exit_code == 0
    assert run("uninstall", "--paddleclas", str(checkout)).exit_code == 0
    assert init.read_bytes() == original
    assert not (checkout / "ppcls" / "loss" / "cs_celoss.py").exists()


# --- the generated file ----------------------------------------------------------------------------

STANDALONE = r'''
import importlib.abc, importlib.util, json, sys

class Block(importlib.abc.MetaPathFinder):
    """Only paddle, numpy and the standard library: a PaddleClas environment has none of these."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("ppcls_csce", "pydantic", "yaml", "click"):
            raise ImportError(f"blocked: {name}")
        return None

sys.meta_path.insert(0, Block())
spec = importlib.util.spec_from_file_location("cs_celoss", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
import numpy as np, paddle
data = json.loads(sys.argv[2])
loss = module.CostSensitiveCE(data["counts"], gamma="5e-1", epsilon=0.1, drw_start_epoch=2, iters_per_epoch=1)
logits = paddle.to_tensor(np.array(data["logits"], dtype="float64"))
label = paddle.to_tensor(np.array(data["labels"], dtype="int64"))
values = [float(loss(logits, label)["CS_CELoss"]) for _ in range(2)]
try:
    module.CostSensitiveCE([])
except ValueError as error:
    message = str(error)
print(json.dumps({"values": values, "error": message,
                  "leaked": sorted(m for m in ("ppcls_csce", "pydantic", "yaml", "click") if m in sys.modules)}))
'''


def test_generated_file_imports_only_paddle_numpy_and_stdlib() -> None:
    source = generate_loss_source()
    assert source.splitlines()[0] == (
        f"# generated by ppcls-csce {__version__} from ppcls_csce/loss.py; do not edit; remove with csce-config uninstall"
    )
    tree = ast.parse(source)
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports in the generated file"
            modules.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
    assert {"paddle"} <= modules
    assert modules - {"paddle", "numpy"} <= set(sys.stdlib_module_names), modules
    names = {node.name for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    assert {"CostSensitiveCE", "ParamError", "class_weights", "check_gamma"} <= names


def test_generated_file_runs_alone_and_equals_the_package_loss(tmp_path: Path) -> None:
    import paddle

    from ppcls_csce.loss import CostSensitiveCE

    lonely = tmp_path / "alone" / "cs_celoss.py"
    lonely.parent.mkdir()
    lonely.write_text(generate_loss_source())
    script = tmp_path / "run_it.py"
    script.write_text(STANDALONE)
    rng = np.random.default_rng(0)
    data = {"counts": [300, 40, 7, 2], "logits": rng.normal(size=(6, 4)).tolist(), "labels": [0, 1, 2, 3, 0, 1]}
    done = subprocess.run(
        [sys.executable, "-I", str(script), str(lonely), json.dumps(data)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["leaked"] == []
    assert got["error"] == "num_class_list must not be empty"

    package = CostSensitiveCE(data["counts"], gamma=0.5, epsilon=0.1, drw_start_epoch=2, iters_per_epoch=1)
    logits = paddle.to_tensor(np.array(data["logits"]))
    label = paddle.to_tensor(np.array(data["labels"], dtype="int64"))
    want: List[float] = [float(package(logits, label)["CS_CELoss"]) for _ in range(2)]
    assert got["values"] == want
    assert want[0] != want[1]  # plain CE, then CS_CE


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
        print(repr(float(out["loss"])), "ppcls_csce" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", code, str(checkout)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    value, leaked = done.stdout.split()
    from ppcls_csce.reference import reference_loss

    want = reference_loss(np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]]), np.array([0, 2]), [90, 9, 3])
    assert float(value) == pytest.approx(float(want), rel=1e-12)
    assert leaked == "False"
