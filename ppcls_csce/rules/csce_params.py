"""The parameters of each entry of the three count-driven losses (CostSensitiveCE, ClassBalancedCE,
BalancedSoftmaxCE), by the rules in `params` (params.entry_problems: every problem of an entry, located, in one
pass; stdlib only, so validate never imports pydantic)."""

from typing import Iterator

from .. import params
from ..report import Problem
from .base import ERROR, Context, Rule, loss_entries

_NAMES = ", ".join(list(params.LOSSES)[:-1]) + " or " + list(params.LOSSES)[-1]


def check_csce_params(context: Context) -> Iterator[Problem]:
    """Each CostSensitiveCE, ClassBalancedCE and BalancedSoftmaxCE entry must pass the parameter rules that gen and
    the loss use too: `num_class_list` a non-empty list of positive integers (booleans and 3.0 refused, reported at
    the element), `gamma` (CostSensitiveCE) and `tau` (BalancedSoftmaxCE) finite numbers >= 0, `beta`
    (ClassBalancedCE) in [0, 1) (`1e-3` is a string to PyYAML: the message gives `1.0e-3`), `weight` > 0, `epsilon`
    in (0, 1), `drw_start_epoch` and `iters_per_epoch` together; any other key (also another loss's gamma, beta or
    tau) is an error at the key, since PaddleClas passes it to the constructor, which fails at train time."""
    for entry in loss_entries(context):
        if not isinstance(entry.values, dict):
            continue  # loss-shape reports it
        for problem in params.entry_problems(entry.values, entry.name):
            if problem.loc:
                yield context.problem(CSCE_PARAMS, entry.keys + problem.loc, str(problem), at_key=problem.at_key)
            else:  # about the entry as a whole (a missing key): point at the loss name
                yield context.problem(CSCE_PARAMS, entry.keys, f"{entry.name}: {problem}", at_key=True)


def check_csce_required(context: Context) -> Iterator[Problem]:
    """With `--require-csce`, a file without any CostSensitiveCE, ClassBalancedCE or BalancedSoftmaxCE entry is an
    error (for repositories whose configs must all use one); without the flag such files pass silently, since
    pre-commit sends every YAML file."""
    if context.options.require_csce and isinstance(context.data, dict) and not loss_entries(context):
        keys = ("Loss", "Train") if isinstance(context.source.get(("Loss",)), dict) else ()
        yield context.problem(CSCE_REQUIRED, keys, f"no {_NAMES} entry in any loss list "
                                                      "(--require-csce); csce-config gen --train-list LIST --config "
                                                      f"{context.path} --write adds one", at_key=bool(keys))


CSCE_PARAMS = Rule(
    "csce-params", ERROR,
    "A parameter of CostSensitiveCE, ClassBalancedCE or BalancedSoftmaxCE breaks a rule (counts, gamma, beta, tau, "
    "weight, epsilon, DRW keys), or is unknown.",
    check=check_csce_params,
)
CSCE_REQUIRED = Rule(
    "csce-required", ERROR,
    "With `--require-csce`: a file that has no CostSensitiveCE, ClassBalancedCE or BalancedSoftmaxCE entry.",
    check=check_csce_required,
)

RULES = [CSCE_PARAMS, CSCE_REQUIRED]
