"""The shape PaddleClas's `build_metrics` (ppcls/metric/__init__.py, CombinedMetrics) asserts of a metric list."""

from typing import Iterator

from ..report import Problem
from .base import ERROR, Context, Rule


def check_metric_shape(context: Context) -> Iterator[Problem]:
    """`Metric.Train` and `Metric.Eval` must each be a list of single-key mappings, `- TopkAcc: {topk: [1, 5]}`
    (the parameters may be left empty): CombinedMetrics asserts `isinstance(config_list, list)` ("operator
    config should be a list") and, for each entry, `isinstance(config, dict) and len(config) == 1` ("yaml format
    error"), which PaddleClas reports only when training or evaluation reaches the metric. `- LongTailAcc` with
    its colon forgotten is such an entry: a string, not a mapping."""
    metric = context.source.get(("Metric",))
    if not isinstance(metric, dict):
        return
    for section in ("Train", "Eval"):
        entries = metric.get(section)
        if not entries:  # PaddleClas builds no metric from an empty or missing list
            continue
        keys = ("Metric", section)
        if not isinstance(entries, list):
            kind = "mapping" if isinstance(entries, dict) else type(entries).__name__
            yield context.problem(METRIC_SHAPE, keys, f"Metric.{section} must be a list of single-key mappings "
                                  f"(`- TopkAcc: {{topk: [1, 5]}}`), got a {kind}: PaddleClas's build_metrics "
                                  "asserts it (AssertionError: operator config should be a list)")
            continue
        for index, entry in enumerate(entries):
            if isinstance(entry, dict) and len(entry) == 1:
                continue
            if isinstance(entry, str):
                got = f"the bare name {entry!r} (a colon forgotten? `- {entry}:`)"
            elif isinstance(entry, dict):
                got = f"{len(entry)} keys ({', '.join(map(str, entry))})"
            else:
                got = repr(entry)
            yield context.problem(METRIC_SHAPE, keys + (index,),
                                  f"each Metric.{section} entry must be a mapping with exactly one key, the metric "
                                  f"name (`- TopkAcc: {{topk: [1, 5]}}`); got {got}: PaddleClas's build_metrics "
                                  "asserts it (AssertionError: yaml format error)")


METRIC_SHAPE = Rule(
    "metric-shape", ERROR,
    "`Metric.Train`/`Metric.Eval` not a list of single-key mappings (`- LongTailAcc` without its colon).",
    check=check_metric_shape,
)

RULES = [METRIC_SHAPE]
