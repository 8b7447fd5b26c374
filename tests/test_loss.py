"""The three losses against the float64 numpy reference, Paddle's own cross-entropy, DRW and PaddleClas's contract."""

import math
import subprocess
import sys
import types
from typing import Any, Dict, List, Mapping

import numpy as np
import pytest
import yaml

paddle = pytest.importorskip("paddle", reason="needs paddle: pip install -e '.[paddle]'")
import paddle.nn.functional as F  # noqa: E402

import ppcls_csce  # noqa: E402
from ppcls_csce import params  # noqa: E402
from ppcls_csce.loss import CostSensitiveCE  # noqa: E402
from ppcls_csce.reference import reference_grad, reference_loss, reference_weights  # noqa: E402

CIFAR10_LT = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
CIFAR10_LT_WEIGHTS = [0.01, 0.016683, 0.02784, 0.046425, 0.077519, 0.129199, 0.215517, 0.359712, 0.60241, 1.0]
COUNTS = [400, 120, 37, 9, 3]  # 5 classes, imbalance ~133
KEY = params.LOSS_KEY


def _batch(seed: int, n: int = 16, c: int = len(COUNTS)) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, c, size=n)
    labels[:c] = np.arange(c)  # every class present
    return {
        "logits": rng.normal(scale=3.0, size=(n, c)),
        "labels": labels.astype(np.int64),
        "probs": rng.dirichlet(np.full(c, 0.5), size=n),
    }


def _value(loss: CostSensitiveCE, logits: np.ndarray, label: np.ndarray) -> np.ndarray:
    return loss(paddle.to_tensor(logits), paddle.to_tensor(label))[KEY].numpy()


def _label(kind: str, batch: Dict[str, np.ndarray]) -> np.ndarray:
    return {"[N]": batch["labels"], "[N,1]": batch["labels"][:, None], "probs": batch["probs"]}[kind]


# --- values --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["[N]", "[N,1]", "probs"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("gamma, epsilon", [(1.0, None), (0.5, None), (2.0, 0.1), (1.0, 0.3)])
def test_matches_numpy_reference(kind: str, reduction: str, gamma: float, epsilon: float) -> None:
    batch = _batch(1)
    label = _label(kind, batch)
    loss = CostSensitiveCE(COUNTS, gamma=gamma, epsilon=epsilon, reduction=reduction)
    got = _value(loss, batch["logits"], label)
    want = reference_loss(batch["logits"], label, COUNTS, gamma=gamma, epsilon=epsilon, reduction=reduction)
    np.testing.assert_allclose(got.reshape(-1), np.reshape(want, -1), rtol=1e-12, atol=1e-12)
    if reduction == "mean":  # the weighted mean is not the plain mean of the weighted terms
        plain = np.mean(reference_loss(batch["logits"], label, COUNTS, gamma, epsilon, "none"))
        assert abs(float(got) - plain) > 1e-3


@pytest.mark.parametrize("kind, shape", [("[N]", [16]), ("[N,1]", [16, 1]), ("probs", [16])])
@pytest.mark.parametrize("epsilon", [None, 0.1])
def test_none_reduction_shape(kind: str, shape: List[int], epsilon: float) -> None:
    batch = _batch(2)
    label = _label(kind, batch)
    out = CostSensitiveCE(COUNTS, epsilon=epsilon, reduction="none")(paddle.to_tensor(batch["logits"]), paddle.to_tensor(label))
    assert list(out[KEY].shape) == shape
    if kind != "probs":  # the shape F.cross_entropy(reduction='none') gives for the same label
        plain = F.cross_entropy(paddle.to_tensor(batch["logits"]), paddle.to_tensor(label), reduction="none")
        assert list(plain.shape) == shape


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("epsilon", [None, 0.2])
def test_one_hot_probabilities_equal_hard_labels(reduction: str, epsilon: float) -> None:
    batch = _batch(3)
    one_hot = np.eye(len(COUNTS))[batch["labels"]]
    loss = CostSensitiveCE(COUNTS, epsilon=epsilon, reduction=reduction)
    hard = _value(loss, batch["logits"], batch["labels"])
    soft = _value(loss, batch["logits"], one_hot)
    np.testing.assert_allclose(soft, hard, rtol=1e-12, atol=1e-13)


def test_probability_labels_are_not_softmaxed() -> None:
    """PaddleClas's CELoss softmaxes a [N, C] label; a mixup target must be used as it is."""
    batch = _batch(4)
    loss = CostSensitiveCE(COUNTS)
    got = float(_value(loss, batch["logits"], batch["probs"]))
    softmaxed = np.exp(batch["probs"]) / np.exp(batch["probs"]).sum(axis=1, keepdims=True)
    assert got == pytest.approx(float(reference_loss(batch["logits"], batch["probs"], COUNTS)), rel=1e-12)
    assert abs(got - float(reference_loss(batch["logits"], softmaxed, COUNTS))) > 1e-2


def test_dict_input_with_logits() -> None:
    batch = _batch(5)
    loss = CostSensitiveCE(COUNTS, epsilon=0.1)
    logits = paddle.to_tensor(batch["logits"])
    label = paddle.to_tensor(batch["labels"][:, None])
    from_dict = loss({"logits": logits, "features": paddle.zeros([16, 3], "float64")}, label)[KEY]
    assert float(from_dict) == float(loss(logits, label)[KEY])
    assert float(from_dict) == pytest.approx(float(reference_loss(batch["logits"], batch["labels"], COUNTS, epsilon=0.1)), rel=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gamma_zero_is_plain_cross_entropy(reduction: str) -> None:
    batch = _batch(6)
    logits, labels = paddle.to_tensor(batch["logits"]), paddle.to_tensor(batch["labels"][:, None])
    got = CostSensitiveCE(COUNTS, gamma=0, reduction=reduction)(logits, labels)[KEY].numpy()
    plain = F.cross_entropy(logits, labels, reduction=reduction).numpy()
    np.testing.assert_allclose(got, plain, rtol=1e-12)
    unweighted = reference_loss(batch["logits"], batch["labels"], COUNTS, reduction=reduction, weighted=False)
    np.testing.assert_allclose(got.reshape(-1), np.reshape(unweighted, -1), rtol=1e-12)
    # label smoothing with gamma 0 is PaddleClas's CELoss(epsilon) on hard labels
    smoothed = CostSensitiveCE(COUNTS, gamma=0, epsilon=0.1, reduction=reduction)(logits, labels)[KEY].numpy()
    target = F.label_smooth(F.one_hot(labels.reshape([-1]), len(COUNTS)).astype("float64"), epsilon=0.1)
    celoss = paddle.sum(-F.log_softmax(logits, axis=-1) * target, axis=-1)
    celoss = {"mean": celoss.mean(), "sum": celoss.sum(), "none": celoss}[reduction].numpy()
    # (F.label_smooth keeps epsilon as a float32 attribute, hence 1e-6 and not 1e-12)
    np.testing.assert_allclose(smoothed.reshape(-1), celoss.reshape(-1), rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_hard_labels_equal_paddle_weighted_cross_entropy(reduction: str, dtype: str) -> None:
    batch = _batch(7, n=64)
    logits = paddle.to_tensor(batch["logits"].astype(dtype))
    labels = paddle.to_tensor(batch["labels"][:, None])
    weight = paddle.to_tensor(reference_weights(COUNTS, 1.0).astype(dtype))
    want = F.cross_entropy(logits, labels, weight=weight, reduction=reduction)
    got = CostSensitiveCE(COUNTS, reduction=reduction)(logits, labels)[KEY]
    assert got.dtype == logits.dtype  # the float64 weight buffer is cast, not promoted
    np.testing.assert_allclose(got.numpy().reshape(-1), want.numpy().reshape(-1), rtol=1e-6 if dtype == "float32" else 1e-12)


# --- gradients -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["[N,1]", "probs"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("epsilon", [None, 0.1])
def test_gradient_matches_analytic(kind: str, reduction: str, epsilon: float) -> None:
    batch = _batch(8)
    label = _label(kind, batch)
    logits = paddle.to_tensor(batch["logits"], stop_gradient=False)
    CostSensitiveCE(COUNTS, epsilon=epsilon, reduction=reduction)(logits, paddle.to_tensor(label))[KEY].backward()
    want = reference_grad(batch["logits"], label, COUNTS, epsilon=epsilon, reduction=reduction)
    np.testing.assert_allclose(logits.grad.numpy(), want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("kind", ["[N]", "probs"])
def test_gradient_matches_finite_differences(kind: str) -> None:
    """Checks both the paddle gradient and the analytic reference gradient against the loss values."""
    batch = _batch(9, n=6)
    label = _label(kind, batch)
    loss = CostSensitiveCE(COUNTS, gamma=0.7, epsilon=0.05)
    logits = paddle.to_tensor(batch["logits"], stop_gradient=False)
    loss(logits, paddle.to_tensor(label))[KEY].backward()
    step = 1e-6
    numeric = np.zeros_like(batch["logits"])
    for index in np.ndindex(*batch["logits"].shape):
        plus, minus = batch["logits"].copy(), batch["logits"].copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = (float(_value(loss, plus, label)) - float(_value(loss, minus, label))) / (2 * step)
    np.testing.assert_allclose(logits.grad.numpy(), numeric, rtol=1e-6, atol=1e-9)
    analytic = reference_grad(batch["logits"], label, COUNTS, gamma=0.7, epsilon=0.05)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


# --- weights, arguments, state ---------------------------------------------------------------------


def test_cifar10_lt_weights() -> None:
    loss = CostSensitiveCE(CIFAR10_LT, gamma=1)
    assert np.round(loss.class_weight.numpy(), 6).tolist() == CIFAR10_LT_WEIGHTS
    assert np.round(reference_weights(CIFAR10_LT, 1.0), 6).tolist() == CIFAR10_LT_WEIGHTS
    half = CostSensitiveCE(CIFAR10_LT, gamma=0.5).class_weight.numpy()
    np.testing.assert_allclose(half, [math.sqrt(50 / count) for count in CIFAR10_LT], rtol=1e-15)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_class_list": []}, "num_class_list must not be empty"),
        ({"num_class_list": [10, 0, 3]}, r"num_class_list\[1\] is 0"),
        ({"num_class_list": [10, -2]}, r"num_class_list\[1\] is -2"),
        ({"num_class_list": [10, 2.5]}, r"num_class_list\[1\] must be an integer"),
        ({"num_class_list": "10 20"}, "num_class_list must be a list"),
        ({"num_class_list": [10, 2], "gamma": -1}, "gamma must be a finite number >= 0"),
        ({"num_class_list": [10, 2], "gamma": float("nan")}, "gamma must be a finite number >= 0"),
        ({"num_class_list": [10, 2], "gamma": "abc"}, "gamma must be a number >= 0"),
        ({"num_class_list": [10, 2], "epsilon": 1.5}, r"epsilon must be in \(0, 1\)"),
        ({"num_class_list": [10, 2], "epsilon": 0}, r"epsilon must be in \(0, 1\)"),
        ({"num_class_list": [10, 2], "reduction": "avg"}, "reduction must be one of mean, sum, none"),
        ({"num_class_list": [10, 2], "drw_start_epoch": 5}, "iters_per_epoch is missing"),
        ({"num_class_list": [10, 2], "iters_per_epoch": 5}, "drw_start_epoch is missing"),
        ({"num_class_list": [10, 2], "drw_start_epoch": 0, "iters_per_epoch": 5}, "drw_start_epoch must be an integer >= 1"),
        ({"num_class_list": [10, 2], "drw_start_epoch": 2, "iters_per_epoch": 1.5}, "iters_per_epoch must be an integer >= 1"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs: Dict[str, Any], message: str) -> None:
    with pytest.raises(params.ParamError, match=message) as raised:
        CostSensitiveCE(**kwargs)
    assert isinstance(raised.value, ValueError)


def test_numbers_left_as_strings_by_pyyaml_are_converted() -> None:
    config = yaml.safe_load("gamma: 1e-3\nepsilon: 1e-1\ndrw_start_epoch: '3'\niters_per_epoch: 1e1\n")
    assert config["gamma"] == "1e-3" and config["epsilon"] == "1e-1"  # PyYAML (YAML 1.1) leaves them as text
    loss = CostSensitiveCE(["400", 120, "37", 9, 3], **{k: v for k, v in config.items() if k != "iters_per_epoch"}, iters_per_epoch=10)
    assert loss.gamma == 0.001 and loss.epsilon == 0.1 and loss.drw_start_epoch == 3
    assert loss.num_class_list == COUNTS
    np.testing.assert_allclose(loss.class_weight.numpy(), reference_weights(COUNTS, 0.001), rtol=1e-15)
    with pytest.raises(params.ParamError, match="iters_per_epoch must be an integer"):
        CostSensitiveCE(COUNTS, drw_start_epoch=2, iters_per_epoch=config["iters_per_epoch"])  # '1e1' is 10.0


def test_class_count_mismatch_is_a_clear_error() -> None:
    loss = CostSensitiveCE(COUNTS)
    with pytest.raises(ValueError, match="the logits have 4 classes but num_class_list has 5 counts"):
        loss(paddle.zeros([3, 4]), paddle.zeros([3, 1], "int64"))


@pytest.mark.parametrize(
    "label, message",
    [
        (np.zeros((4, 2), np.int64), r"an integer label must be \[N\] or \[N, 1\]"),
        (np.zeros((4, 1), np.float32), r"a float label must be \[N, 5\] class probabilities"),
        (np.zeros((4,), np.float32), r"a float label must be \[N, 5\] class probabilities"),
    ],
)
def test_bad_label_shapes(label: np.ndarray, message: str) -> None:
    loss = CostSensitiveCE(COUNTS, drw_start_epoch=2, iters_per_epoch=3)
    with pytest.raises(ValueError, match=message):
        loss(paddle.zeros([4, 5]), paddle.to_tensor(label))
    assert loss.train_steps.item() == 0  # a refused call is not a training step


def test_state_dict_holds_no_class_weights() -> None:
    loss = CostSensitiveCE(COUNTS)
    assert list(loss.state_dict()) == ["train_steps"]
    assert loss.parameters() == []  # nothing for the optimiser, nothing for DataParallel to wrap
    # loading another run's state (other counts) keeps this run's weights
    other = CostSensitiveCE([1, 1, 1, 1, 1])
    loss.set_state_dict(other.state_dict())
    np.testing.assert_allclose(loss.class_weight.numpy(), reference_weights(COUNTS, 1.0))
    assert loss.class_weight.stop_gradient


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_logits(dtype: str) -> None:
    """AMP hands the loss fp16/bf16 logits; the CPU build has no fp16 softmax, so the loss upcasts."""
    batch = _batch(10, n=32)
    logits = paddle.to_tensor(batch["logits"].astype("float32")).astype(dtype)
    logits.stop_gradient = False
    loss = CostSensitiveCE(COUNTS, epsilon=0.1)
    for label in (batch["labels"][:, None], batch["probs"].astype("float32")):
        out = loss(logits, paddle.to_tensor(label))[KEY]
        out.backward()
        rounded = logits.astype("float32").numpy().astype(np.float64)
        assert float(out) == pytest.approx(float(reference_loss(rounded, label, COUNTS, epsilon=0.1)), rel=1e-5)
        assert logits.grad.dtype == logits.dtype
        grad = logits.grad.astype("float32").numpy()
        np.testing.assert_allclose(grad, reference_grad(rounded, label, COUNTS, epsilon=0.1), atol=2e-3)
        logits.clear_gradient()


# --- deferred re-weighting ---------------------------------------------------------------------------


def _drw_values(loss: CostSensitiveCE, steps: int, batch: Dict[str, np.ndarray]) -> List[float]:
    return [float(_value(loss, batch["logits"], batch["labels"][:, None])) for _ in range(steps)]


def test_drw_switches_at_the_exact_step() -> None:
    batch = _batch(11)
    plain = float(reference_loss(batch["logits"], batch["labels"], COUNTS, epsilon=0.1, weighted=False))
    weighted = float(reference_loss(batch["logits"], batch["labels"], COUNTS, epsilon=0.1))
    loss = CostSensitiveCE(COUNTS, epsilon=0.1, drw_start_epoch=3, iters_per_epoch=4)  # epochs 1-2 plain: 8 steps
    values = _drw_values(loss, 10, batch)
    assert values[:8] == pytest.approx([plain] * 8, rel=1e-12)
    assert values[8:] == pytest.approx([weighted] * 2, rel=1e-12)
    assert loss.train_steps.item() == 10
    # evaluation-mode calls neither count nor change the phase
    loss.eval()
    assert float(_value(loss, batch["logits"], batch["labels"])) == pytest.approx(weighted, rel=1e-12)
    assert loss.train_steps.item() == 10
    # epoch 1 means CS_CE from the first step; without DRW it is always CS_CE
    for first in (CostSensitiveCE(COUNTS, epsilon=0.1, drw_start_epoch=1, iters_per_epoch=4), CostSensitiveCE(COUNTS, epsilon=0.1)):
        assert _drw_values(first, 1, batch) == pytest.approx([weighted], rel=1e-12)


def test_drw_before_switch_in_eval_mode_is_plain() -> None:
    batch = _batch(12)
    loss = CostSensitiveCE(COUNTS, drw_start_epoch=2, iters_per_epoch=100)
    loss.eval()
    plain = float(reference_loss(batch["logits"], batch["labels"], COUNTS, weighted=False))
    assert _drw_values(loss, 3, batch) == pytest.approx([plain] * 3, rel=1e-12)
    assert loss.train_steps.item() == 0


def test_drw_step_survives_checkpoint_save_and_load(tmp_path: Any) -> None:
    batch = _batch(13)
    plain = float(reference_loss(batch["logits"], batch["labels"], COUNTS, weighted=False))
    weighted = float(reference_loss(batch["logits"], batch["labels"], COUNTS))
    loss = CostSensitiveCE(COUNTS, drw_start_epoch=2, iters_per_epoch=5)
    _drw_values(loss, 3, batch)
    path = str(tmp_path / "ppcls.pdparams")
    state = loss.state_dict()
    assert list(state) == ["train_steps"]
    paddle.save(state, path)

    resumed = CostSensitiveCE(COUNTS, drw_start_epoch=2, iters_per_epoch=5)
    loaded = paddle.load(path)
    assert set(loaded) == {"train_steps"}
    resumed.set_state_dict(loaded)
    assert resumed.train_steps.item() == 3
    assert _drw_values(resumed, 3, batch) == pytest.approx([plain, plain, weighted], rel=1e-12)
    # a fresh loss without the checkpoint would still be in the plain phase
    assert _drw_values(CostSensitiveCE(COUNTS, drw_start_epoch=2, iters_per_epoch=5), 3, batch) == pytest.approx([plain] * 3, rel=1e-12)


# --- PaddleClas's loss contract ----------------------------------------------------------------------

GEN_LIKE_YAML = """
# CostSensitiveCE (CS_CE, Zhang et al., AAAI 2021): w_c = (N_min / N_c) ^ gamma.
Loss:
  Train:
    - CostSensitiveCE:
        weight: 1.0
        gamma: 1.0
        num_class_list: [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
        epsilon: 1e-1
        drw_start_epoch: 2
        iters_per_epoch: 3
  Eval:
    - CostSensitiveCE:
        weight: 1.0
        gamma: 1.0
        num_class_list: [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
"""


class CombinedLossDouble:
    """PaddleClas's CombinedLoss contract without its eval(): single-key entries, `weight` popped, name looked up."""

    def __init__(self, config_list: List[Mapping[str, Mapping[str, Any]]], namespace: Mapping[str, Any]) -> None:
        assert isinstance(config_list, list)
        self.funcs, self.weights = [], []
        for config in config_list:
            assert isinstance(config, dict) and len(config) == 1
            name = next(iter(config))
            param = dict(config[name])
            self.weights.append(param.pop("weight"))
            self.funcs.append(namespace[name](**param))

    def __call__(self, output: Any, label: paddle.Tensor) -> Dict[str, paddle.Tensor]:
        result = dict(self.funcs[0](output, label))
        result["loss"] = list(result.values())[0]
        return result


def _fake_ppcls(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    package, module = types.ModuleType("ppcls"), types.ModuleType("ppcls.loss")
    package.loss = module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ppcls", package)
    monkeypatch.setitem(sys.modules, "ppcls.loss", module)
    return module


def test_register_then_build_from_gen_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    module = _fake_ppcls(monkeypatch)
    assert not hasattr(module, "CostSensitiveCE")
    ppcls_csce.register()
    assert module.CostSensitiveCE is CostSensitiveCE

    config = yaml.safe_load(GEN_LIKE_YAML)["Loss"]
    train = CombinedLossDouble(config["Train"], vars(module))
    evaluation = CombinedLossDouble(config["Eval"], vars(module))
    assert config["Train"][0]["CostSensitiveCE"]["weight"] == 1.0  # the builder pops from a copy
    assert train.funcs[0].epsilon == 0.1 and train.funcs[0].switch_step == 3

    rng = np.random.default_rng(14)
    logits = rng.normal(size=(8, 10))
    labels = np.arange(8, dtype=np.int64)[:, None]
    output = {"logits": paddle.to_tensor(logits)}
    values = [float(train(output, paddle.to_tensor(labels))["loss"]) for _ in range(4)]
    plain = float(reference_loss(logits, labels, CIFAR10_LT, epsilon=0.1, weighted=False))
    weighted = float(reference_loss(logits, labels, CIFAR10_LT, epsilon=0.1))
    assert values == pytest.approx([plain] * 3 + [weighted], rel=1e-12)
    got = evaluation(output, paddle.to_tensor(labels))
    assert set(got) == {KEY, "loss"}
    assert float(got["loss"]) == pytest.approx(float(reference_loss(logits, labels, CIFAR10_LT)), rel=1e-12)


def test_register_without_paddleclas_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ppcls", None)  # makes `import ppcls` fail
    monkeypatch.delitem(sys.modules, "ppcls.loss", raising=False)
    with pytest.raises(ImportError, match=r"cannot import PaddleClas's ppcls.loss"):
        ppcls_csce.register()


def test_importing_the_package_does_not_import_paddle() -> None:
    code = "import sys, ppcls_csce, ppcls_csce.install, ppcls_csce.reference; print('paddle' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert callable(ppcls_csce.register)


# --- BalancedSoftmaxCE and ClassBalancedCE: the same protocol, one implementation -------------------------

from ppcls_csce.loss import BalancedSoftmaxCE, ClassBalancedCE  # noqa: E402
from ppcls_csce.reference import BALANCED_SOFTMAX, CLASS_BALANCED, COST_SENSITIVE, reference_for  # noqa: E402

NEW_LOSSES = [
    (BalancedSoftmaxCE, BALANCED_SOFTMAX, "tau", [1.0, 0.5, 2.0]),
    (ClassBalancedCE, CLASS_BALANCED, "beta", [0.9999, 0.99, 0.5]),
]
ALL_LOSSES = [(CostSensitiveCE, COST_SENSITIVE, "gamma", 1.0), (BalancedSoftmaxCE, BALANCED_SOFTMAX, "tau", 1.0),
              (ClassBalancedCE, CLASS_BALANCED, "beta", 0.999)]
NEW_CASES = [(cls, name, strength, value) for cls, name, strength, values in NEW_LOSSES for value in values]


def _key(cls: type) -> str:
    return params.LOSSES[cls.__name__].key


def _forward_backward(loss: Any, logits: np.ndarray, label: np.ndarray, dtype: str = "float64") -> Any:
    x = paddle.to_tensor(logits.astype(dtype), stop_gradient=False)
    out = loss(x, paddle.to_tensor(label))[_key(type(loss))]
    out.sum().backward()
    return out.numpy(), x.grad.numpy()


@pytest.mark.parametrize("cls, name, strength, value", NEW_CASES, ids=lambda v: getattr(v, "__name__", str(v)))
@pytest.mark.parametrize("kind", ["[N]", "[N,1]", "probs"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("epsilon", [None, 0.1])
def test_new_losses_match_the_reference_values_and_gradients(cls: type, name: str, strength: str, value: float,
                                                            kind: str, reduction: str, epsilon: float) -> None:
    batch = _batch(21)
    label = _label(kind, batch)
    loss = cls(COUNTS, **{strength: value}, epsilon=epsilon, reduction=reduction)
    got, grad = _forward_backward(loss, batch["logits"], label)
    want, want_grad = reference_for(name, batch["logits"], label, COUNTS, value, epsilon, reduction)
    np.testing.assert_allclose(got.reshape(-1), np.reshape(want, -1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-13)
    plain = reference_for(name, batch["logits"], label, COUNTS, value, epsilon, reduction, switched=False)[0]
    assert np.max(np.abs(np.reshape(want, -1) - np.reshape(plain, -1))) > 1e-3  # the counts change the loss


@pytest.mark.parametrize("kind, shape", [("[N]", [16]), ("[N,1]", [16, 1]), ("probs", [16])])
def test_new_losses_none_shape(kind: str, shape: List[int]) -> None:
    batch = _batch(22)
    for cls in (BalancedSoftmaxCE, ClassBalancedCE):
        out = cls(COUNTS, reduction="none")(paddle.to_tensor(batch["logits"]), paddle.to_tensor(_label(kind, batch)))
        assert list(out[_key(cls)].shape) == shape and set(out) == {_key(cls)}


def test_balanced_softmax_mean_is_the_plain_mean() -> None:
    batch = _batch(23)
    loss = BalancedSoftmaxCE(COUNTS, reduction="none")
    per_sample = _value_of(loss, batch)
    mean = _value_of(BalancedSoftmaxCE(COUNTS), batch)
    assert float(mean) == pytest.approx(float(np.mean(per_sample)), rel=1e-14)
    # and it equals cross-entropy of z + tau * log(prior): counts and priors give the same loss
    prior = np.asarray(COUNTS, dtype=np.float64) / sum(COUNTS)
    shifted = paddle.to_tensor(batch["logits"] + np.log(prior))
    want = F.cross_entropy(shifted, paddle.to_tensor(batch["labels"][:, None])).numpy()
    np.testing.assert_allclose(mean, want, rtol=1e-12)


def _value_of(loss: Any, batch: Dict[str, np.ndarray]) -> np.ndarray:
    return loss(paddle.to_tensor(batch["logits"]), paddle.to_tensor(batch["labels"]))[_key(type(loss))].numpy()


@pytest.mark.parametrize("cls, strength", [(BalancedSoftmaxCE, "tau"), (ClassBalancedCE, "beta")])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_tau_zero_and_beta_zero_are_plain_cross_entropy(cls: type, strength: str, reduction: str) -> None:
    batch = _batch(24)
    logits, labels = paddle.to_tensor(batch["logits"]), paddle.to_tensor(batch["labels"][:, None])
    got = cls(COUNTS, **{strength: 0.0}, reduction=reduction)(logits, labels)[_key(cls)].numpy()
    np.testing.assert_allclose(got, F.cross_entropy(logits, labels, reduction=reduction).numpy(), rtol=1e-12)


@pytest.mark.parametrize("cls", [BalancedSoftmaxCE, ClassBalancedCE])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("epsilon", [None, 0.2])
def test_new_losses_one_hot_probabilities_equal_hard_labels(cls: type, reduction: str, epsilon: float) -> None:
    batch = _batch(25)
    loss = cls(COUNTS, epsilon=epsilon, reduction=reduction)
    hard, hard_grad = _forward_backward(loss, batch["logits"], batch["labels"])
    soft, soft_grad = _forward_backward(loss, batch["logits"], np.eye(len(COUNTS))[batch["labels"]])
    np.testing.assert_allclose(soft, hard, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(soft_grad, hard_grad, rtol=1e-12, atol=1e-13)


def test_class_balanced_hard_labels_equal_paddle_weighted_cross_entropy() -> None:
    batch = _batch(26, n=64)
    logits, labels = paddle.to_tensor(batch["logits"]), paddle.to_tensor(batch["labels"][:, None])
    loss = ClassBalancedCE(COUNTS, beta=0.999)
    np.testing.assert_allclose(loss.class_weight.numpy(), params.class_balanced_weights(COUNTS, 0.999), rtol=1e-15)
    assert loss.class_weight.numpy().sum() == pytest.approx(len(COUNTS))
    want = F.cross_entropy(logits, labels, weight=loss.class_weight, reduction="mean")
    np.testing.assert_allclose(float(loss(logits, labels)[_key(ClassBalancedCE)]), float(want), rtol=1e-12)


@pytest.mark.parametrize("cls, name, strength, value", [(BalancedSoftmaxCE, BALANCED_SOFTMAX, "tau", 1.0),
                                                        (ClassBalancedCE, CLASS_BALANCED, "beta", 0.999)])
def test_new_losses_drw_switch_at_the_exact_step(cls: type, name: str, strength: str, value: float) -> None:
    batch = _batch(27)
    label = batch["labels"][:, None]
    plain = float(reference_for(name, batch["logits"], label, COUNTS, value, 0.1, switched=False)[0])
    switched = float(reference_for(name, batch["logits"], label, COUNTS, value, 0.1)[0])
    loss = cls(COUNTS, **{strength: value}, epsilon=0.1, drw_start_epoch=3, iters_per_epoch=4)
    loss.train()
    values = [float(_forward_backward(loss, batch["logits"], label)[0]) for _ in range(10)]
    assert values[:8] == pytest.approx([plain] * 8, rel=1e-12)
    assert values[8:] == pytest.approx([switched] * 2, rel=1e-12)
    assert loss.train_steps.item() == 10
    loss.eval()
    assert float(_forward_backward(loss, batch["logits"], label)[0]) == pytest.approx(switched, rel=1e-12)
    assert loss.train_steps.item() == 10
    # before the switch, eval-mode calls are plain too, and the gradient is plain CE's
    early = cls(COUNTS, **{strength: value}, epsilon=0.1, drw_start_epoch=2, iters_per_epoch=4)
    _, grad = _forward_backward(early, batch["logits"], label)
    want_grad = reference_for(name, batch["logits"], label, COUNTS, value, 0.1, switched=False)[1]
    np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("cls, name, strength, value", [(BalancedSoftmaxCE, BALANCED_SOFTMAX, "tau", 1.0),
                                                        (ClassBalancedCE, CLASS_BALANCED, "beta", 0.999)])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_new_losses_low_precision_logits(cls: type, name: str, strength: str, value: float, dtype: str) -> None:
    batch = _batch(28, n=32)
    logits = paddle.to_tensor(batch["logits"].astype("float32")).astype(dtype)
    logits.stop_gradient = False
    loss = cls(COUNTS, **{strength: value}, epsilon=0.1)
    for label in (batch["labels"][:, None], batch["probs"].astype("float32")):
        out = loss(logits, paddle.to_tensor(label))[_key(cls)]
        out.backward()
        rounded = logits.astype("float32").numpy().astype(np.float64)
        want, want_grad = reference_for(name, rounded, label, COUNTS, value, 0.1)
        assert float(out) == pytest.approx(float(want), rel=1e-5)
        assert out.dtype == paddle.float32 and logits.grad.dtype == logits.dtype
        np.testing.assert_allclose(logits.grad.astype("float32").numpy(), want_grad, atol=2e-3)
        logits.clear_gradient()


def test_new_losses_state_and_buffers() -> None:
    softmax = BalancedSoftmaxCE(COUNTS, tau=0.5)
    np.testing.assert_allclose(softmax.logit_adjustment.numpy(), 0.5 * np.log(COUNTS), rtol=1e-15)
    for loss in (softmax, ClassBalancedCE(COUNTS)):
        assert list(loss.state_dict()) == ["train_steps"] and loss.parameters() == []
    other = BalancedSoftmaxCE([1, 1, 1, 1, 1], tau=0.5)
    softmax.set_state_dict(other.state_dict())
    np.testing.assert_allclose(softmax.logit_adjustment.numpy(), 0.5 * np.log(COUNTS), rtol=1e-15)
    assert "tau=0.5" in repr(softmax) and "beta=0.9999" in repr(ClassBalancedCE(COUNTS))


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (BalancedSoftmaxCE, {"tau": -1}, "tau must be a finite number >= 0"),
        (BalancedSoftmaxCE, {"tau": "abc"}, "tau must be a number >= 0"),
        (BalancedSoftmaxCE, {"tau": 0.5, "epsilon": 2}, r"epsilon must be in \(0, 1\)"),
        (ClassBalancedCE, {"beta": 1.0}, r"beta must be in \[0, 1\)"),
        (ClassBalancedCE, {"beta": "abc"}, r"beta must be a number in \[0, 1\)"),
        (ClassBalancedCE, {"drw_start_epoch": 3}, "iters_per_epoch is missing"),
        (BalancedSoftmaxCE, {"reduction": "avg"}, "reduction must be one of"),
    ],
)
def test_new_losses_bad_arguments(cls: type, kwargs: Dict[str, Any], message: str) -> None:
    with pytest.raises(params.ParamError, match=message):
        cls(COUNTS, **kwargs)
    with pytest.raises(params.ParamError, match=r"num_class_list\[1\] is 0"):
        cls([3, 0])


@pytest.mark.parametrize("cls", [BalancedSoftmaxCE, ClassBalancedCE])
def test_new_losses_label_and_class_checks(cls: type) -> None:
    loss = cls(COUNTS, drw_start_epoch=2, iters_per_epoch=3)
    with pytest.raises(ValueError, match=rf"{cls.__name__}: the logits have 4 classes"):
        loss(paddle.zeros([3, 4]), paddle.zeros([3, 1], "int64"))
    with pytest.raises(ValueError, match=rf"{cls.__name__}: an integer label must be"):
        loss(paddle.zeros([4, 5]), paddle.zeros([4, 2], "int64"))
    assert loss.train_steps.item() == 0


# --- DRW drift and resumed counters are said once, in PaddleClas's log ----------------------------------------


class _Recorder:
    def __init__(self) -> None:
        self.lines: List[str] = []

    def warning(self, fmt: str, *args: Any) -> None:
        self.lines.append(fmt % args if args else fmt)


def _paddleclas_logger(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    """PaddleClas's `ppcls.utils.logger` as the loss finds it: a loaded module with a warning() function."""
    recorder = _Recorder()
    module = types.ModuleType("ppcls.utils.logger")
    module.warning = recorder.warning  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ppcls.utils.logger", module)
    return recorder


def _train(loss: Any, batch_size: int, steps: int) -> None:
    loss.train()
    rng = np.random.default_rng(30)
    for _ in range(steps):
        loss(paddle.to_tensor(rng.normal(size=(batch_size, len(COUNTS)))),
             paddle.to_tensor(rng.integers(0, len(COUNTS), (batch_size, 1))))


@pytest.mark.parametrize("cls", [CostSensitiveCE, BalancedSoftmaxCE, ClassBalancedCE])
def test_drw_drift_is_logged_once_with_both_numbers_and_the_fix(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _paddleclas_logger(monkeypatch)
    # 569 images: batch 64 -> 9 iterations per epoch (what gen wrote); launched with batch 16 -> 36 (35 with drop_last)
    loss = cls(COUNTS, drw_start_epoch=2, iters_per_epoch=9)
    _train(loss, 16, 3)
    (line,) = recorder.lines
    assert line.startswith(f"{cls.__name__}: deferred re-weighting is configured for iters_per_epoch 9")
    assert "batch size 16 per card on 1 card(s): 36 (35 with drop_last) iterations per epoch" in line
    assert "after 9 training steps will come at epoch 1, iteration 10, not at the start of epoch 2" in line
    assert "csce-config gen --config CFG --drw-epoch 2 --world-size 1" in line and "iters_per_epoch: 36" in line
    # the batch size gen assumed: silent, with or without drop_last; evaluation calls never check
    for iters in (9, 8):
        _train(cls(COUNTS, drw_start_epoch=2, iters_per_epoch=iters), 569 // 8 if iters == 8 else 64, 2)
    evaluation = cls(COUNTS, drw_start_epoch=2, iters_per_epoch=9)
    evaluation.eval()
    evaluation(paddle.zeros([16, 5]), paddle.zeros([16, 1], "int64"))
    _train(cls(COUNTS), 16, 1)  # no DRW: nothing to drift
    _train(cls(COUNTS, drw_start_epoch=1, iters_per_epoch=9), 16, 1)  # the switch at step 0: nothing to drift either
    assert len(recorder.lines) == 1


def test_drw_drift_counts_the_cards(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _paddleclas_logger(monkeypatch)
    monkeypatch.setattr(paddle.distributed, "get_world_size", lambda *args: 2)
    _train(CostSensitiveCE(COUNTS, drw_start_epoch=2, iters_per_epoch=18), 16, 1)  # 285 per card: 18 batches
    assert recorder.lines == []
    _train(CostSensitiveCE(COUNTS, drw_start_epoch=3, iters_per_epoch=36), 16, 1)  # written for 1 card
    (line,) = recorder.lines
    assert "on 2 card(s): 18 (17 with drop_last)" in line and "epoch 5, iteration 1, not at the start of epoch 3" in line
    assert "--world-size 2" in line


def test_without_paddleclas_the_warning_goes_to_python_logging(monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delitem(sys.modules, "ppcls.utils.logger", raising=False)  # PaddleClas not loaded
    with caplog.at_level("WARNING"):
        _train(BalancedSoftmaxCE(COUNTS, drw_start_epoch=2, iters_per_epoch=9), 16, 2)
    (record,) = caplog.records
    assert record.levelname == "WARNING" and "36 (35 with drop_last) iterations per epoch" in record.getMessage()


@pytest.mark.parametrize("cls", [CostSensitiveCE, BalancedSoftmaxCE])
def test_a_counter_loaded_from_a_checkpoint_is_logged_once(cls: type, tmp_path: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _paddleclas_logger(monkeypatch)
    trained = cls(COUNTS, drw_start_epoch=2, iters_per_epoch=36)
    _train(trained, 16, 5)
    assert recorder.lines == []  # a fresh counter and the right epoch length: nothing to say
    path = str(tmp_path / "epoch_1.pdparams")
    paddle.save({"fc.weight": paddle.zeros([2, 5]), **{f"loss_func.0.{k}": v for k, v in trained.state_dict().items()}},
                path)
    state = paddle.load(path)
    resumed = cls(COUNTS, drw_start_epoch=2, iters_per_epoch=36)
    resumed.set_state_dict({"train_steps": state["loss_func.0.train_steps"]})
    _train(resumed, 16, 3)
    (line,) = recorder.lines
    assert line.startswith(f"{cls.__name__}: the DRW step counter starts at 5")
    assert "the DRW switch comes after 31 more steps, not 36" in line
    assert "remove the key ending in 'train_steps'" in line
    # the one-liner the message gives does what it says
    fixed = {k: v for k, v in state.items() if not k.endswith("train_steps")}
    fresh = cls(COUNTS, drw_start_epoch=2, iters_per_epoch=36)
    fresh.set_state_dict({k[len("loss_func.0."):]: v for k, v in fixed.items() if k.startswith("loss_func.0.")})
    assert fresh.train_steps.item() == 0
    # without DRW the counter changes nothing: a resumed plain loss says nothing
    plain = cls(COUNTS)
    plain.set_state_dict({"train_steps": state["loss_func.0.train_steps"]})
    _train(plain, 16, 2)
    assert len(recorder.lines) == 1
