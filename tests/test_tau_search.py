"""The tau search: its curve against a float64 numpy loop written here, ties, classes without held-out images."""

from typing import List, Optional

import numpy as np
import pytest

from ppcls_csce import adjust, tau_search

COUNTS = np.array([900, 300, 100, 30, 10, 3], dtype=np.float64)
C = len(COUNTS)


def reference_curve(logits: np.ndarray, labels: np.ndarray, method: str, bias: np.ndarray, weight: np.ndarray,
                    taus: List[float]) -> List[Optional[float]]:
    """Balanced accuracy of every tau, from the definitions: float64, one image at a time, one class at a time."""
    log_prior = np.log(COUNTS / COUNTS.sum())
    norms = np.sqrt((weight.astype(np.float64) ** 2).sum(axis=0))
    curve = []
    for tau in taus:
        right = {c: 0 for c in range(C)}
        seen = {c: 0 for c in range(C)}
        for row, label in zip(logits.astype(np.float64), labels):
            if method == adjust.LOGIT_ADJUST:
                scores = [row[c] - tau * log_prior[c] for c in range(C)]
            else:
                scores = [(row[c] - bias[c]) / norms[c] ** tau for c in range(C)]
            seen[int(label)] += 1
            right[int(label)] += int(int(np.argmax(scores)) == label)
        recalls = [right[c] / seen[c] for c in range(C) if seen[c]]
        curve.append(sum(recalls) / len(recalls))
    return curve


def _data(seed: int, n: int = 600):
    rng = np.random.default_rng(seed)
    weight = rng.normal(size=(16, C)) * np.array([2.0, 1.6, 1.3, 1.0, 0.8, 0.6])
    bias = rng.normal(scale=0.5, size=C)
    labels = rng.integers(0, C, size=n)
    logits = rng.normal(size=(n, C)) * 2.0 + 2.5 * np.eye(C)[labels] + 0.7 * np.log(COUNTS / COUNTS.sum())
    return logits.astype(np.float32), labels, bias, weight


@pytest.mark.parametrize("method", adjust.METHODS)
def test_curve_equals_a_float64_loop(method: str) -> None:
    logits, labels, bias, weight = _data(1)
    head = adjust.Classifier("fc.bias", "fc.weight", bias, weight)
    log_prior = np.log(COUNTS / COUNTS.sum())
    curve = tau_search.search(logits, labels, lambda tau: adjust.affine(method, tau, log_prior, head),
                              center=adjust.center(method, head))
    assert curve.taus == [round(0.05 * i, 2) for i in range(41)] and curve.missing == []
    np.testing.assert_allclose(curve.balanced, reference_curve(logits, labels, method, bias, weight, curve.taus),
                               rtol=0, atol=1e-12)
    assert curve.tau == curve.taus[int(np.argmax(curve.balanced))]
    assert max(curve.balanced) > curve.balanced[0 if method == adjust.LOGIT_ADJUST else 1]  # something to choose
    np.testing.assert_allclose(curve.top1[curve.best], np.mean(
        tau_search.predictions(logits, *adjust.affine(method, curve.tau, log_prior, head))[0] == labels))


def test_block_boundaries_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    logits, labels, bias, weight = _data(2, n=1000)
    head = adjust.Classifier("fc.bias", "fc.weight", bias, weight)
    log_prior = np.log(COUNTS / COUNTS.sum())
    whole = tau_search.search(logits, labels, lambda tau: adjust.affine(adjust.TAU_NORM, tau, log_prior, head))
    monkeypatch.setattr(tau_search, "_BLOCK", 7)
    blocks = tau_search.search(logits, labels, lambda tau: adjust.affine(adjust.TAU_NORM, tau, log_prior, head),
                               center=bias)
    assert blocks.balanced == whole.balanced and blocks.top1 == whole.top1


def test_classes_without_held_out_images_are_named_and_left_out() -> None:
    logits, labels, bias, weight = _data(3)
    keep = labels < 4  # classes 4 and 5 have no image
    logits, labels = logits[keep], labels[keep]
    head = adjust.Classifier("fc.bias", "fc.weight", bias, weight)
    log_prior = np.log(COUNTS / COUNTS.sum())
    curve = tau_search.search(logits, labels, lambda tau: adjust.affine(adjust.LOGIT_ADJUST, tau, log_prior, head))
    assert curve.missing == [4, 5]
    np.testing.assert_allclose(curve.balanced, reference_curve(logits, labels, adjust.LOGIT_ADJUST, bias, weight,
                                                               curve.taus), atol=1e-12)


def test_a_tie_chooses_the_smallest_tau_and_the_table_marks_it() -> None:
    logits = np.array([[5.0, 0.0], [0.0, 5.0]], np.float32)  # right at every tau of the grid
    curve = tau_search.search(logits, np.array([0, 1]), lambda tau: (np.ones(2), np.array([0.0, 0.1 * tau])))
    assert set(curve.balanced) == {1.0} and curve.tau == 0.0
    text = tau_search.table(curve, "logit-adjust")
    assert text.splitlines()[0] == ("logit-adjust: balanced accuracy on the held-out data over tau = 0, 0.05, ..., "
                                    "2.0 (41 values)")
    assert text.splitlines()[2] == "  0.00   100.00%  100.00%  <- chosen" and text.count("chosen") == 1
