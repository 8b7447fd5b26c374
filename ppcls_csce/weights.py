"""From counted images to the per-class table of a loss (weights, or the logit adjustment): class count, empty
classes, imbalance, shot groups."""

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from .counts import shot_groups
from .errors import CsceError, ProblemsError
from . import params
from .report import ERROR, note
from .scanner import SHOWN_PROBLEMS, ListCounts, scan_lists


@dataclass(frozen=True)
class WeightTable:
    num_class_list: List[int]
    strength: float  # the loss's gamma, beta or tau (params.LOSSES[loss].strength names it)
    weights: List[float]  # per class: the loss's weights, or its logit adjustment tau * log(n_c)
    clamped: List[int]  # classes with no images, counted as 1 on request
    loss: str = params.LOSS_NAME

    @property
    def spec(self) -> params.LossSpec:
        return params.LOSSES[self.loss]

    @property
    def gamma(self) -> float:
        """The strength under CostSensitiveCE's name (the table of the seed's loss)."""
        return self.strength

    @property
    def column(self) -> str:
        """What the per-class values are: 'weight' or 'adjustment'."""
        return "weight" if self.spec.weighted else "adjustment"

    @property
    def samples(self) -> int:
        return sum(self.num_class_list) - len(self.clamped)

    @property
    def imbalance_ratio(self) -> float:
        return max(self.num_class_list) / min(self.num_class_list)

    def shots(self) -> Dict[str, List[int]]:
        """The shot groups of the classes (counts.shot_groups, the one rule LongTailAcc uses too)."""
        return shot_groups(self.num_class_list)

    def summary(self) -> str:
        return (
            f"{len(self.num_class_list)} classes, {self.samples} samples, "
            f"imbalance ratio {self.imbalance_ratio:.4g} (N_max {max(self.num_class_list)} / N_min {min(self.num_class_list)}), "
            f"{self.column}s {min(self.weights):.4g} .. {max(self.weights):.4g} "
            f"({self.spec.strength} {self.strength:g})"
        )


def _names(labels: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(label) for label in labels[:limit])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > limit else "")


@dataclass(frozen=True)
class ClassCountOrigin:
    """Where a class count came from (a config key), so that a message about it can point there."""

    path: str
    line: Optional[int]
    column: Optional[int]
    key: str  # Arch.class_num, Arch.Head.class_num


def build_table(counts: ListCounts, class_num: Optional[int], gamma: float, clamp_empty: bool = False,
                sources: str = "the train list", origin: Optional[ClassCountOrigin] = None,
                loss: str = params.LOSS_NAME) -> WeightTable:
    """The per-class values of `loss` (strength `gamma`: its gamma, beta or tau) for classes 0..K-1; a class
    without images is an error unless clamped to 1."""
    if counts.samples == 0:
        raise CsceError("no samples: the list is empty (or has only blank lines)", path=sources, rule="list-classes")
    total = class_num if class_num is not None else max(counts.counts) + 1
    empty = [label for label in range(total) if counts.counts.get(label, 0) == 0] if len(counts.counts) < total else []
    if empty and not clamp_empty:
        plural = len(empty) > 1
        what = (f"class{'es' if plural else ''} {_names(empty)} of {total} ha{'ve' if plural else 's'} no training "
                "images in it: the weight would be infinite")
        if origin is None:
            how = ("--class-num sets K" if class_num is not None else "K is its largest label + 1") +                   "; fix the list or --class-num, or pass --clamp-empty to count them as 1 image"
            raise CsceError(f"{what} ({how})", path=sources, rule="list-classes")
        listed = max(counts.counts) + 1
        raise CsceError(
            f"{origin.key} is {total}, but {sources} has labels 0..{listed - 1}, so {what}; to train on the "
            f"{listed} classes of the list: --class-num {listed} (gen --write sets {origin.key} too), or fix the list, "
            "or pass --clamp-empty to count them as 1 image",
            path=origin.path, line=origin.line, column=origin.column, rule="csce-class-count",
        )
    num_class_list = [max(counts.counts.get(label, 0), 1) for label in range(total)]
    spec = params.loss_spec(loss)
    return WeightTable(num_class_list, gamma, spec.per_class(num_class_list, gamma), empty, loss)


def table_from_lists(paths: Sequence[str], delimiter: str = " ", class_num: Optional[int] = None,
                     gamma: float = 1.0, clamp_empty: bool = False,
                     origin: Optional[ClassCountOrigin] = None, loss: str = params.LOSS_NAME) -> WeightTable:
    """Scan the train lists (every bad line fails, each with its place; a file given twice, under any name, is the
    scanner's error) and weigh the classes."""
    counts = scan_lists(paths, delimiter=delimiter, class_num=class_num)
    if counts.problem_total:
        problems = list(counts.problems[:SHOWN_PROBLEMS])
        hidden = counts.problem_total - len(problems)
        if hidden > 0:
            problems.append(note(f"... and {hidden} more bad line{'s' if hidden > 1 else ''}", problems[-1].path,
                                 problems[-1].rule, severity=ERROR))
        raise ProblemsError(problems)
    return build_table(counts, class_num, gamma, clamp_empty, ", ".join(map(str, paths)), origin, loss)
