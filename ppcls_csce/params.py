"""The CostSensitiveCE parameter rules, stated once, in plain Python.

The pydantic schema (gen, validate) and the loss both call these functions, and
`install` inlines this file into the loss it writes into PaddleClas, where neither
pydantic nor this package is installed. So: standard library only, no relative imports.
"""

import math
import numbers
import re

LOSS_NAME = "CostSensitiveCE"
LOSS_KEY = "CS_CELoss"
REDUCTIONS = ("mean", "sum", "none")
DEFAULT_GAMMA = 1.0
# Keys of a `- CostSensitiveCE: {...}` entry; PaddleClas pops `weight`, the rest go to the constructor.
COMBINING_WEIGHT = "weight"
LOSS_PARAMS = ("num_class_list", "gamma", "epsilon", "reduction", "drw_start_epoch", "iters_per_epoch")
DRW_PARAMS = ("drw_start_epoch", "iters_per_epoch")


class ParamError(ValueError):
    """A CostSensitiveCE parameter breaks a rule; the message says which and why, `loc` where."""

    def __init__(self, message: str, loc: tuple = ()) -> None:
        super().__init__(message)
        self.loc = tuple(loc)


def _is_int(value: object) -> bool:
    # the `type is int` shortcut keeps 100,000-class lists fast; numbers.Integral admits numpy integers
    return type(value) is int or (isinstance(value, numbers.Integral) and not isinstance(value, bool))


def _is_real(value: object) -> bool:
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


def check_gamma(value: object) -> float:
    """The exponent of (N_min / N_c): a finite number >= 0 (0 is plain cross-entropy)."""
    if not _is_real(value):
        raise ParamError(f"gamma must be a number >= 0, got {value!r}" + string_number_hint(value))
    gamma = float(value)
    if not math.isfinite(gamma) or gamma < 0:
        raise ParamError(f"gamma must be a finite number >= 0, got {value!r}")
    return gamma


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
    """Deferred re-weighting needs both keys: the first CS_CE epoch (from 1) and the steps per epoch."""
    if drw_start_epoch is None and iters_per_epoch is None:
        return None
    if drw_start_epoch is None or iters_per_epoch is None:
        missing = "drw_start_epoch" if drw_start_epoch is None else "iters_per_epoch"
        raise ParamError(
            f"deferred re-weighting needs both drw_start_epoch and iters_per_epoch; {missing} is missing"
        )
    for name, value in (("drw_start_epoch", drw_start_epoch), ("iters_per_epoch", iters_per_epoch)):
        if not _is_int(value) or value < 1:
            raise ParamError(f"{name} must be an integer >= 1, got {value!r}", (name,))
    return int(drw_start_epoch), int(iters_per_epoch)


def entry_is_valid(values: dict) -> bool:
    """True only when an entry's mapping has the required keys, no unknown key, and every value passes its rule.

    The quick yes that lets gen and validate skip pydantic (about 0.2 s to import) for a valid entry;
    for an invalid one, schema.check_entry says what is wrong and where.
    """
    known = (COMBINING_WEIGHT,) + LOSS_PARAMS
    if any(key not in known for key in values) or not {COMBINING_WEIGHT, "num_class_list"} <= set(values):
        return False
    optional = {"gamma": check_gamma, "epsilon": check_epsilon, "reduction": check_reduction}
    try:
        check_combining_weight(values[COMBINING_WEIGHT])
        check_num_class_list(values["num_class_list"])
        for name, rule in optional.items():
            if name in values:
                rule(values[name])
        check_drw(values.get("drw_start_epoch"), values.get("iters_per_epoch"))
    except ParamError:
        return False
    return True


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


def class_weights(num_class_list: "list[int]", gamma: float) -> "list[float]":
    """w_c = (N_min / N_c) ** gamma: the rarest class gets 1.0, the others less; not normalised."""
    counts = check_num_class_list(num_class_list)
    gamma = check_gamma(gamma)
    n_min = min(counts)
    return [(n_min / count) ** gamma for count in counts]
