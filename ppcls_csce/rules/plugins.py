"""The keys of LongTailSampler (DataLoader.Train.sampler) and LongTailAcc (Metric.*) entries, checked before
PaddleClas builds them: a bad key fails there only at train or eval time.

Stdlib only: the formulas' checks and the plugins' parameter names are counts.py's (the sampler and the metric
use the same ones), never sampler.py or metric.py, which import paddle and numpy.
"""

from typing import Any, Iterator, Tuple

from .. import counts, params, ppconfig
from ..report import Problem
from ..yamlsource import YamlSource
from .base import ERROR, Context, Keys, Rule

METRIC_NAME = ppconfig.LONG_TAIL_METRIC


def check_sampler_params(context: Context) -> Iterator[Problem]:
    """A `DataLoader.Train.sampler` named LongTailSampler must have only its constructor's keys, `power` >= 0 or
    `progressive: True` (one of them), `shuffle` True, `drop_last` and `progressive` booleans, `start_epoch` in
    1..Global.epochs: otherwise the sampler refuses at construction, after PaddleClas has started. Its len() is
    DistributedBatchSampler's, so csce-drw-schedule checks an `iters_per_epoch` against it as for that one."""
    sampler = context.source.get(ppconfig.SAMPLER)
    if not isinstance(sampler, dict) or sampler.get("name") != ppconfig.LONG_TAIL_SAMPLER:
        return
    values = {key: value for key, value in sampler.items() if key != "name"}  # name: how PaddleClas finds the class
    epochs = context.source.get(("Global", "epochs"))  # PaddleClas passes it as total_epochs
    epochs = values.get("total_epochs", epochs if params.is_class_count(epochs) else None)
    for key, message in counts.sampler_problems(values, epochs):
        yield context.problem(SAMPLER_PARAMS, ppconfig.SAMPLER + ((key,) if key else ()), message, at_key=bool(key))
    total, run_epochs = values.get("total_epochs"), context.source.get(("Global", "epochs"))
    if params.is_class_count(total) and params.is_class_count(run_epochs) and total != run_epochs:
        yield context.problem(SAMPLER_PARAMS, ppconfig.SAMPLER + ("total_epochs",),
                              f"LongTailSampler: total_epochs {total!r} is not Global.epochs {run_epochs}: PaddleClas "
                              "release/2.5.1 and later replace it with Global.epochs, older ones use it; make them equal")


def metric_entries(source: YamlSource) -> Iterator[Tuple[Keys, Any]]:
    """(keys ending in LongTailAcc, values) of each LongTailAcc entry of Metric.Train and Metric.Eval."""
    metric = source.get(("Metric",))
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
    for keys, values in metric_entries(context.source):
        if not isinstance(values, dict):
            yield context.problem(METRIC_PARAMS, keys, "LongTailAcc needs a mapping with num_class_list", at_key=True)
            continue
        found = counts.metric_problems(values)
        for path, message in found:
            yield context.problem(METRIC_PARAMS, keys + path, message, at_key=not path or path[0] not in counts.METRIC_KEYS)
        listed = values.get("num_class_list")
        counted = not any(path[:1] in ((), ("num_class_list",)) for path, _ in found)
        if counted and params.is_class_count(class_num) and len(listed) != class_num:
            yield context.problem(METRIC_PARAMS, keys + ("num_class_list",),
                                  f"LongTailAcc num_class_list has {len(listed)} counts but "
                                  f"{'.'.join(map(str, class_keys))} is {class_num}: one count per class")


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
