"""Post-hoc logit adjustment: the bias it picks, its refusals, and a real PaddleClas model saved as tools/train.py does."""

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator

import numpy as np
import pytest

from ppcls_csce.adjust import adjust_file, adjust_state, candidates, prior_shift
from ppcls_csce.cli import main
from ppcls_csce.errors import CsceError

from conftest import REPO, write_list

COUNTS = [500, 120, 40, 9, 3, 1]
C = len(COUNTS)


def _paddleclas() -> Path:
    return Path(os.environ.get("PPCLS_CSCE_PADDLECLAS", REPO.parent / "shared" / "PaddleClas"))


needs_paddleclas = pytest.mark.skipif(
    not (_paddleclas() / "ppcls" / "arch").is_dir(),
    reason=f"no PaddleClas checkout at {_paddleclas()}: set PPCLS_CSCE_PADDLECLAS to one (its ppcls/ and tools/)",
)


def _state(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """A small network's state dict: conv, batch norm (1-D of another length), and the [64, C] classifier."""
    return {
        "conv.weight": rng.normal(size=(64, 3, 3, 3)).astype("float32"),
        "bn.weight": np.ones(64, "float32"), "bn.bias": np.zeros(64, "float32"),
        "fc.weight": rng.normal(size=(64, C)).astype("float32"),
        "fc.bias": rng.normal(size=C).astype("float32"),
        "loss_func.0.train_steps": np.array([12], "int64"),
    }


# --- the state dict, without paddle -----------------------------------------------------------------------


def test_adjust_state_subtracts_tau_log_prior_from_the_one_classifier_bias() -> None:
    state = _state(np.random.default_rng(0))
    before = {name: value.copy() for name, value in state.items()}
    new, name = adjust_state(state, COUNTS, tau=0.5)
    assert name == "fc.bias"
    prior = np.asarray(COUNTS, dtype=np.float64) / sum(COUNTS)
    np.testing.assert_allclose(new["fc.bias"], before["fc.bias"] - 0.5 * np.log(prior), rtol=1e-6)
    assert new["fc.bias"].dtype == np.float32
    for key in state:  # the input is not changed, every other entry is the same object
        np.testing.assert_array_equal(state[key], before[key])
        if key != "fc.bias":
            assert new[key] is state[key]
    assert prior_shift([3, 1], 1.0) == pytest.approx([math.log(0.75), math.log(0.25)])
    same, _ = adjust_state(state, COUNTS, tau=0.0)
    np.testing.assert_array_equal(same["fc.bias"], state["fc.bias"])


def test_candidates_need_a_weight_of_the_same_layer_with_c_columns() -> None:
    state = _state(np.random.default_rng(1))
    state["head.bias"] = np.zeros(C, "float32")  # no head.weight
    state["proj.weight"], state["proj.bias"] = np.zeros((C, 64), "float32"), np.zeros(C, "float32")  # [C, *]
    assert candidates(state, C) == ["fc.bias"]


def test_several_candidates_are_refused_and_param_chooses() -> None:
    state = _state(np.random.default_rng(2))
    state["aux.weight"], state["aux.bias"] = np.zeros((32, C), "float32"), np.ones(C, "float32")
    with pytest.raises(CsceError, match=r"2 parameters could be the classifier bias: fc.bias, aux.bias; choose one "
                                        r"with --param NAME"):
        adjust_state(state, COUNTS)
    new, name = adjust_state(state, COUNTS, param_name="aux.bias")
    assert name == "aux.bias" and np.array_equal(new["fc.bias"], state["fc.bias"])
    assert not np.array_equal(new["aux.bias"], state["aux.bias"])


def test_no_candidate_is_refused_with_the_biases_listed() -> None:
    state = _state(np.random.default_rng(3))
    with pytest.raises(CsceError, match=r"no classifier bias of shape \[5\].*its biases: bn.bias \[64\], fc.bias \[6\]"):
        adjust_state(state, COUNTS[:5])
    with pytest.raises(CsceError, match=r"--param fc.weight has shape \[64, 6\], not \[6\]"):
        adjust_state(state, COUNTS, param_name="fc.weight")
    with pytest.raises(CsceError, match=r"--param head.bias: no such parameter"):
        adjust_state(state, COUNTS, param_name="head.bias")
    with pytest.raises(CsceError, match="tau must be a finite number >= 0"):
        adjust_state(state, COUNTS, tau=-1.0)


# --- files and the command, with paddle -------------------------------------------------------------------


def _save(path: Path, state: Dict[str, np.ndarray]) -> None:
    import paddle

    paddle.save({name: paddle.to_tensor(value) for name, value in state.items()}, str(path))


def test_adjust_file_writes_out_and_never_the_input(tmp_path: Path) -> None:
    import paddle

    model = tmp_path / "best_model.pdparams"
    _save(model, _state(np.random.default_rng(4)))
    original = model.read_bytes()
    out = tmp_path / "adjusted.pdparams"
    assert adjust_file(str(model), COUNTS, 1.0, str(out)) == "fc.bias"
    assert model.read_bytes() == original
    loaded = paddle.load(str(out))
    assert isinstance(loaded["fc.bias"], paddle.Tensor) and loaded["loss_func.0.train_steps"].item() == 12
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []

    link = tmp_path / "link.pdparams"
    link.symlink_to(model)
    for target in (model, link):
        with pytest.raises(CsceError, match="must not be the input model"):
            adjust_file(str(model), COUNTS, 1.0, str(target))
    assert model.read_bytes() == original
    with pytest.raises(CsceError, match=r"missing\.pdparams: error: no such file \[adjust\]"):
        adjust_file(str(tmp_path / "missing.pdparams"), COUNTS, 1.0, str(out))
    with pytest.raises(CsceError, match="an exported inference model is not supported"):
        adjust_file(str(tmp_path / "inference.pdiparams"), COUNTS, 1.0, str(out))
    with pytest.raises(CsceError, match="cannot write: the folder .*nowhere does not exist"):
        adjust_file(str(model), COUNTS, 1.0, str(tmp_path / "nowhere" / "out.pdparams"))
    assert not (tmp_path / "nowhere").exists()
    junk = tmp_path / "junk.pdparams"
    junk.write_bytes(b"not a model")
    with pytest.raises(CsceError, match="cannot be read by paddle.load"):
        adjust_file(str(junk), COUNTS, 1.0, str(out))


def test_cli_adjust(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = tmp_path / "epoch_3.pdparams"
    state = _state(np.random.default_rng(5))
    _save(model, state)
    train_list = write_list(tmp_path / "train_list.txt", COUNTS)
    out = tmp_path / "out.pdparams"
    args = ["adjust", "--model", str(model), "--train-list", str(train_list), "--tau", "1.0", "-o", str(out)]
    assert main(args) == 0
    assert "adjusted fc.bias by -1 * log(n_c / N) (6 classes, 673 samples" in capsys.readouterr().err
    import paddle

    prior = np.asarray(COUNTS) / sum(COUNTS)
    np.testing.assert_allclose(paddle.load(str(out))["fc.bias"].numpy(), state["fc.bias"] - np.log(prior), rtol=1e-6)

    assert main(args[:-1] + [str(model)]) == 1
    assert "must not be the input model" in capsys.readouterr().err
    short = write_list(tmp_path / "short.txt", COUNTS[:5])
    assert main(["adjust", "--model", str(model), "--train-list", str(short), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no classifier bias of shape [5]" in err and "Traceback" not in err
    assert main(args[:-2] + ["--tau", "-1", "-o", str(out)]) == 2  # bad usage


# --- a real PaddleClas model, saved by PaddleClas's own save_model ---------------------------------------------


@pytest.fixture(scope="module")
def ppcls_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the checkout's ppcls/ on sys.path (the checkout itself is never imported from or written)."""
    root = tmp_path_factory.mktemp("paddleclas")
    shutil.copytree(_paddleclas() / "ppcls", root / "ppcls")
    sys.path.insert(0, str(root))
    try:
        from ppcls.utils import logger

        logger.init_logger()
        yield root
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == "ppcls" or name.startswith("ppcls.")]:
            del sys.modules[name]


@needs_paddleclas
def test_real_resnet18_adjusted_predicts_argmax_of_logits_minus_tau_log_prior(ppcls_copy: Path, tmp_path: Path) -> None:
    import paddle
    from ppcls.arch.backbone.legendary_models.resnet import ResNet18
    from ppcls.loss import build_loss
    from ppcls.utils.save_load import save_model

    import ppcls_csce

    paddle.seed(0)
    net = ResNet18(class_num=C)
    net.fc.bias.set_value(paddle.to_tensor(np.random.default_rng(6).normal(scale=0.1, size=C).astype("float32")))
    ppcls_csce.register()  # the loss's state goes into the checkpoint, as in training with CostSensitiveCE
    loss = build_loss([{"CostSensitiveCE": {"weight": 1.0, "num_class_list": COUNTS}}])  # what Loss.Train holds
    optimizer = paddle.optimizer.Momentum(parameters=net.parameters())
    save_model(net, [optimizer], {"metric": 0.5, "epoch": 3}, str(tmp_path / "output"), prefix="best_model", loss=loss)
    model = tmp_path / "output" / "best_model.pdparams"
    assert "loss_func.0.train_steps" in paddle.load(str(model))

    tau = 1.0
    out = tmp_path / "adjusted.pdparams"
    assert adjust_file(str(model), COUNTS, tau, str(out)) == "fc.bias"

    net.eval()
    images = paddle.to_tensor(np.random.default_rng(7).normal(size=(16, 3, 32, 32)).astype("float32"))
    logits = net(images).numpy().astype(np.float64)
    adjusted_net = ResNet18(class_num=C)
    adjusted_net.set_dict(paddle.load(str(out)))
    adjusted_net.eval()
    got = adjusted_net(images).numpy().astype(np.float64)
    log_prior = np.log(np.asarray(COUNTS, dtype=np.float64) / sum(COUNTS))
    want = logits - tau * log_prior
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    assert (got.argmax(axis=1) == want.argmax(axis=1)).all()
    assert (want.argmax(axis=1) != logits.argmax(axis=1)).any(), "the adjustment should change some predictions"


@needs_paddleclas
def test_drw_drift_line_in_paddleclas_own_log(tmp_path: Path) -> None:
    """PaddleClas's real logger (initialised with a log file, as tools/train.py does) gets the line, once."""
    root = tmp_path / "paddleclas"
    shutil.copytree(_paddleclas() / "ppcls", root / "ppcls")
    log = tmp_path / "train.log"
    code = (
        "import sys, numpy as np, paddle\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        "from ppcls.utils import logger\n"
        f"logger.init_logger(log_file={str(log)!r})\n"
        "from ppcls_csce.loss import BalancedSoftmaxCE\n"
        "loss = BalancedSoftmaxCE([500, 120, 40, 9, 3, 1], drw_start_epoch=2, iters_per_epoch=11)\n"
        "for _ in range(3):\n"
        "    loss(paddle.zeros([8, 6]), paddle.zeros([8, 1], 'int64'))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    lines = [line for line in log.read_text().splitlines() if "BalancedSoftmaxCE" in line]
    assert len(lines) == 1 and "ppcls WARNING" in lines[0], lines
    assert "iters_per_epoch 11" in lines[0] and "85 (84 with drop_last) iterations per epoch" in lines[0]
