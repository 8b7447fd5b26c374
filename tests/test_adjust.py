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

from ppcls_csce.adjust import TAU_NORM, adjust_file, adjust_state, candidates, prior_shift
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


def test_tau_norm_divides_each_class_column_by_its_length_to_the_tau_and_drops_the_bias() -> None:
    state = _state(np.random.default_rng(8))
    for tau in (0.0, 0.7, 1.0, 2.0):
        new, name = adjust_state(state, COUNTS, tau=tau, method=TAU_NORM)
        weight = state["fc.weight"].astype(np.float64)
        want = np.empty_like(weight)
        for c in range(C):  # column by column, as Kang et al. write it: w_c / ||w_c||^tau
            want[:, c] = weight[:, c] / math.pow(math.sqrt(sum(float(x) ** 2 for x in weight[:, c])), tau)
        assert name == "fc.bias" and new["fc.weight"].dtype == np.float32
        np.testing.assert_allclose(new["fc.weight"], want, rtol=1e-6)
        assert not new["fc.bias"].any() and new["conv.weight"] is state["conv.weight"]


def _bf16_bits(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, round to nearest even (written here, not taken from adjust)."""
    out = []
    for value in np.asarray(values, np.float32):
        bits = int(np.array([value], np.float32).view(np.uint32)[0])
        upper, lower = bits >> 16, bits & 0xFFFF
        if lower > 0x8000 or (lower == 0x8000 and upper & 1):
            upper += 1
        out.append(upper)
    return np.asarray(out, np.uint16)


def _bf16_values(bits: np.ndarray) -> np.ndarray:
    return np.array([np.array([int(b) << 16], np.uint32).view(np.float32)[0] for b in bits], np.float64)


def test_bfloat16_and_float16_are_adjusted_as_values_not_bit_patterns() -> None:
    rng = np.random.default_rng(9)
    bias = rng.normal(size=C)
    shift = np.log(np.asarray(COUNTS, np.float64) / sum(COUNTS))
    state = _state(rng)
    state["fc.bias"] = _bf16_bits(bias)  # what paddle.save stores for a bfloat16 Tensor
    new, _ = adjust_state(state, COUNTS, tau=1.0)
    assert new["fc.bias"].dtype == np.uint16
    want = _bf16_bits((_bf16_values(state["fc.bias"]) - shift).astype(np.float32))
    assert new["fc.bias"].tolist() == want.tolist()
    np.testing.assert_allclose(_bf16_values(new["fc.bias"]), _bf16_values(state["fc.bias"]) - shift, rtol=2 ** -7)

    state["fc.bias"] = bias.astype(np.float16)
    new, _ = adjust_state(state, COUNTS, tau=1.0)
    assert new["fc.bias"].dtype == np.float16
    assert new["fc.bias"].tolist() == (state["fc.bias"].astype(np.float64) - shift).astype(np.float16).tolist()


@pytest.mark.parametrize("where, value", [("fc.bias", np.nan), ("fc.bias", np.inf), ("fc.weight", -np.inf),
                                          ("fc.weight", np.nan)])
def test_a_classifier_holding_nan_or_inf_is_refused(where: str, value: float) -> None:
    state = _state(np.random.default_rng(10))
    state[where] = state[where].copy()
    state[where].flat[3] = value
    for method in ("logit-adjust", TAU_NORM):
        with pytest.raises(CsceError, match=rf"{where} holds {value} at \[.*\] \(1 value\(s\) not finite\)"):
            adjust_state(state, COUNTS, method=method)


def test_overflowing_results_are_refused_in_the_stored_dtype() -> None:
    state = _state(np.random.default_rng(11))
    with pytest.raises(CsceError, match=r"the shift 1e\+300 \* log\(n_c / N\) overflows fc.bias \(float32\)"):
        adjust_state(state, COUNTS, tau=1e300)
    with pytest.raises(CsceError, match=r"\|\|w_c\|\|\^1e\+300 overflows"):
        adjust_state(state, COUNTS, tau=1e300, method=TAU_NORM)
    state["fc.bias"] = state["fc.bias"].astype(np.float16)  # 20000 * log(500 / 673) = -5940: fits; log(1/673): not
    with pytest.raises(CsceError, match=r"overflows fc.bias \(float16\)"):
        adjust_state(state, COUNTS, tau=20000.0)
    adjust_state(state, COUNTS, tau=9.0)  # within float16
    state["fc.bias"] = _bf16_bits(np.zeros(C))
    adjust_state(state, COUNTS, tau=20000.0)  # bfloat16 has float32's range
    state["fc.weight"] = state["fc.weight"].copy()
    state["fc.weight"][:, 2] = 0.0
    with pytest.raises(CsceError, match=r"fc.weight: the weight of class\(es\) \[2\] is all zeros"):
        adjust_state(state, COUNTS, tau=1.0, method=TAU_NORM)


def test_the_docs_hold_out_script_splits_a_paddleclas_list(tmp_path: Path) -> None:
    """docs/adjust.md's script, as printed, on the bundled long-tailed list."""
    page = (REPO / "docs" / "adjust.md").read_text(encoding="utf-8")
    (script,) = [part.split("```")[0] for part in page.split("```python\n")[1:]]
    shutil.copy(REPO / "examples" / "train_list.txt", tmp_path / "train_list.txt")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = (tmp_path / "train_list.txt").read_text().splitlines()
    held = (tmp_path / "val_holdout.txt").read_text().splitlines()
    rest = (tmp_path / "train_rest.txt").read_text().splitlines()
    assert sorted(held + rest) == sorted(rows) and not set(held) & set(rest)
    size: Dict[str, int] = {}
    for row in rows:
        size[row.split()[-1]] = size.get(row.split()[-1], 0) + 1
    taken = {label: sum(row.split()[-1] == label for row in held) for label in size}
    assert taken == {label: min(20, n // 5) for label, n in size.items()}  # 20 a class, 2 of the rarest's 10
    again = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0 and (tmp_path / "val_holdout.txt").read_text().splitlines() == held  # seeded


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
    loaded, before = paddle.load(str(out)), paddle.load(str(model))
    assert isinstance(loaded["fc.bias"], paddle.Tensor) and loaded["loss_func.0.train_steps"].item() == 12
    assert list(loaded) == list(before)  # every entry, in order, as paddle.save wrote them
    for key in before:  # written back as Tensors of the same dtype; only the bias changed
        assert isinstance(loaded[key], paddle.Tensor) and loaded[key].dtype == before[key].dtype
        assert np.array_equal(loaded[key].numpy(), before[key].numpy()) == (key != "fc.bias"), key
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []

    link = tmp_path / "link.pdparams"
    link.symlink_to(model)
    for target in (model, link):
        with pytest.raises(CsceError, match="must not be the input model"):
            adjust_file(str(model), COUNTS, 1.0, str(target))
    assert model.read_bytes() == original
    with pytest.raises(CsceError) as refused:
        adjust_file(str(tmp_path / "missing.pdparams"), COUNTS, 1.0, str(out))
    assert refused.value.problems[0].as_text() == f"{tmp_path / 'missing.pdparams'}: error: no such file [adjust]"
    with pytest.raises(CsceError, match="an exported inference model is not supported"):
        adjust_file(str(tmp_path / "inference.pdiparams"), COUNTS, 1.0, str(out))
    with pytest.raises(CsceError, match="cannot write: the folder .*nowhere does not exist"):
        adjust_file(str(model), COUNTS, 1.0, str(tmp_path / "nowhere" / "out.pdparams"))
    assert not (tmp_path / "nowhere").exists()
    junk = tmp_path / "junk.pdparams"
    junk.write_bytes(b"not a model")
    with pytest.raises(CsceError, match="cannot be read as a .pdparams"):
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


def test_cli_tau_auto_on_saved_logits_picks_the_best_balanced_accuracy_and_writes_that_model(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import paddle

    from ppcls_csce.logits import save_logits

    rng = np.random.default_rng(12)
    state = _state(rng)
    model = tmp_path / "best_model.pdparams"
    _save(model, state)
    train_list = write_list(tmp_path / "train_list.txt", COUNTS)
    log_prior = np.log(np.asarray(COUNTS, np.float64) / sum(COUNTS))
    labels = np.repeat(np.arange(C - 1), 40)  # the rarest class has no held-out image
    logits = rng.normal(size=(len(labels), C)) + 3.0 * np.eye(C)[labels] + 0.8 * log_prior  # biased to the head
    save_logits(str(tmp_path / "val.npz"), logits, labels)
    out = tmp_path / "adjusted.pdparams"
    for method in ("logit-adjust", "tau-norm"):
        assert main(["adjust", "--model", str(model), "--train-list", str(train_list), "--method", method,
                     "--tau", "auto", "--logits", str(tmp_path / "val.npz"), "-o", str(out)]) == 0
        captured = capsys.readouterr()
        rows = [line.split() for line in captured.out.splitlines()[2:]]
        assert [float(row[0]) for row in rows] == [round(0.05 * i, 2) for i in range(41)]
        chosen = [row for row in rows if row[-1] == "chosen"]
        assert len(chosen) == 1 and float(chosen[0][1][:-1]) == max(float(row[1][:-1]) for row in rows)
        tau = float(chosen[0][0])
        assert f"{tmp_path / 'val.npz'}: warning: 1 of 6 classes have no held-out image (5): balanced accuracy is " \
               "over the other 5 [adjust]" in captured.err
        assert (tmp_path / "adjusted.tau.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        written = paddle.load(str(out))
        want, _ = adjust_state(state, COUNTS, tau=tau, method=method)
        for key in ("fc.bias", "fc.weight"):
            np.testing.assert_array_equal(written[key].numpy(), want[key])
        if method == "logit-adjust":
            assert tau > 0.0, "logits biased by 0.8 log prior: some adjustment must win"
        assert ("the best tau is the grid's largest" in captured.err) == (tau == 2.0)
    far = rng.normal(size=(len(labels), C)) + 3.0 * np.eye(C)[labels] + 3.0 * log_prior  # needs tau 3
    save_logits(str(tmp_path / "far.npz"), far, labels)
    assert main(["adjust", "--model", str(model), "--train-list", str(train_list), "--tau", "auto", "--logits",
                 str(tmp_path / "far.npz"), "-o", str(out)]) == 0
    assert f"{tmp_path / 'far.npz'}: warning: the best tau is the grid's largest, 2: balanced accuracy may go on " \
           "rising beyond it" in capsys.readouterr().err


def test_cli_adjusts_a_bfloat16_model_saved_by_paddle_and_refuses_a_nan_bias(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture) -> None:
    import paddle

    state = _state(np.random.default_rng(14))
    model = tmp_path / "bf16.pdparams"
    paddle.save({name: paddle.to_tensor(value).astype("bfloat16") if name.startswith("fc.") else paddle.to_tensor(value)
                 for name, value in state.items()}, str(model))
    train_list = write_list(tmp_path / "train_list.txt", COUNTS)
    out = tmp_path / "out.pdparams"
    assert main(["adjust", "--model", str(model), "--train-list", str(train_list), "-o", str(out)]) == 0
    capsys.readouterr()
    written = paddle.load(str(out))
    assert written["fc.bias"].dtype == paddle.bfloat16
    before = paddle.load(str(model))["fc.bias"].astype("float32").numpy().astype(np.float64)
    want = _bf16_values(_bf16_bits((before - np.log(np.asarray(COUNTS) / sum(COUNTS))).astype(np.float32)))
    assert written["fc.bias"].astype("float32").numpy().astype(np.float64).tolist() == want.tolist()

    state["fc.bias"][2] = np.nan
    _save(model, state)
    out.unlink()
    assert main(["adjust", "--model", str(model), "--train-list", str(train_list), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == f"{model}: error: fc.bias holds nan at [2] (1 value(s) not finite): the model is broken, there " \
                  "is nothing sound to adjust [adjust]\n"
    assert not out.exists()


def test_cli_tau_auto_usage_and_refusals(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from ppcls_csce.logits import save_logits

    state = _state(np.random.default_rng(13))
    model = tmp_path / "m.pdparams"
    _save(model, state)
    train_list = write_list(tmp_path / "train_list.txt", COUNTS)
    base = ["adjust", "--model", str(model), "--train-list", str(train_list), "-o", str(tmp_path / "out.pdparams")]
    save_logits(str(tmp_path / "five.npz"), np.zeros((4, 5)), np.arange(4))
    for extra, code, text in [
            (["--tau", "auto"], 2, "--tau auto needs held-out data: exactly one of --logits FILE or --val-list LIST"),
            (["--tau", "0.5", "--logits", str(tmp_path / "five.npz")], 2, "--logits goes with --tau auto"),
            (["--tau", "sometimes"], 2, "a number >= 0 or 'auto'"),
            (["--tau", "auto", "--val-list", str(train_list)], 2, "--val-list needs --config"),
            (["--tau", "auto", "--logits", str(tmp_path / "five.npz")], 1,
             f"{tmp_path / 'five.npz'}: error: the logits have 5 classes, the train list(s) 6"),
            (["--tau", "1e300"], 1, f"{model}: error: the shift 1e+300 * log(n_c / N) overflows fc.bias (float32)")]:
        assert main(base + extra) == code, extra
        err = capsys.readouterr().err
        assert text in err and "Traceback" not in err, (extra, err)
        if code == 1:
            assert err.count("\n") == 1, err
    assert not (tmp_path / "out.pdparams").exists() and not list(tmp_path.glob("*.png"))


def test_a_crafted_model_file_is_refused_before_any_of_it_runs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    model = tmp_path / "best_model.pdparams"
    import pickle

    model.write_bytes(pickle.dumps({"fc.bias": Payload()}, protocol=4))
    train_list = write_list(tmp_path / "train_list.txt", COUNTS)
    assert main(["adjust", "--model", str(model), "--train-list", str(train_list), "-o", str(tmp_path / "o.pdparams")]) == 1
    err = capsys.readouterr().err
    assert "refused" in err and "system" in err and err.count("\n") == 1
    assert not marker.exists() and not (tmp_path / "o.pdparams").exists()


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
def test_real_resnet18_adjusted_predicts_argmax_of_the_adjusted_logits(ppcls_copy: Path, tmp_path: Path) -> None:
    import paddle
    from ppcls.arch.backbone.legendary_models.resnet import ResNet18
    from ppcls.loss import build_loss
    from ppcls.utils.save_load import save_model

    import ppcls_csce

    paddle.seed(0)
    net = ResNet18(class_num=C)
    net.fc.bias.set_value(paddle.to_tensor(np.random.default_rng(6).normal(scale=0.1, size=C).astype("float32")))
    lengths = np.array([3.0, 2.0, 1.5, 1.0, 0.7, 0.5], "float32")  # head classes' columns longer, as after CE
    net.fc.weight.set_value(net.fc.weight * paddle.to_tensor(lengths))
    ppcls_csce.register()  # the loss's state goes into the checkpoint, as in training with CostSensitiveCE
    loss = build_loss([{"CostSensitiveCE": {"weight": 1.0, "num_class_list": COUNTS}}])  # what Loss.Train holds
    optimizer = paddle.optimizer.Momentum(parameters=net.parameters())
    save_model(net, [optimizer], {"metric": 0.5, "epoch": 3}, str(tmp_path / "output"), prefix="best_model", loss=loss)
    model = tmp_path / "output" / "best_model.pdparams"
    assert "loss_func.0.train_steps" in paddle.load(str(model))

    net.eval()
    images = paddle.to_tensor(np.random.default_rng(7).normal(size=(16, 3, 32, 32)).astype("float32"))
    features = []  # what the classifier gets: h, for the float64 reference of tau-norm
    hook = net.fc.register_forward_pre_hook(lambda layer, inputs: features.append(inputs[0].numpy()))
    logits = net(images).numpy().astype(np.float64)
    hook.remove()
    h = features[0].astype(np.float64)
    weight = net.fc.weight.numpy().astype(np.float64)  # [512, C]
    log_prior = np.log(np.asarray(COUNTS, dtype=np.float64) / sum(COUNTS))
    for method, tau in (("logit-adjust", 1.0), (TAU_NORM, 1.0), (TAU_NORM, 2.0)):
        out = tmp_path / f"adjusted_{method}_{tau}.pdparams"
        assert adjust_file(str(model), COUNTS, tau, str(out), method=method) == "fc.bias"
        adjusted_net = ResNet18(class_num=C)
        adjusted_net.set_dict(paddle.load(str(out)))
        adjusted_net.eval()
        got = adjusted_net(images).numpy().astype(np.float64)
        if method == "logit-adjust":
            want = logits - tau * log_prior
        else:  # h . w_c / ||w_c||^tau, no bias
            want = h @ (weight / np.linalg.norm(weight, axis=0) ** tau)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
        assert (got.argmax(axis=1) == want.argmax(axis=1)).all()
        assert (want.argmax(axis=1) != logits.argmax(axis=1)).any(), f"{method} {tau} should change some predictions"


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
