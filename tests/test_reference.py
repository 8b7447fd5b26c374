"""The float64 reference against values worked out by hand, and its gradients against finite differences."""

import math

import numpy as np
import pytest

from ppcls_csce import params
from ppcls_csce.reference import (
    BALANCED_SOFTMAX,
    CLASS_BALANCED,
    COST_SENSITIVE,
    reference_adjustment,
    reference_class_balanced_weights,
    reference_for,
    reference_grad,
    reference_loss,
    reference_targets,
    reference_weights,
)

# Two samples, two classes, logits [0, log 3]: softmax [1/4, 3/4]. Sample 0 is class 1, sample 1 is class 0.
LOGITS = np.array([[0.0, math.log(3.0)], [0.0, math.log(3.0)]])
LABELS = np.array([1, 0], dtype=np.int64)
CE = [math.log(4.0 / 3.0), math.log(4.0)]  # -log(3/4), -log(1/4)


def test_weights_by_hand() -> None:
    assert reference_weights([10, 1], 1.0).tolist() == [0.1, 1.0]
    assert reference_weights([400, 100], 0.5).tolist() == pytest.approx([0.5, 1.0], rel=1e-15)
    # beta 0.5, counts [1, 2]: raw 0.5 / 0.5 = 1 and 0.5 / 0.75 = 2/3, sum 5/3, scaled by 2 / (5/3)
    assert reference_class_balanced_weights([1, 2], 0.5).tolist() == pytest.approx([1.2, 0.8], rel=1e-15)
    assert reference_class_balanced_weights([7, 3, 1], 0.0).tolist() == [1.0, 1.0, 1.0]
    assert reference_adjustment([3, 1], 1.0).tolist() == pytest.approx([math.log(0.75), math.log(0.25)], rel=1e-15)
    assert reference_adjustment([3, 1], 2.0).tolist() == pytest.approx([2 * math.log(0.75), 2 * math.log(0.25)])


def test_reference_weights_agree_with_the_rules_module() -> None:
    """Two independent writings of each formula (params: stdlib, expm1; reference: numpy powers)."""
    counts = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    for beta in (0.0, 0.9, 0.999, 0.9999):
        np.testing.assert_allclose(params.class_balanced_weights(counts, beta),
                                   reference_class_balanced_weights(counts, beta), rtol=1e-9)
    for tau in (0.0, 0.5, 1.0):
        # params gives tau * log(n_c), the reference tau * log(n_c / N): they differ by the constant tau * log(N)
        diff = np.asarray(params.logit_adjustment(counts, tau)) - reference_adjustment(counts, tau)
        np.testing.assert_allclose(diff, tau * math.log(sum(counts)), rtol=1e-12, atol=1e-12)


def test_targets_and_smoothing_by_hand() -> None:
    assert reference_targets(np.array([[1], [0]]), 2).tolist() == [[0.0, 1.0], [1.0, 0.0]]
    assert reference_targets(np.array([0]), 2, epsilon=0.2)[0].tolist() == pytest.approx([0.9, 0.1])
    probs = np.array([[0.3, 0.7]], dtype=np.float32)
    assert reference_targets(probs, 2)[0].tolist() == pytest.approx([0.3, 0.7])


def test_cs_ce_by_hand() -> None:
    # weights [0.1, 1.0] for counts [10, 1]
    assert reference_loss(LOGITS, LABELS, [10, 1], reduction="none").tolist() == pytest.approx([CE[0], 0.1 * CE[1]])
    assert float(reference_loss(LOGITS, LABELS, [10, 1], reduction="sum")) == pytest.approx(CE[0] + 0.1 * CE[1])
    assert float(reference_loss(LOGITS, LABELS, [10, 1])) == pytest.approx((CE[0] + 0.1 * CE[1]) / 1.1)
    assert float(reference_loss(LOGITS, LABELS, [10, 1], weighted=False)) == pytest.approx(sum(CE) / 2)


def test_class_balanced_by_hand() -> None:
    loss, _ = reference_for(CLASS_BALANCED, LOGITS, LABELS, [1, 2], 0.5)  # weights [1.2, 0.8]
    assert float(loss) == pytest.approx((0.8 * CE[0] + 1.2 * CE[1]) / 2.0)


def test_balanced_softmax_by_hand() -> None:
    # counts [3, 1], tau 1: logits [0, 0] become [log 3/4, log 1/4], softmax [3/4, 1/4]
    zero = np.zeros((2, 2))
    loss, _ = reference_for(BALANCED_SOFTMAX, zero, LABELS, [3, 1], 1.0, reduction="none")
    assert loss.tolist() == pytest.approx([math.log(4.0), math.log(4.0 / 3.0)])
    mean, _ = reference_for(BALANCED_SOFTMAX, zero, LABELS, [3, 1], 1.0)
    assert float(mean) == pytest.approx((math.log(4.0) + math.log(4.0 / 3.0)) / 2)  # the plain mean
    plain, _ = reference_for(BALANCED_SOFTMAX, zero, LABELS, [3, 1], 1.0, switched=False)
    assert float(plain) == pytest.approx(math.log(2.0))
    # smoothing by hand: epsilon 0.2 on class 1 -> target [0.1, 0.9]
    smooth, _ = reference_for(BALANCED_SOFTMAX, zero[:1], LABELS[:1], [3, 1], 1.0, epsilon=0.2)
    assert float(smooth) == pytest.approx(-(0.1 * math.log(0.75) + 0.9 * math.log(0.25)))


def test_strength_zero_is_plain_cross_entropy() -> None:
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(9, 4)), rng.integers(0, 4, 9)
    plain = float(reference_loss(logits, labels, [9, 5, 2, 1], weighted=False))
    for name in (COST_SENSITIVE, CLASS_BALANCED, BALANCED_SOFTMAX):
        assert float(reference_for(name, logits, labels, [9, 5, 2, 1], 0.0)[0]) == pytest.approx(plain, rel=1e-14)


def test_unknown_loss_is_refused() -> None:
    with pytest.raises(ValueError, match="no reference"):
        reference_for("FocalLoss", LOGITS, LABELS, [1, 1], 1.0)


@pytest.mark.parametrize("name, strength", [(COST_SENSITIVE, 0.7), (CLASS_BALANCED, 0.99), (BALANCED_SOFTMAX, 1.3)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("soft, epsilon", [(False, None), (False, 0.1), (True, None), (True, 0.05)])
@pytest.mark.parametrize("switched", [True, False])
def test_gradient_matches_finite_differences(name: str, strength: float, reduction: str, soft: bool,
                                             epsilon: float, switched: bool) -> None:
    rng = np.random.default_rng(1)
    counts = [40, 12, 5, 1]
    logits = rng.normal(scale=2.0, size=(5, 4))
    label = rng.dirichlet(np.ones(4), size=5) if soft else rng.integers(0, 4, size=5)

    def value(x: np.ndarray) -> float:
        return float(np.sum(reference_for(name, x, label, counts, strength, epsilon, reduction, switched)[0]))

    numeric = np.zeros_like(logits)
    for index in np.ndindex(*logits.shape):
        plus, minus = logits.copy(), logits.copy()
        plus[index] += 1e-6
        minus[index] -= 1e-6
        numeric[index] = (value(plus) - value(minus)) / 2e-6
    analytic = reference_for(name, logits, label, counts, strength, epsilon, reduction, switched)[1]
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    if name == COST_SENSITIVE and switched and reduction != "none":
        np.testing.assert_allclose(reference_grad(logits, label, counts, strength, epsilon, reduction), analytic)
