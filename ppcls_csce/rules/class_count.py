"""The number of counts in `num_class_list` against the model's class count."""

from typing import Iterator

from .. import params, ppconfig
from ..report import Problem
from .base import ERROR, Context, Rule, dotted, loss_entries


def check_class_count(context: Context) -> Iterator[Problem]:
    """`len(num_class_list)` must equal the class count, `Arch.class_num` (or `Arch.Head.class_num` in RecModel
    configs; `Arch.Neck.class_num` is an embedding size and is never used): the loss needs one weight per
    logit, and a different length fails at the first step or weighs the wrong classes. A class count that is
    not a positive integer is reported too, when the file has an entry of the three losses
    (CostSensitiveCE, BalancedSoftmaxCE, ClassBalancedCE)."""
    entries = loss_entries(context)
    if not entries:
        return
    value, keys = ppconfig.class_num(context.source)
    if value is None:
        return  # no class count to compare with (e.g. a DistillationModel config without Arch.class_num)
    where = dotted(keys)
    why = params.class_count_problem(value)
    if why is not None:
        yield context.problem(CLASS_COUNT, keys, f"{where} {why}")
        return
    for entry in entries:
        counts = entry.value("num_class_list")
        if isinstance(counts, list) and len(counts) != value:
            yield context.problem(
                CLASS_COUNT, entry.keys + ("num_class_list",),
                f"{entry.section} {entry.name} num_class_list has {len(counts)} counts but {where} is {value} "
                f"(line {context.line_of(keys)}): one count per class; csce-config gen --config CFG --class-num K "
                "--write sets both",
            )


CLASS_COUNT = Rule(
    "csce-class-count", ERROR,
    "`len(num_class_list)` differs from `Arch.class_num` (`Arch.Head.class_num` for RecModel).",
    check=check_class_count,
)

RULES = [CLASS_COUNT]
