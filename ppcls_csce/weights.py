"""From counted images to the CS_CE weight table: class count, empty classes, imbalance, shot groups."""

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from .counts import FEW_SHOT_BELOW, MANY_SHOT_ABOVE
from .errors import CsceError
from .params import class_weights
from .scanner import ListCounts, scan_lists


@dataclass(frozen=True)
class WeightTable:
    num_class_list: List[int]
    gamma: float
    weights: List[float]
    clamped: List[int]  # classes with no images, counted as 1 on request

    @property
    def samples(self) -> int:
        return sum(self.num_class_list) - len(self.clamped)

    @property
    def imbalance_ratio(self) -> float:
        return max(self.num_class_list) / min(self.num_class_list)

    def shots(self) -> Dict[str, List[int]]:
        groups: Dict[str, List[int]] = {"many": [], "medium": [], "few": []}
        for label, count in enumerate(self.num_class_list):
            key = "many" if count > MANY_SHOT_ABOVE else "few" if count < FEW_SHOT_BELOW else "medium"
            groups[key].append(label)
        return groups

    def summary(self) -> str:
        return (
            f"{len(self.num_class_list)} classes, {self.samples} samples, "
            f"imbalance ratio {self.imbalance_ratio:.4g} (N_max {max(self.num_class_list)} / N_min {min(self.num_class_list)}), "
            f"weights {min(self.weights):.4g} .. {max(self.weights):.4g} (gamma {self.gamma:g})"
        )


def _names(labels: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(label) for label in labels[:limit])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > limit else "")


def resolve_class_num(counts: ListCounts, class_num: Optional[int]) -> int:
    """The explicit or configured class count, else max label + 1."""
    if class_num is not None:
        return class_num
    if not counts.counts:
        raise CsceError("the train list has no samples")
    return max(counts.counts) + 1


def build_table(counts: ListCounts, class_num: Optional[int], gamma: float, clamp_empty: bool = False,
                sources: str = "the train list") -> WeightTable:
    """The weights for classes 0..K-1; a class without images is an error unless clamped to 1."""
    total = resolve_class_num(counts, class_num)
    if counts.samples == 0:
        raise CsceError(f"{sources}: no samples")
    empty = [label for label in range(total) if counts.counts.get(label, 0) == 0] if len(counts.counts) < total else []
    if empty and not clamp_empty:
        raise CsceError(
            f"{sources}: class{'es' if len(empty) > 1 else ''} {_names(empty)} of {total} "
            f"ha{'ve' if len(empty) > 1 else 's'} no training images: the weight would be infinite "
            "(fix the list or --class-num, or pass --clamp-empty to count them as 1 image)"
        )
    num_class_list = [max(counts.counts.get(label, 0), 1) for label in range(total)]
    return WeightTable(num_class_list, gamma, class_weights(num_class_list, gamma), empty)


def table_from_lists(paths: Sequence[str], delimiter: str = " ", class_num: Optional[int] = None,
                     gamma: float = 1.0, clamp_empty: bool = False) -> WeightTable:
    """Scan the train lists (any bad line fails, with its place) and weigh the classes."""
    counts = scan_lists(paths, delimiter=delimiter, class_num=class_num)
    counts.raise_on_problems()
    return build_table(counts, class_num, gamma, clamp_empty, sources=", ".join(map(str, paths)))
