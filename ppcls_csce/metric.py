"""LongTailAcc: an eval metric for PaddleClas that shows the rare classes.

PaddleClas's eval loop (ppcls/engine/evaluation/classification.py) resets the metric, calls it once per
batch, prints `avg_info` (per batch and at the end) and keeps the model whose `avg` (the first meter of
the first Metric.Eval entry) is best. TopkAcc's meters average per-batch values; a balanced accuracy
cannot be averaged that way, so here each meter is a view over per-class counts accumulated since reset.
"""

import logging
import math
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import paddle
from paddle import nn

from .counts import METRIC_FIGURES, SHOT_GROUPS, CountsError, metric_problems, shot_groups, shot_rule

_log = logging.getLogger("ppcls")
KEYS = METRIC_FIGURES  # named in counts.py, where validate checks `best` against them too (no `as`: install inlines)


class MetricError(CountsError):
    """A LongTailAcc config that cannot work, found at construction."""


class _CountMeter:
    """Looks like PaddleClas's AverageMeter to the engine (name, avg, avg_info), computed from counts."""

    def __init__(self, name: str, metric: "LongTailAcc") -> None:
        self.name, self._metric = name, metric

    @property
    def avg(self) -> float:
        return self._metric.values()[self.name]

    val = avg

    @property
    def avg_info(self) -> str:
        return f"{self.name}: {self.avg:.5f}"


class LongTailAcc(nn.Layer):
    """Top-1, balanced accuracy (mean per-class recall over the classes that have test images) and
    many/medium/few-shot accuracy (mean recall over each group's classes), from the training counts.

    `best` names the figure printed first, which PaddleClas uses to pick best_model (put LongTailAcc
    first in Metric.Eval). PaddleClas's eval loop already all-gathers predictions over ranks, so every
    rank sees every sample; `sum_over_ranks: True` is for loops that do not (each rank its own share).
    """

    def __init__(self, num_class_list: Sequence[int], best: str = "balanced_acc", sum_over_ranks: bool = False) -> None:
        super().__init__()
        problems = metric_problems({"num_class_list": num_class_list, "best": best, "sum_over_ranks": sum_over_ranks})
        if problems:  # the check validate's metric-params rule makes too
            raise MetricError(problems[0][1])
        self.groups = shot_groups(list(num_class_list))
        self.rule = shot_rule(list(num_class_list))
        self.num_classes = len(num_class_list)
        self.best, self.sum_over_ranks = best, sum_over_ranks
        self._group_index = {name: np.asarray(self.groups[name], dtype=np.int64) for name in SHOT_GROUPS}
        self.avg_meters = {key: _CountMeter(key, self) for key in (best,) + tuple(k for k in KEYS if k != best)}
        self.reset()
        _log.info("LongTailAcc: %d classes, shot groups by %s: %s", self.num_classes, self.rule,
                  ", ".join(f"{name} {len(self.groups[name])}" for name in SHOT_GROUPS))

    def reset(self) -> None:
        self.total = np.zeros(self.num_classes, dtype=np.int64)  # test images per class
        self.correct = np.zeros(self.num_classes, dtype=np.int64)  # of those, top-1 right
        self._cache: Optional[Dict[str, float]] = None

    def update(self, total: np.ndarray, correct: np.ndarray) -> None:
        """Add per-class counts (one batch's, or another rank's)."""
        self.total += total
        self.correct += correct
        self._cache = None

    def batch_counts(self, x: Any, label: Any) -> Tuple[np.ndarray, np.ndarray]:
        """(total, correct) per class for one batch of logits and int labels."""
        if isinstance(x, dict):
            x = x["logits"]
        labels = np.asarray(label.numpy() if isinstance(label, paddle.Tensor) else label).reshape(-1)
        predicted = np.asarray(paddle.argmax(x, axis=-1).numpy()).reshape(-1)
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            bad = int(labels.min() if labels.min() < 0 else labels.max())
            raise MetricError(f"LongTailAcc: label {bad} is outside 0..{self.num_classes - 1} (num_class_list has "
                              f"{self.num_classes} classes)")
        labels = labels.astype(np.int64)
        total = np.bincount(labels, minlength=self.num_classes)
        correct = np.bincount(labels[predicted == labels], minlength=self.num_classes)
        return total, correct

    def forward(self, x: Any, label: Any) -> Dict[str, float]:
        total, correct = self.batch_counts(x, label)
        if self.sum_over_ranks and paddle.distributed.get_world_size() > 1:
            both = paddle.to_tensor(np.stack([total, correct]))
            paddle.distributed.all_reduce(both)
            total, correct = both.numpy()
        self.update(total, correct)
        return self.values()  # the running figures since reset (what the eval log prints)

    def values(self) -> Dict[str, float]:
        """The figures over everything since reset; nan where nothing is defined yet (no test images)."""
        if self._cache is None:
            seen = self.total > 0  # classes with no test images have no recall: left out of every mean
            recall = np.divide(self.correct, self.total, out=np.zeros(self.num_classes), where=seen)
            values = {"top1": self.correct.sum() / self.total.sum() if self.total.sum() else math.nan,
                      "balanced_acc": recall[seen].mean() if seen.any() else math.nan}
            for name in SHOT_GROUPS:
                index = self._group_index[name]
                index = index[seen[index]]
                values[f"{name}_acc"] = recall[index].mean() if index.size else math.nan
            self._cache = {key: float(value) for key, value in values.items()}
        return self._cache

    @property
    def avg(self) -> float:
        return self.avg_meters[self.best].avg

    @property
    def avg_info(self) -> str:
        return ", ".join(meter.avg_info for meter in self.avg_meters.values())


__all__ = ["LongTailAcc"]  # what install imports into ppcls/metric/__init__.py
