"""The numbers of a per-class report, from logits and labels alone (numpy only, no paddle, no files).

Definitions (stated once; report.md repeats them):
- prediction: argmax of the logits; top-1: the share of images predicted right;
- recall of a class: right / its evaluation images (undefined without images); precision: right / predicted as
  it (undefined when nothing is); F1 = 2 TP / (2 TP + FP + FN);
- balanced accuracy and macro-F1: the mean recall and F1 over the classes that have evaluation images (as
  LongTailAcc does); many/medium/few-shot accuracy: the mean recall over each group of counts.shot_groups
  (the one definition, shared with stats and LongTailAcc), its classes without evaluation images left out;
- ECE (Guo et al., ICML 2017): confidence = the top softmax probability; 15 equal-width bins, bin m holding
  confidences in ((m-1)/15, m/15]; ECE = sum over bins of |bin| / N * |accuracy(bin) - mean confidence(bin)|.
Memory: the confusion matrix (C x C int64) and a few arrays of length N; the softmax is never formed whole.
"""

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .counts import SHOT_GROUPS, shot_groups, shot_rule

ECE_BINS = 15
CONFUSED_SHOWN = 3  # the classes a class is most often taken for, per row
_CHUNK = 8192  # rows of logits turned into confidences at a time (float64)


@dataclass
class Reliability:
    """Per bin: images, mean confidence and accuracy (nan for an empty bin)."""

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray


@dataclass
class ClassReport:
    """Every figure of one model on one list."""

    class_num: int
    images: int
    top1: float
    balanced_acc: float
    macro_f1: float
    ece: float
    confusion: np.ndarray  # [C, C] int64: row = true class, column = predicted
    eval_count: np.ndarray
    predicted_count: np.ndarray
    correct: np.ndarray
    precision: np.ndarray  # nan where undefined
    recall: np.ndarray
    f1: np.ndarray
    confused_with: List[List[Tuple[int, int]]]
    reliability: Reliability
    train_counts: Optional[np.ndarray] = None
    shot_acc: Dict[str, float] = field(default_factory=dict)
    shot_classes: Dict[str, List[int]] = field(default_factory=dict)
    shot_rule: str = ""


def confidences(logits: np.ndarray) -> np.ndarray:
    """The top softmax probability of each row, 1 / sum_j exp(z_j - max z), in float64, a chunk at a time."""
    out = np.empty(logits.shape[0], dtype=np.float64)
    for start in range(0, logits.shape[0], _CHUNK):
        block = logits[start:start + _CHUNK].astype(np.float64)
        block -= block.max(axis=1, keepdims=True)
        out[start:start + _CHUNK] = 1.0 / np.exp(block).sum(axis=1)
    return out


def reliability(confidence: np.ndarray, right: np.ndarray, bins: int = ECE_BINS) -> Reliability:
    """Guo et al.'s equal-width bins: bin m (from 1) holds confidences in ((m-1)/bins, m/bins]."""
    index = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, weights=confidence, minlength=bins) / count
        accuracy = np.bincount(index, weights=right.astype(np.float64), minlength=bins) / count
    return Reliability(np.linspace(0.0, 1.0, bins + 1), count, mean_conf, accuracy)


def expected_calibration_error(table: Reliability) -> float:
    total = table.count.sum()
    filled = table.count > 0
    if not total:
        return math.nan
    return float((table.count[filled] / total * np.abs(table.accuracy[filled] - table.confidence[filled])).sum())


def _most_confused(confusion: np.ndarray, shown: int = CONFUSED_SHOWN) -> List[List[Tuple[int, int]]]:
    """Per true class, the (predicted class, images) it is most often taken for: most first, ties by class."""
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    result = []
    for row in off:
        nonzero = np.flatnonzero(row)
        order = nonzero[np.lexsort((nonzero, -row[nonzero]))][:shown]
        result.append([(int(label), int(row[label])) for label in order])
    return result


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else math.nan


def build(logits: np.ndarray, labels: np.ndarray, train_counts: Optional[Sequence[int]] = None) -> ClassReport:
    """Every figure from [N, C] logits and [N] labels in 0..C-1 (checked by the caller: logits.py, evaluate.py)."""
    logits = np.asarray(logits)
    labels = np.asarray(labels, dtype=np.int64)
    n, class_num = logits.shape
    predicted = logits.argmax(axis=1)
    confusion = np.bincount(labels * class_num + predicted, minlength=class_num * class_num)
    confusion = confusion.reshape(class_num, class_num).astype(np.int64)
    correct = np.diagonal(confusion).copy()
    eval_count = confusion.sum(axis=1)
    predicted_count = confusion.sum(axis=0)
    seen = eval_count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(seen, correct / np.maximum(eval_count, 1), np.nan)
        precision = np.where(predicted_count > 0, correct / np.maximum(predicted_count, 1), np.nan)
        denominator = eval_count + predicted_count  # 2 TP + FP + FN
        f1 = np.where(denominator > 0, 2.0 * correct / np.maximum(denominator, 1), np.nan)
    right = predicted == labels
    table = reliability(confidences(logits), right)
    report = ClassReport(
        class_num=class_num, images=n, top1=float(right.mean()) if n else math.nan,
        balanced_acc=_mean(recall[seen]), macro_f1=_mean(f1[seen]), ece=expected_calibration_error(table),
        confusion=confusion, eval_count=eval_count, predicted_count=predicted_count, correct=correct,
        precision=precision, recall=recall, f1=f1, confused_with=_most_confused(confusion), reliability=table)
    if train_counts is not None:
        counts = np.asarray(train_counts, dtype=np.int64)
        report.train_counts = counts
        if counts.sum() > 0:
            groups = shot_groups([int(count) for count in counts])
            report.shot_classes = groups
            report.shot_rule = shot_rule([int(count) for count in counts])
            for name in SHOT_GROUPS:
                index = np.asarray(groups[name], dtype=np.int64)
                index = index[seen[index]] if index.size else index
                report.shot_acc[name] = _mean(recall[index])
    return report


def count_order(report: ClassReport) -> np.ndarray:
    """Classes by training count, most first (ties by class id); by class id when the counts are unknown."""
    if report.train_counts is None:
        return np.arange(report.class_num)
    return np.lexsort((np.arange(report.class_num), -report.train_counts))


def most_confused_classes(report: ClassReport, limit: int) -> np.ndarray:
    """The `limit` classes with the most misclassified images (as true class plus as predicted class), in
    training-count order: the part of a large confusion matrix worth a picture."""
    if report.class_num <= limit:
        return count_order(report)
    errors = (report.eval_count - report.correct) + (report.predicted_count - report.correct)
    chosen = set(np.lexsort((np.arange(report.class_num), -errors))[:limit].tolist())
    return np.array([label for label in count_order(report) if label in chosen], dtype=np.int64)
