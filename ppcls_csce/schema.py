"""The pydantic models of the loss entries (`- CostSensitiveCE: {...}`, ClassBalancedCE, BalancedSoftmaxCE): typed,
documented views of the rules in `params`, for code and editors that want a model or a JSON Schema.

They hold no rule of their own: each model is built from `params` (its parameters, defaults and the rule of
each, whose docstring becomes the field's description), and `check_entry` is `params.entry_problems`, which
validate's csce-params rule reads directly (so validate never imports pydantic).
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Tuple, Type, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, model_validator
from typing_extensions import Annotated

from . import params

Loc = Tuple[Union[str, int], ...]


class _LossParams(BaseModel):
    """What PaddleClas's `build_loss` reads from one entry: `weight` popped, the rest to the constructor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _every_rule_of_params(cls, data: Any) -> Any:
        problems = params.entry_problems(data, cls.__name__[: -len("Params")])
        if problems:
            raise problems[0]  # pydantic reports one; check_entry gives them all
        return data


def _field(rule: Any) -> Any:
    return Annotated[Any, BeforeValidator(rule), Field(description=" ".join((rule.__doc__ or "").split()))]


def _model(name: str) -> Type[_LossParams]:
    rules = params.param_rules(name)
    defaults = params.param_defaults(name)
    fields: Dict[str, Any] = {}
    for key in (params.COMBINING_WEIGHT,) + params.LOSSES[name].params:
        if key in rules:
            fields[key] = (_field(rules[key]), defaults[key] if key in defaults else ...)
        else:  # the DRW pair: checked together by check_drw
            fields[key] = (Annotated[Any, Field(description=" ".join(params.check_drw.__doc__.split()))], None)
    return create_model(f"{name}Params", __base__=_LossParams, **fields)


MODELS: Dict[str, Type[_LossParams]] = {name: _model(name) for name in params.LOSSES}
CostSensitiveCEParams = MODELS[params.LOSS_NAME]
ClassBalancedCEParams = MODELS[params.CLASS_BALANCED_NAME]
BalancedSoftmaxCEParams = MODELS[params.BALANCED_SOFTMAX_NAME]


@dataclass(frozen=True)
class ParamIssue:
    """One broken rule, located by its key path inside the entry's parameter mapping."""

    loc: Loc
    message: str
    at_key: bool = False  # point at the key itself (unknown key), not its value


def check_entry(values: Any, name: str = params.LOSS_NAME) -> List[ParamIssue]:
    """All rule violations of one `name` entry's parameter mapping (empty when it is valid): params.entry_problems."""
    return [ParamIssue(problem.loc, str(problem), problem.at_key) for problem in params.entry_problems(values, name)]
