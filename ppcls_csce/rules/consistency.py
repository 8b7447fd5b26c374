"""Entries of the three losses that are each valid but do not fit together."""

from typing import Any, Callable, Iterator

from .. import params
from ..report import Problem
from .base import WARNING, Context, Rule, loss_entries


def _valid(rule: Callable[[Any], Any], value: Any) -> bool:
    try:
        rule(value)
    except params.ParamError:
        return False
    return True


def check_train_eval(context: Context) -> Iterator[Problem]:
    """A Loss.Eval entry of CostSensitiveCE, BalancedSoftmaxCE or ClassBalancedCE should have, when it is the loss of
    the Loss.Train entry, the same counts and strength (gamma, tau or beta): otherwise the evaluation loss weighs the classes differently
    from the loss being trained (a warning; an error with --strict). Reported at the Eval value that differs."""
    entries = [entry for entry in loss_entries(context) if isinstance(entry.values, dict)]
    train = next((entry for entry in entries if entry.keys[:2] == ("Loss", "Train")), None)
    if train is None:
        return
    for entry in entries:
        if entry.keys[:2] != ("Loss", "Eval"):
            continue
        if entry.name != train.name:
            continue  # another loss on purpose (a plain eval loss is common): nothing to compare
        spec = entry.spec
        for name, default, rule in (("num_class_list", None, params.check_num_class_list),
                                    (spec.strength, spec.default, spec.rule)):
            mine, theirs = entry.value(name, default), train.value(name, default)
            if mine == theirs or not (_valid(rule, mine) and _valid(rule, theirs)):
                continue  # the same, or csce-params reports it
            shown = "counts" if name == "num_class_list" else f"{name} {mine!r}"
            other = "" if name == "num_class_list" else f" {theirs!r}"
            yield context.problem(
                TRAIN_EVAL, entry.keys + ((name,) if name in entry.values else ()),
                f"Loss.Eval {entry.name} {shown} differ{'s' if name != 'num_class_list' else ''} from "
                f"Loss.Train's{other} (line {context.line_of(train.keys + (name,))}): the eval loss would weigh "
                "classes differently from the trained one",
                at_key=name not in entry.values,
            )


def check_drw_in_eval(context: Context) -> Iterator[Problem]:
    """Deferred re-weighting keys (`drw_start_epoch`, `iters_per_epoch`) belong in Loss.Train only: PaddleClas
    never puts its eval loss in eval mode, so that loss would count evaluation batches as training steps and
    switch at the wrong time (gen writes them into Loss.Train only). A warning at the key."""
    for entry in loss_entries(context):
        if entry.keys[:2] == ("Loss", "Eval"):
            for name in params.DRW_PARAMS:
                if isinstance(entry.values, dict) and name in entry.values:
                    yield context.problem(
                        DRW_EVAL, entry.keys + (name,),
                        f"{name} in Loss.Eval: PaddleClas runs the eval loss in training mode, so it would count "
                        "evaluation batches as steps; keep the DRW keys in Loss.Train only",
                        at_key=True,
                    )


TRAIN_EVAL = Rule(
    "csce-train-eval", WARNING,
    "The Loss.Eval counts or gamma, tau or beta of CostSensitiveCE, BalancedSoftmaxCE or ClassBalancedCE differ "
    "from the same loss's in Loss.Train.",
    check=check_train_eval,
)
DRW_EVAL = Rule(
    "csce-drw-eval", WARNING,
    "Deferred re-weighting keys in Loss.Eval, where the step counter would count evaluation batches.",
    check=check_drw_in_eval,
)

RULES = [TRAIN_EVAL, DRW_EVAL]
