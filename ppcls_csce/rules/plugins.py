"""The keys of LongTailSampler (DataLoader.Train.sampler) and LongTailAcc (Metric.*) entries, checked before
PaddleClas builds them: a bad key fails there only at train or eval time.

Stdlib only: the formulas' checks and the plugins' parameter names are counts.py's (the sampler and the metric
use the same ones), never sampler.py or metric.py, which import paddle and numpy.
"""

from typing import Any, Iterator, Tuple

from .. import counts, ppconfig
from ..report import Problem
from .base import ERROR, Context, Keys, Rule

METRIC_NAME = ppconfig.LONG_TAIL_METRIC


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sampler_problems(sampler: dict, epochs: Any) -> Iterator[Tuple[Keys, str]]:
    for key in sampler:
        if key != "name" and key not in counts.SAMPLER_KEYS:  # name: how PaddleClas finds the class
            yield (key,), f"LongTailSampler has no parameter {key!r} (it takes {', '.join(counts.SAMPLER_KEYS)})"
    for key in ("drop_last", "progressive"):
        if key in sampler and not isinstance(sampler[key], bool):
            yield (key,), f"LongTailSampler: {key} must be true or false, got {sampler[key]!r}"
    if "shuffle" in sampler and sampler["shuffle"] is not True:
        yield ("shuffle",), "LongTailSampler draws at random: shuffle must be True (or left out)"
    power, progressive = sampler.get("power"), sampler.get("progressive", False)
    if progressive is True and power is not None:
        yield ("power",), "LongTailSampler: give power or progressive: True, not both"
    elif progressive is not True and power is None:
        yield (), "LongTailSampler needs power (1.0 instance-balanced, 0.5 square-root, 0.0 class-balanced) or " \
                  "progressive: True"
    elif power is not None:
        try:
            counts.check_power(power)
        except counts.CountsError as error:
            yield ("power",), f"LongTailSampler: {error}"
    if "start_epoch" in sampler:
        try:  # PaddleClas sets total_epochs from Global.epochs
            counts.check_start_epoch(sampler["start_epoch"], epochs if _whole(epochs) and epochs >= 1 else None)
        except counts.CountsError as error:
            yield ("start_epoch",), f"LongTailSampler: {error}"
    total = sampler.get("total_epochs")
    if total is not None and _whole(epochs) and total != epochs:  # PaddleClas >= 2.5.1 overwrites it, older ones use it
        yield ("total_epochs",), (f"LongTailSampler: total_epochs {total!r} is not Global.epochs {epochs}: PaddleClas "
                                  "release/2.5.1 and later replace it with Global.epochs, older ones use it; make them equal")
    for key in ("seed", "num_replicas", "rank"):
        if sampler.get(key) is not None and not _whole(sampler[key]):
            yield (key,), f"LongTailSampler: {key} must be a whole number, got {sampler[key]!r}"


def check_sampler_params(context: Context) -> Iterator[Problem]:
    """A `DataLoader.Train.sampler` named LongTailSampler must have only its constructor's keys, `power` >= 0 or
    `progressive: True` (one of them), `shuffle` True, `drop_last` and `progressive` booleans, `start_epoch` in
    1..Global.epochs: otherwise the sampler refuses at construction, after PaddleClas has started. Its len() is
    DistributedBatchSampler's, so csce-drw-schedule checks an `iters_per_epoch` against it as for that one."""
    sampler = context.source.get(ppconfig.SAMPLER)
    if not isinstance(sampler, dict) or sampler.get("name") != ppconfig.LONG_TAIL_SAMPLER:
        return
    epochs = context.source.get(("Global", "epochs"))
    for keys, message in _sampler_problems(sampler, epochs):
        yield context.problem(SAMPLER_PARAMS, ppconfig.SAMPLER + keys, message, at_key=bool(keys))


def metric_entries(context: Context) -> Iterator[Tuple[Keys, Any]]:
    """(keys ending in LongTailAcc, values) of each LongTailAcc entry of Metric.Train and Metric.Eval."""
    metric = context.source.get(("Metric",))
    if not isinstance(metric, dict):
        return
    for section in ("Train", "Eval"):
        entries = metric.get(section)
        if isinstance(entries, list):
            for index, entry in enumerate(entries):
                if isinstance(entry, dict) and len(entry) == 1 and METRIC_NAME in entry:
                    yield ("Metric", section, index, METRIC_NAME), entry[METRIC_NAME]


def check_metric_params(context: Context) -> Iterator[Problem]:
    """A LongTailAcc entry of `Metric.Train`/`Metric.Eval` must have `num_class_list` (the training counts, whole
    numbers >= 0, not all 0; as many as `Arch.class_num`), `best` one of the figures it prints, `sum_over_ranks`
    true or false, and no other key: otherwise the metric refuses when PaddleClas builds it."""
    class_num, class_keys = ppconfig.class_num(context.source)
    for keys, values in metric_entries(context):
        if not isinstance(values, dict):
            yield context.problem(METRIC_PARAMS, keys, "LongTailAcc needs a mapping with num_class_list", at_key=True)
            continue
        for key in values:
            if key not in counts.METRIC_KEYS:
                yield context.problem(METRIC_PARAMS, keys + (key,), f"LongTailAcc has no parameter {key!r} (it takes "
                                      f"{', '.join(counts.METRIC_KEYS)})", at_key=True)
        found = values.get("num_class_list")
        if not isinstance(found, list):
            yield context.problem(METRIC_PARAMS, keys + (("num_class_list",) if "num_class_list" in values else ()),
                                  "LongTailAcc: num_class_list must be the list of training counts, "
                                  + (f"got {found!r}" if "num_class_list" in values else "it is missing") + "; "
                                  "csce-config gen --metric --config CFG --write writes it", at_key="num_class_list"
                                  not in values)
        elif any(not _whole(count) or count < 0 for count in found):
            index = next(i for i, count in enumerate(found) if not _whole(count) or count < 0)
            yield context.problem(METRIC_PARAMS, keys + ("num_class_list", index),
                                  f"LongTailAcc: num_class_list[{index}] must be a whole number >= 0 (a training "
                                  f"count), got {found[index]!r}")
        else:
            try:
                counts.shot_groups(found)
            except counts.CountsError as error:
                yield context.problem(METRIC_PARAMS, keys + ("num_class_list",), f"LongTailAcc: {error}")
            else:
                if _whole(class_num) and len(found) != class_num:
                    yield context.problem(METRIC_PARAMS, keys + ("num_class_list",),
                                          f"LongTailAcc num_class_list has {len(found)} counts but "
                                          f"{'.'.join(map(str, class_keys))} is {class_num}: one count per class")
        if "best" in values and values["best"] not in counts.METRIC_FIGURES:
            yield context.problem(METRIC_PARAMS, keys + ("best",), f"LongTailAcc: best must be one of "
                                  f"{', '.join(counts.METRIC_FIGURES)}, got {values['best']!r}")
        if "sum_over_ranks" in values and not isinstance(values["sum_over_ranks"], bool):
            yield context.problem(METRIC_PARAMS, keys + ("sum_over_ranks",),
                                  f"LongTailAcc: sum_over_ranks must be true or false, got {values['sum_over_ranks']!r}")


SAMPLER_PARAMS = Rule(
    "sampler-params", ERROR,
    "A LongTailSampler key that its constructor refuses (unknown key, power and progressive, shuffle False, "
    "start_epoch after Global.epochs, ...).",
    check=check_sampler_params,
)
METRIC_PARAMS = Rule(
    "metric-params", ERROR,
    "A LongTailAcc key that it refuses (num_class_list missing, bad or of the wrong length, best, sum_over_ranks).",
    check=check_metric_params,
)

RULES = [SAMPLER_PARAMS, METRIC_PARAMS]
