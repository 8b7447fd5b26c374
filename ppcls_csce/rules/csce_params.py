"""The parameters of each entry of the three count-driven losses (CostSensitiveCE, ClassBalancedCE,
BalancedSoftmaxCE), by the rules in `params`, with the pydantic models in `schema` giving the located messages.

Speed: importing pydantic and building the model costs about 0.2 s, half of a validate run. An entry that
passes every plain rule of `params` gets nothing from the model, so the model is imported only for an entry
that fails one (tests/test_rules.py checks that `params.entry_is_valid` never accepts what the model refuses).
"""

from typing import Iterator

from .. import params
from ..report import Problem
from .base import ERROR, Context, CsceEntry, Rule, loss_entries

_NAMES = ", ".join(list(params.LOSSES)[:-1]) + " or " + list(params.LOSSES)[-1]


def _name(entry: CsceEntry) -> str:
    return entry.name


def check_csce_params(context: Context) -> Iterator[Problem]:
    """Each CostSensitiveCE, ClassBalancedCE and BalancedSoftmaxCE entry must pass the parameter rules that gen and
    the loss use too: `num_class_list` a non-empty list of positive integers (booleans and 3.0 refused, reported at
    the element), `gamma` (CostSensitiveCE) and `tau` (BalancedSoftmaxCE) finite numbers >= 0, `beta`
    (ClassBalancedCE) in [0, 1) (`1e-3` is a string to PyYAML: the message gives `1.0e-3`), `weight` > 0, `epsilon`
    in (0, 1), `drw_start_epoch` and `iters_per_epoch` together; any other key (also another loss's gamma, beta or
    tau) is an error at the key, since PaddleClas passes it to the constructor, which fails at train time."""
    entries = [entry for entry in loss_entries(context)
               if isinstance(entry.values, dict) and not params.entry_is_valid(entry.values, _name(entry))]
    if not entries:
        return  # all valid (a non-mapping entry is reported by loss-shape)
    from ..schema import check_entry  # pydantic: imported only when there is something to explain

    for entry in entries:
        name = _name(entry)
        issues = check_entry(entry.values, name=name)
        if issues and any(key in entry.values for key in params.DRW_PARAMS):
            # The schema checks the DRW pair before the fields, and a failing pair check hides the field errors:
            # check the other parameters on their own too, so that every problem is reported in one run.
            others = {key: value for key, value in entry.values.items() if key not in params.DRW_PARAMS}
            issues = list(dict.fromkeys(issues + check_entry(others, name=name)))
        for issue in issues:
            if issue.loc:
                yield context.problem(CSCE_PARAMS, entry.keys + tuple(issue.loc), issue.message, at_key=issue.at_key)
            else:  # about the entry as a whole (a missing key): point at the loss name
                yield context.problem(CSCE_PARAMS, entry.keys, f"{name}: {issue.message}", at_key=True)


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
