"""The report's numbers against an independent float64 computation written here from the definitions (plain
loops over images, a full softmax, sklearn-free), on random logits with ties, empty classes and a long tail."""

import math
from typing import Dict, List

import numpy as np
import pytest

from ppcls_csce.classreport import build, count_order, most_confused_classes
from ppcls_csce.counts import shot_groups


def _reference(logits: np.ndarray, labels: np.ndarray, counts: List[int]) -> Dict[str, object]:
    x = logits.astype(np.float64)
    n, c = x.shape
    confusion = np.zeros((c, c), dtype=np.int64)
    for i in range(n):
        best = 0
        for j in range(1, c):  # the first largest logit, as argmax
            if x[i, j] > x[i, best]:
                best = j
        confusion[labels[i], best] += 1
    recall, precision, f1 = [], [], []
    for k in range(c):
        tp = confusion[k, k]
        fn = sum(confusion[k, j] for j in range(c) if j != k)
        fp = sum(confusion[j, k] for j in range(c) if j != k)
        recall.append(tp / (tp + fn) if tp + fn else math.nan)
        precision.append(tp / (tp + fp) if tp + fp else math.nan)
        f1.append(2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else math.nan)
    present = [k for k in range(c) if confusion[k].sum() > 0]
    softmax = np.exp(x - x.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    confidence = softmax.max(axis=1)
    right = np.array([x[i].argmax() == labels[i] for i in range(n)])
    ece = 0.0
    for m in range(1, 16):
        lo, hi = (m - 1) / 15, m / 15
        members = [i for i in range(n) if lo < confidence[i] <= hi]
        if members:
            acc = sum(right[i] for i in members) / len(members)
            conf = sum(confidence[i] for i in members) / len(members)
            ece += len(members) / n * abs(acc - conf)
    groups = shot_groups(counts)
    shot = {name: float(np.mean([recall[k] for k in groups[name] if k in present])) if
            any(k in present for k in groups[name]) else math.nan for name in groups}
    return {"confusion": confusion, "recall": recall, "precision": precision, "f1": f1,
            "top1": sum(confusion[k, k] for k in range(c)) / n,
            "balanced": float(np.mean([recall[k] for k in present])),
            "macro_f1": float(np.mean([f1[k] for k in present])), "ece": ece, "shot": shot}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_figure_equals_the_float64_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = 12
    counts = [int(300 * 0.6 ** k) + 1 for k in range(c)]
    labels = rng.integers(0, c - 2, size=400)  # the last two classes have no evaluation images
    logits = rng.normal(size=(400, c)).astype(np.float32) * 2
    logits[np.arange(400), labels] += rng.uniform(0, 3, size=400).astype(np.float32)  # some right, some not
    logits[:5, :] = 0.0  # ties: argmax takes the first
    logits[5:8, 3] = 50.0  # near-certain confidences (the top bin)
    report = build(logits, labels, counts)
    expected = _reference(logits, labels, counts)
    np.testing.assert_array_equal(report.confusion, expected["confusion"])
    np.testing.assert_allclose(report.recall, expected["recall"], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(report.precision, expected["precision"], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(report.f1, expected["f1"], rtol=1e-12, equal_nan=True)
    assert report.top1 == pytest.approx(expected["top1"], abs=1e-12)
    assert report.balanced_acc == pytest.approx(expected["balanced"], abs=1e-12)
    assert report.macro_f1 == pytest.approx(expected["macro_f1"], abs=1e-12)
    assert report.ece == pytest.approx(expected["ece"], abs=1e-9)
    for name, value in expected["shot"].items():
        assert report.shot_acc[name] == pytest.approx(value, abs=1e-12, nan_ok=True)
    assert report.reliability.count.sum() == 400


def test_the_most_confused_with_and_the_orders() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 2, 2, 1, 0, 0, 2])
    logits = np.eye(3, dtype=np.float32)[predicted]
    report = build(logits, labels, [5, 50, 20])
    assert report.confused_with[0] == [(2, 2), (1, 1)]  # most first
    assert report.confused_with[1] == [(0, 2)] and report.confused_with[2] == []
    assert count_order(report).tolist() == [1, 2, 0]
    # errors per class: 0: 3 missed + 2 taken for it = 5; 1: 2 + 1 = 3; 2: 0 + 2 = 2 -> the top two in count order
    assert most_confused_classes(report, 2).tolist() == [1, 0]
    assert build(logits, labels).shot_acc == {}


def test_a_perfect_confident_model_has_zero_ece_and_full_scores() -> None:
    labels = np.arange(5).repeat(3)
    logits = np.eye(5, dtype=np.float32)[labels] * 100
    report = build(logits, labels, [10, 10, 10, 10, 10])
    assert report.top1 == report.balanced_acc == report.macro_f1 == 1.0
    assert report.ece == pytest.approx(0.0, abs=1e-12)
