"""The shape PaddleClas's `build_loss` (ppcls/loss/__init__.py, CombinedLoss) requires of every loss list."""

import numbers
from typing import Iterator

from .. import params
from ..report import Problem
from .base import ERROR, Context, Rule, dotted, loss_sections


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_loss_shape(context: Context) -> Iterator[Problem]:
    """`Loss.Train`, `Loss.Eval` (and any other list build_loss reads) must be a list of single-key mappings,
    `- Name: {weight: w, ...}`, each with a numeric `weight`: CombinedLoss asserts the list and the single key,
    pops `weight` (a KeyError or TypeError at train time otherwise) and scales the loss by it. The
    CostSensitiveCE entry's weight is checked by csce-params, with the other parameters."""
    data = context.data
    rule = LOSS_SHAPE
    if isinstance(data, dict) and "Loss" in data and not isinstance(data["Loss"], dict):
        yield context.problem(rule, ("Loss",), "Loss must be a mapping of sections (Train:, Eval:) to lists of "
                                               "losses")
        return
    for section_keys, entries in loss_sections(data):
        where = dotted(section_keys)
        if entries is None:
            if section_keys == ("Loss", "Train"):
                yield context.problem(rule, section_keys, "Loss.Train is empty: training needs at least one loss, "
                                                          "e.g. `- CELoss: {weight: 1.0}`", at_key=True)
            continue
        if not isinstance(entries, list):
            kind = "mapping" if isinstance(entries, dict) else type(entries).__name__
            yield context.problem(rule, section_keys, f"{where} must be a list of single-key mappings "
                                                      f"(`- CELoss: {{weight: 1.0}}`), got a {kind}")
            continue
        for index, entry in enumerate(entries):
            keys = section_keys + (index,)
            if not isinstance(entry, dict) or len(entry) != 1:
                got = f"{len(entry)} keys ({', '.join(map(str, entry))})" if isinstance(entry, dict) else repr(entry)
                yield context.problem(rule, keys, f"each {where} entry must be a mapping with exactly one key, the "
                                                  f"loss name (`- CELoss: {{weight: 1.0}}`); got {got}")
                continue
            name, values = next(iter(entry.items()))
            if not isinstance(values, dict):
                yield context.problem(rule, keys + (name,), f"the parameters of {name} must be a mapping with at "
                                                            f"least `weight` (PaddleClas's build_loss requires it), "
                                                            f"got {values!r}")
                continue
            if name in params.LOSSES:
                continue  # csce-params checks weight with the other parameters of the three count-driven losses
            if "weight" not in values:
                yield context.problem(rule, keys + (name,), f"{name} has no weight: PaddleClas's build_loss "
                                                            "requires one in every loss entry", at_key=True)
            elif not _is_number(values["weight"]):
                yield context.problem(rule, keys + (name, "weight"),
                                      f"the weight of {name} must be a number, got {values['weight']!r}"
                                      + params.string_number_hint(values["weight"]))


LOSS_SHAPE = Rule(
    "loss-shape", ERROR,
    "`Loss.Train`/`Loss.Eval` not a list of single-key mappings, or an entry without a numeric `weight`.",
    check=check_loss_shape,
)

RULES = [LOSS_SHAPE]
