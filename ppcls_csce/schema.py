"""The pydantic models of the loss entries (`- CostSensitiveCE: {...}`, ClassBalancedCE, BalancedSoftmaxCE):
what gen and validate report problems with.

Every field delegates to the plain-Python rules in `params`, which the loss uses too, so the three can
never disagree. This module adds only the models and the mapping of its errors to key paths. gen and
validate ask `params.entry_is_valid` first and import this module (pydantic: ~0.2 s) only to explain.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Type, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from typing_extensions import Annotated

from . import params

Loc = Tuple[Union[str, int], ...]


class _LossParams(BaseModel):
    """What PaddleClas's `build_loss` reads from one entry: `weight` popped, the rest to the constructor.
    The parameters the three losses share; each subclass adds its formula's strength (gamma, beta, tau)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weight: Annotated[float, BeforeValidator(params.check_combining_weight)]
    num_class_list: Annotated[List[int], BeforeValidator(params.check_num_class_list)]
    epsilon: Annotated[Optional[float], BeforeValidator(params.check_epsilon)] = None
    reduction: Annotated[str, BeforeValidator(params.check_reduction)] = "mean"
    drw_start_epoch: Optional[int] = None
    iters_per_epoch: Optional[int] = None

    @model_validator(mode="before")
    @classmethod
    def _drw_keys_come_together(cls, data: Any) -> Any:
        if isinstance(data, dict):
            params.check_drw(data.get("drw_start_epoch"), data.get("iters_per_epoch"))
        return data


class CostSensitiveCEParams(_LossParams):
    gamma: Annotated[float, BeforeValidator(params.check_gamma)] = params.DEFAULT_GAMMA


class ClassBalancedCEParams(_LossParams):
    beta: Annotated[float, BeforeValidator(params.check_beta)] = params.DEFAULT_BETA


class BalancedSoftmaxCEParams(_LossParams):
    tau: Annotated[float, BeforeValidator(params.check_tau)] = params.DEFAULT_TAU


MODELS: Dict[str, Type[_LossParams]] = {
    params.LOSS_NAME: CostSensitiveCEParams,
    params.CLASS_BALANCED_NAME: ClassBalancedCEParams,
    params.BALANCED_SOFTMAX_NAME: BalancedSoftmaxCEParams,
}


@dataclass(frozen=True)
class ParamIssue:
    """One broken rule, located by its key path inside the entry's parameter mapping."""

    loc: Loc
    message: str
    at_key: bool = False  # point at the key itself (unknown key), not its value


def _issue_from_error(error: Any, name: str) -> ParamIssue:
    loc: Loc = tuple(error.get("loc", ()))
    kind = error.get("type")
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        return ParamIssue(
            loc,
            f"unknown parameter {key!r}: PaddleClas passes it to {name}(), which fails at train time "
            f"(accepted: {', '.join((params.COMBINING_WEIGHT,) + params.LOSSES[name].params)})",
            at_key=True,
        )
    if kind == "missing":
        key = loc[-1] if loc else "?"
        why = {
            params.COMBINING_WEIGHT: "PaddleClas's build_loss requires it in every loss entry",
            "num_class_list": "the per-class training image counts (csce-config gen writes them)",
        }.get(str(key), "required")
        return ParamIssue(loc[:-1], f"{key} is missing: {why}")
    original = (error.get("ctx") or {}).get("error")
    message = str(original) if isinstance(original, ValueError) else error.get("msg", "invalid value")
    if kind == "value_error" and message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if isinstance(original, params.ParamError) and original.loc:
        loc = original.loc  # the rule knows the exact place, e.g. one element of num_class_list
    return ParamIssue(loc, message)


def check_entry(values: Any, name: str = params.LOSS_NAME) -> List[ParamIssue]:
    """All rule violations of one `name` entry's parameter mapping (empty when it is valid)."""
    model = MODELS[params.loss_spec(name).name]
    if not isinstance(values, dict):
        return [ParamIssue((), f"the {name} entry must map parameter names to values, got {values!r}")]
    try:
        model.model_validate(values)
    except ValidationError as errors:
        return [_issue_from_error(error, name) for error in errors.errors()]
    return []
