"""The parameter rules and formulas of the three count-driven losses, stated once, in plain Python.

CostSensitiveCE (CS_CE weights), ClassBalancedCE (class-balanced weights), BalancedSoftmaxCE (logit
adjustment). The pydantic schema (gen, validate), the rules and the losses all call these functions, and
`install` inlines this file into the loss it writes into PaddleClas, where neither pydantic nor this
package is installed. So: standard library only, no relative imports.
"""

import math
import numbers
import re
from typing import TYPE_CHECKING, Callable, Dict, NamedTuple, Tuple

if TYPE_CHECKING:  # TypeGuard is Python 3.10+; the installed copy may run on an older Python
    from typing import TypeGuard

LOSS_NAME = "CostSensitiveCE"  # the seed's loss; LOSSES below describes all three
LOSS_KEY = "CS_CELoss"
CLASS_BALANCED_NAME = "ClassBalancedCE"
CLASS_BALANCED_KEY = "ClassBalancedCELoss"
BALANCED_SOFTMAX_NAME = "BalancedSoftmaxCE"
BALANCED_SOFTMAX_KEY = "BalancedSoftmaxCELoss"
REDUCTIONS = ("mean", "sum", "none")
DEFAULT_GAMMA = 1.0
DEFAULT_BETA = 0.9999
DEFAULT_TAU = 1.0
# Keys of a `- CostSensitiveCE: {...}` entry; PaddleClas pops `weight`, the rest go to the constructor.
COMBINING_WEIGHT = "weight"
DRW_PARAMS = ("drw_start_epoch", "iters_per_epoch")


class ParamError(ValueError):
    """A loss parameter breaks a rule; the message says which and why, `loc` where in the entry (`at_key`: the key
    itself, an unknown one, not its value; an empty `loc`: the entry as a whole, e.g. a missing key)."""

    def __init__(self, message: str, loc: tuple = (), at_key: bool = False) -> None:
        super().__init__(message)
        self.loc = tuple(loc)
        self.at_key = at_key


def _is_int(value: object) -> "TypeGuard[int]":
    # the `type is int` shortcut keeps 100,000-class lists fast; numbers.Integral admits numpy integers
    return type(value) is int or (isinstance(value, numbers.Integral) and not isinstance(value, bool))


def _is_real(value: object) -> "TypeGuard[float]":
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


_YAML_NUMBER_TEXT = re.compile(r"^[-+]?(\d[\d_]*)?\.?\d*([eE][-+]?\d+)?$")


def yaml_float_text(text: str) -> str:
    """How to spell a number so that PyYAML (YAML 1.1) reads a float: '1e-3' -> '1.0e-3'."""
    mantissa, sep, exponent = text.strip().partition("e") if "e" in text else text.strip().partition("E")
    if "." not in mantissa:
        mantissa += ".0"
    if sep and exponent[:1] not in ("+", "-"):
        exponent = "+" + exponent
    return mantissa + sep + exponent


def string_number_hint(value: object) -> str:
    """A hint for numbers PyYAML left as strings ('1e-3'); empty when `value` is no such string."""
    if isinstance(value, str) and value.strip() and _YAML_NUMBER_TEXT.match(value.strip()):
        try:
            float(value)
        except ValueError:
            return ""
        return f"; PyYAML reads {value!r} as a string, write {yaml_float_text(value)} for a float"
    return ""


def coerce_number(value: object) -> object:
    """Turn numbers PyYAML left as strings ('1e-3', '12') into numbers; used by the loss only."""
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return value
    return value


def check_num_class_list(value: object) -> list:
    """A non-empty list of positive integer image counts, one per class."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ParamError(f"num_class_list must be a list of image counts, got {value!r}")
    counts = list(value)
    if not counts:
        raise ParamError("num_class_list must not be empty")
    for index, count in enumerate(counts):
        if not _is_int(count):
            raise ParamError(
                f"num_class_list[{index}] must be an integer image count, got {count!r}"
                + string_number_hint(count).replace("for a float", "for a number"),
                ("num_class_list", index),
            )
        if count <= 0:
            raise ParamError(
                f"num_class_list[{index}] is {count}: every class needs at least one training image "
                "(its weight would be infinite)",
                ("num_class_list", index),
            )
    return [int(count) for count in counts]


def _non_negative(name: str, value: object) -> float:
    """The rule gamma and tau share: a finite number >= 0, where 0 means plain cross-entropy."""
    if not _is_real(value):
        raise ParamError(f"{name} must be a number >= 0, got {value!r}" + string_number_hint(value))
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ParamError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


def check_gamma(value: object) -> float:
    """The exponent of (N_min / N_c): a finite number >= 0 (0 is plain cross-entropy)."""
    return _non_negative("gamma", value)


def check_combining_weight(value: object) -> float:
    """PaddleClas's `weight`: how much this loss counts when several are summed."""
    if not _is_real(value):
        raise ParamError(f"weight must be a number > 0, got {value!r}" + string_number_hint(value))
    weight = float(value)
    if not math.isfinite(weight) or weight <= 0:
        raise ParamError(f"weight must be a finite number > 0, got {value!r}")
    return weight


def check_epsilon(value: object) -> "float | None":
    """Label smoothing as PaddleClas's CELoss has it: None (off) or a number in (0, 1)."""
    if value is None:
        return None
    if not _is_real(value):
        raise ParamError(f"epsilon must be a number in (0, 1), got {value!r}" + string_number_hint(value))
    epsilon = float(value)
    if not 0.0 < epsilon < 1.0:
        raise ParamError(f"epsilon must be in (0, 1), got {value!r}")
    return epsilon


def check_reduction(value: object) -> str:
    if value not in REDUCTIONS:
        raise ParamError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {value!r}")
    return str(value)


def check_drw(drw_start_epoch: object, iters_per_epoch: object) -> "tuple[int, int] | None":
    """Deferred re-weighting needs both keys: the first epoch of the configured loss (from 1) and the steps per epoch."""
    if drw_start_epoch is None and iters_per_epoch is None:
        return None
    if drw_start_epoch is None or iters_per_epoch is None:
        missing = "drw_start_epoch" if drw_start_epoch is None else "iters_per_epoch"
        raise ParamError(
            f"deferred re-weighting needs both drw_start_epoch and iters_per_epoch; {missing} is missing"
        )
    checked = []
    for name, value in (("drw_start_epoch", drw_start_epoch), ("iters_per_epoch", iters_per_epoch)):
        if not _is_int(value) or value < 1:
            raise ParamError(f"{name} must be an integer >= 1, got {value!r}", (name,))
        checked.append(int(value))
    return checked[0], checked[1]


def check_tau(value: object) -> float:
    """The scale of the logit adjustment tau * log(n_c): a finite number >= 0 (0 is plain cross-entropy)."""
    return _non_negative("tau", value)


def check_beta(value: object) -> float:
    """The class-balanced loss's beta: 0 <= beta < 1 (0 is plain cross-entropy; 1 would divide by zero)."""
    if not _is_real(value):
        raise ParamError(f"beta must be a number in [0, 1), got {value!r}" + string_number_hint(value))
    beta = float(value)
    if not 0.0 <= beta < 1.0:
        raise ParamError(f"beta must be in [0, 1) (0.999 or 0.9999 are usual), got {value!r}")
    return beta


def class_weights(num_class_list: "list[int]", gamma: float) -> "list[float]":
    """w_c = (N_min / N_c) ** gamma: the rarest class gets 1.0, the others less; not normalised."""
    counts = check_num_class_list(num_class_list)
    gamma = check_gamma(gamma)
    n_min = min(counts)
    return [(n_min / count) ** gamma for count in counts]


def class_balanced_weights(num_class_list: "list[int]", beta: float) -> "list[float]":
    """w_c = (1 - beta) / (1 - beta ** n_c) (Cui et al., CVPR 2019), rescaled to sum to C.

    The factor (1 - beta) cancels in the rescaling; 1 - beta ** n is computed as -expm1(n * log(beta)),
    exact where beta is close to 1. beta = 0 gives all ones (plain cross-entropy).
    """
    counts = check_num_class_list(num_class_list)
    beta = check_beta(beta)
    if beta == 0.0:
        return [1.0] * len(counts)
    log_beta = math.log(beta)
    raw = [1.0 / -math.expm1(count * log_beta) for count in counts]
    scale = len(counts) / math.fsum(raw)
    return [value * scale for value in raw]


def logit_adjustment(num_class_list: "list[int]", tau: float) -> "list[float]":
    """tau * log(n_c), added to the logits by Balanced Softmax (Ren et al., NeurIPS 2020; Menon et al., ICLR 2021).

    Counts and priors give the same loss: tau * log(n_c / N) = tau * log(n_c) - tau * log(N), and a softmax
    is unchanged when the same constant is added to every logit of a row. (Post-hoc adjustment of a trained
    model's bias, `csce-config adjust`, uses the prior, so the adjusted logits stay on the model's scale.)
    """
    counts = check_num_class_list(num_class_list)
    tau = check_tau(tau)
    return [tau * math.log(count) for count in counts]


class LossSpec(NamedTuple):
    """One loss as PaddleClas builds it: `- NAME: {weight: w, num_class_list: [...], STRENGTH: x, ...}`."""

    name: str
    key: str  # the key of the dict forward() returns, what PaddleClas logs
    strength: str  # the parameter of the formula: gamma, beta or tau
    default: float
    rule: Callable[[object], float]
    per_class: Callable[["list[int]", float], "list[float]"]  # counts, strength -> weights or adjustment
    weighted: bool  # True: a class weight in the cross-entropy; False: an additive logit adjustment
    formula: str

    @property
    def params(self) -> Tuple[str, ...]:
        """The constructor's parameters, in signature order (PaddleClas's `weight` is not one of them)."""
        return ("num_class_list", self.strength, "epsilon", "reduction") + DRW_PARAMS


LOSSES: Dict[str, LossSpec] = {
    spec.name: spec
    for spec in (
        LossSpec(LOSS_NAME, LOSS_KEY, "gamma", DEFAULT_GAMMA, check_gamma, class_weights, True,
                 "w_c = (N_min / N_c) ** gamma; loss = sum_i w[y_i] CE_i / sum_i w[y_i]"),
        LossSpec(CLASS_BALANCED_NAME, CLASS_BALANCED_KEY, "beta", DEFAULT_BETA, check_beta, class_balanced_weights,
                 True, "w_c = (1 - beta) / (1 - beta ** N_c), rescaled to sum to C; loss as CostSensitiveCE"),
        LossSpec(BALANCED_SOFTMAX_NAME, BALANCED_SOFTMAX_KEY, "tau", DEFAULT_TAU, check_tau, logit_adjustment,
                 False, "loss_i = CE(z_i + tau * log(N_c), y_i); mean is the plain mean"),
    )
}


def loss_spec(name: str) -> LossSpec:
    """The description of the loss called `name`; a ParamError naming the three for any other name."""
    if name not in LOSSES:
        raise ParamError(f"unknown loss {name!r}; ppcls-csce provides {', '.join(LOSSES)}")
    return LOSSES[name]


def param_rules(name: str) -> Dict[str, Callable[[object], object]]:
    """The rule of each parameter of a `name` entry that is checked on its own (the DRW pair is check_drw), in
    the constructor's order; `weight` is PaddleClas's, popped before the constructor."""
    spec = loss_spec(name)
    return {COMBINING_WEIGHT: check_combining_weight, "num_class_list": check_num_class_list,
            spec.strength: spec.rule, "epsilon": check_epsilon, "reduction": check_reduction}


# What a parameter is for, when it is missing (the required two) or given a default (the others).
REQUIRED = {COMBINING_WEIGHT: "PaddleClas's build_loss requires it in every loss entry",
            "num_class_list": "the per-class training image counts (csce-config gen writes them)"}


def param_defaults(name: str) -> Dict[str, object]:
    """The constructor's default of each optional parameter of a `name` entry."""
    spec = loss_spec(name)
    return {spec.strength: spec.default, "epsilon": None, "reduction": "mean", "drw_start_epoch": None,
            "iters_per_epoch": None}


def entry_problems(values: object, name: str = LOSS_NAME) -> "list[ParamError]":
    """Every rule a `- name: {...}` entry's mapping breaks, each located in the entry; [] when PaddleClas can build
    it. The one statement of the entry's rules: validate's csce-params, gen and schema.py all read this."""
    spec = loss_spec(name)
    if not isinstance(values, dict):
        return [ParamError(f"the {name} entry must map parameter names to values, got {values!r}")]
    known = (COMBINING_WEIGHT,) + spec.params
    found = [ParamError(f"unknown parameter {key!r}: PaddleClas passes it to {name}(), which fails at train time "
                        f"(accepted: {', '.join(known)})", (key,), at_key=True) for key in values if key not in known]
    found += [ParamError(f"{key} is missing: {why}") for key, why in REQUIRED.items() if key not in values]
    for key, rule in param_rules(name).items():
        if key in values:
            try:
                rule(values[key])
            except ParamError as error:
                found.append(error if error.loc else ParamError(str(error), (key,)))
    try:
        check_drw(values.get("drw_start_epoch"), values.get("iters_per_epoch"))
    except ParamError as error:
        found.append(error)
    return found


# log of float32's smallest normal number (2 ** -126, about 1.2e-38): a weight below it is 0 or imprecise there.
LOG_FLOAT32_TINY = -126 * math.log(2.0)


def weight_underflow(num_class_list: "list[int]", gamma: float) -> "tuple[int, float, float] | None":
    """(class, log10 of its weight, the largest safe gamma) when the smallest CS_CE weight (N_min / N_max) ** gamma
    is below float32's smallest normal number, the loss's compute type (a batch of only that class then gives NaN);
    None otherwise. Computed in logs, so it never underflows itself."""
    counts = check_num_class_list(num_class_list)
    n_min, n_max = min(counts), max(counts)
    if n_min == n_max:
        return None
    log_ratio = math.log(n_min / n_max)
    if gamma * log_ratio >= LOG_FLOAT32_TINY:
        return None
    return counts.index(n_max), gamma * log_ratio / math.log(10.0), LOG_FLOAT32_TINY / log_ratio


# No classifier head has this many classes (its FC weights alone would be 20 GB at 512 features); a larger
# count in a list, a config or on the command line is a mistake or an attack, and would build lists that big.
MAX_CLASSES = 10_000_000


def class_count_problem(value: object) -> "str | None":
    """Why `value` is not a usable class count (a config's, or --class-num), or None when it is."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return f"must be a positive integer class count, got {value!r}"
    if value > MAX_CLASSES:
        return f"is {value}, above the limit of {MAX_CLASSES:,} classes (no classifier head is that wide)"
    return None


def is_class_count(value: object) -> bool:
    """A usable class count: a positive integer up to MAX_CLASSES; YAML's `true` and `10.0` are not."""
    return class_count_problem(value) is None
