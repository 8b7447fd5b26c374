"""Formulas on class counts, stated once: sampling probabilities, the progressive schedule, shot groups; and
the parameter names of LongTailSampler and LongTailAcc.

Both sides use them: the sampler and the metric that `install` writes into PaddleClas (where this file
is inlined, so: standard library only, no relative imports) and the config tools (which never load numpy).
"""

import math
import numbers
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

# ImageNet-LT's convention (Liu et al., CVPR 2019): many-shot > 100 training images, medium 20..100,
# few-shot < 20.
MANY_SHOT_ABOVE = 100
FEW_SHOT_BELOW = 20
SHOT_GROUPS = ("many", "medium", "few")

# What a config may give each plugin: validate's sampler-params and metric-params rules check entries against
# these without importing paddle; a test holds the constructors' signatures to them.
SAMPLER_KEYS = ("batch_size", "shuffle", "drop_last", "power", "progressive", "start_epoch", "total_epochs", "seed",
                "num_replicas", "rank")  # LongTailSampler's parameters after `dataset` (PaddleClas passes that)
METRIC_KEYS = ("num_class_list", "best", "sum_over_ranks")  # LongTailAcc's parameters
METRIC_FIGURES = ("top1", "balanced_acc", "many_acc", "medium_acc", "few_acc")  # LongTailAcc's figures (and `best`)


class CountsError(ValueError):
    """Class counts or a sampling parameter that cannot work; the message says which and why."""


def _check_counts(counts: Sequence[int]) -> List[int]:
    values = list(counts)
    if not values:
        raise CountsError("no classes: the class counts are empty")
    for label, count in enumerate(values):
        if not _whole(count) and not (isinstance(count, float) and count.is_integer()) or count < 0:
            raise CountsError(f"class {label} has count {count!r}: counts are whole numbers >= 0")
    if sum(values) == 0:
        raise CountsError("no images: every class count is 0")
    return [int(count) for count in values]


def check_power(power: object) -> float:
    """The exponent of n_c: 1.0 instance-balanced, 0.5 square-root, 0.0 class-balanced."""
    if isinstance(power, bool) or not isinstance(power, numbers.Real) or not math.isfinite(power) or power < 0:
        raise CountsError(
            f"power must be a number >= 0 (1.0 instance-balanced, 0.5 square-root, 0.0 class-balanced), got {power!r}"
        )
    return float(power)


def _empty_class_problem(counts: List[int], why: str) -> None:
    empty = [label for label, count in enumerate(counts) if count == 0]
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (f", ... ({len(empty)} in all)" if len(empty) > 10 else "")
        raise CountsError(f"class{'es' if len(empty) > 1 else ''} {shown} ha{'ve' if len(empty) > 1 else 's'} "
                          f"no images, so {why} cannot draw {'them' if len(empty) > 1 else 'it'}")


def sampling_probabilities(counts: Sequence[int], power: float) -> List[float]:
    """p_c proportional to n_c^power (Kang et al., ICLR 2020); a class with no images is an error at power 0."""
    values = _check_counts(counts)
    power = check_power(power)
    if power == 0:
        _empty_class_problem(values, "class-balanced sampling (power 0)")
    weights = [float(count) ** power if count else 0.0 for count in values]
    total = math.fsum(weights)
    return [weight / total for weight in weights]


def progressive_probabilities(counts: Sequence[int], t: float, total: float) -> List[float]:
    """p_c(t) = (1 - t/T) n_c/N + (t/T)/C: instance-balanced at t = 0, class-balanced at t = T."""
    values = _check_counts(counts)
    if isinstance(total, bool) or not isinstance(total, numbers.Real) or not total > 0:
        raise CountsError(f"progressive sampling needs total_epochs > 0, got {total!r}")
    if not 0 <= t <= total:
        raise CountsError(f"progressive sampling: t must be within 0..{total}, got {t!r}")
    share = t / total
    if share > 0:
        _empty_class_problem(values, "progressively balanced sampling")
    n_all, n_classes = sum(values), len(values)
    return [(1 - share) * count / n_all + share / n_classes for count in values]


def check_start_epoch(start_epoch: object, total_epochs: Optional[int]) -> int:
    """E, the first re-sampled epoch, counted from 1 (as the loss's drw_start_epoch); 1 = from the start."""
    if isinstance(start_epoch, bool) or not isinstance(start_epoch, numbers.Integral) or int(start_epoch) < 1:
        raise CountsError(f"start_epoch must be a whole number >= 1 (the first re-sampled epoch), got {start_epoch!r}")
    if total_epochs is not None and int(start_epoch) > total_epochs:
        raise CountsError(f"start_epoch {start_epoch} is after the last epoch ({total_epochs}): nothing would be re-sampled")
    return int(start_epoch)


def epoch_probabilities(counts: Sequence[int], epoch: int, power: float = 1.0, progressive: bool = False,
                        start_epoch: int = 1, total_epochs: Optional[int] = None) -> List[float]:
    """The class probabilities of epoch `epoch` (counted from 1) under the whole schedule.

    Before start_epoch: instance-balanced. From start_epoch on: n_c^power, or, when progressive, the
    progressive schedule over the re-sampled epochs, t = epoch - start_epoch + 1 of T = total_epochs -
    start_epoch + 1 (so the last epoch is class-balanced, as in the reference code's `epoch / MAX_EPOCH`).
    """
    if epoch < check_start_epoch(start_epoch, total_epochs):
        return sampling_probabilities(counts, 1.0)
    if not progressive:
        return sampling_probabilities(counts, power)
    if total_epochs is None:
        raise CountsError("progressive sampling needs total_epochs (PaddleClas fills it from Global.epochs)")
    span = total_epochs - start_epoch + 1
    return progressive_probabilities(counts, min(epoch - start_epoch + 1, span), span)


def instance_balanced(epoch: int, power: float = 1.0, progressive: bool = False, start_epoch: int = 1) -> bool:
    """Whether epoch `epoch` draws with p_c = n_c / N, i.e. PaddleClas's usual one-pass shuffle."""
    return epoch < start_epoch or (not progressive and power == 1.0)


def _whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def sampler_problems(values: Mapping[str, Any], total_epochs: Optional[object] = None) -> List[Tuple[str, str]]:
    """(key, message) of each LongTailSampler parameter in `values` its constructor cannot honour ("" for the
    entry as a whole), with `total_epochs` as PaddleClas fills it (from Global.epochs). The one check: the
    constructor raises the first; validate's sampler-params rule reports all of them, before training starts."""
    found: List[Tuple[str, str]] = []
    for key in values:
        if key not in SAMPLER_KEYS:
            found.append((key, f"LongTailSampler has no parameter {key!r} (it takes {', '.join(SAMPLER_KEYS)})"))
    if "batch_size" in values and not (_whole(values["batch_size"]) and values["batch_size"] >= 1):
        found.append(("batch_size", f"LongTailSampler: batch_size must be a whole number >= 1, got {values['batch_size']!r}"))
    if values.get("shuffle", True) is not True:
        found.append(("shuffle", "LongTailSampler draws at random by design; shuffle: False cannot be honoured (set "
                                 "shuffle: True, or use DistributedBatchSampler for a fixed order)"))
    for key in ("drop_last", "progressive"):
        if key in values and not isinstance(values[key], bool):
            found.append((key, f"LongTailSampler: {key} must be true or false, got {values[key]!r}"))
    power, progressive = values.get("power"), values.get("progressive", False)
    if progressive is True and power is not None:
        found.append(("power", "LongTailSampler: give power or progressive: True, not both (progressive moves from "
                               "instance- to class-balanced by its own formula)"))
    elif progressive is not True and power is None:
        found.append(("", "LongTailSampler: give power (1.0 instance-balanced, 0.5 square-root, 0.0 class-balanced) "
                          "or progressive: True"))
    elif power is not None:
        try:
            check_power(power)
        except CountsError as error:
            found.append(("power", f"LongTailSampler: {error}"))
    epochs = total_epochs if _whole(total_epochs) and total_epochs >= 1 else None  # type: ignore[operator]
    if total_epochs is not None and epochs is None:
        found.append(("total_epochs", f"LongTailSampler: total_epochs must be a whole number >= 1, got {total_epochs!r}"))
    elif progressive is True and epochs is None:
        found.append(("progressive", "LongTailSampler: progressive: True needs total_epochs, the run's Global.epochs: "
                                     "PaddleClas release/2.5.1 and later fill it, older ones do not; write total_epochs: "
                                     "N in DataLoader.Train.sampler (csce-config gen --sampler progressive does)"))
    if "start_epoch" in values:
        try:
            check_start_epoch(values["start_epoch"], epochs)  # type: ignore[arg-type]
        except CountsError as error:
            found.append(("start_epoch", f"LongTailSampler: {error}"))
    for key in ("seed", "num_replicas", "rank"):
        if values.get(key) is not None and not _whole(values[key]):
            found.append((key, f"LongTailSampler: {key} must be a whole number, got {values[key]!r}"))
    return found


def metric_problems(values: Mapping[str, Any]) -> List[Tuple[Tuple[Any, ...], str]]:
    """(key path, message) of each LongTailAcc parameter in `values` it refuses: num_class_list the training counts
    (whole numbers >= 0, not all 0), `best` one of its figures, `sum_over_ranks` true or false, no other key. The
    one check: the constructor raises the first; validate's metric-params rule reports all of them."""
    found: List[Tuple[Tuple[Any, ...], str]] = []
    for key in values:
        if key not in METRIC_KEYS:
            found.append(((key,), f"LongTailAcc has no parameter {key!r} (it takes {', '.join(METRIC_KEYS)})"))
    counts = values.get("num_class_list")
    if isinstance(counts, (str, bytes)) or not isinstance(counts, Sequence):
        got = f"got {counts!r}" if "num_class_list" in values else "it is missing"
        found.append((("num_class_list",) if "num_class_list" in values else (),
                      f"LongTailAcc: num_class_list must be the list of training counts, {got}"))
    else:
        try:
            _check_counts(counts)
        except CountsError as error:
            bad = next((i for i, count in enumerate(counts) if not _whole(count) or count < 0), None)
            found.append((("num_class_list",) + ((bad,) if bad is not None else ()), f"LongTailAcc: num_class_list: {error}"))
    if "best" in values and values["best"] not in METRIC_FIGURES:
        found.append((("best",), f"LongTailAcc: best must be one of {', '.join(METRIC_FIGURES)}, got {values['best']!r}"))
    if "sum_over_ranks" in values and not isinstance(values["sum_over_ranks"], bool):
        found.append((("sum_over_ranks",),
                      f"LongTailAcc: sum_over_ranks must be true or false, got {values['sum_over_ranks']!r}"))
    return found


def _by_threshold(values: List[int]) -> Dict[str, List[int]]:
    groups: Dict[str, List[int]] = {name: [] for name in SHOT_GROUPS}
    for label, count in enumerate(values):
        groups["many" if count > MANY_SHOT_ABOVE else "few" if count < FEW_SHOT_BELOW else "medium"].append(label)
    return groups


def by_thresholds(counts: Sequence[int]) -> bool:
    """Whether shot_groups uses ImageNet-LT's thresholds for these counts (each group gets a class), not thirds."""
    return all(_by_threshold(_check_counts(counts)).values())


def shot_groups(counts: Sequence[int]) -> Dict[str, List[int]]:
    """The one shot-group rule (stats, LongTailAcc, the experiment's report): classes by training count, with
    ImageNet-LT's thresholds (many > 100, few < 20 images); when those leave a group empty (small or mildly
    imbalanced sets), thirds of the classes by count instead, most frequent first (ties by label), the first
    groups one larger when the classes do not split evenly."""
    values = _check_counts(counts)
    groups = _by_threshold(values)
    if all(groups.values()):
        return groups
    order = sorted(range(len(values)), key=lambda label: (-values[label], label))
    size, extra = divmod(len(values), 3)
    bounds, start = [], 0
    for index in range(3):
        end = start + size + (1 if index < extra else 0)
        bounds.append((start, end))
        start = end
    return {name: sorted(order[lo:hi]) for name, (lo, hi) in zip(SHOT_GROUPS, bounds)}


def shot_rule(counts: Sequence[int]) -> str:
    """Which rule shot_groups used, in words (for logs and reports)."""
    if by_thresholds(counts):
        return f"many > {MANY_SHOT_ABOVE}, medium {FEW_SHOT_BELOW}..{MANY_SHOT_ABOVE}, few < {FEW_SHOT_BELOW} training images"
    return "thirds of the classes by training count (the ImageNet-LT thresholds leave a group empty)"
