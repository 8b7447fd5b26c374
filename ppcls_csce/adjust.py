"""Post-hoc fixes of a trained classifier, no retraining: logit adjustment and tau-normalisation.

The logits of PaddleClas's last layer are z = h W + b (W is [features, C], one column per class). Both methods
change only W and b, so the adjusted model's logits are an affine map of the old ones, class by class,
z'_c = z_c * scale_c + offset_c, and PaddleClas's evaluation, export and inference need no change:

- logit-adjust (Menon et al., ICLR 2021): b'_c = b_c - tau * log(n_c / N): scale 1, offset -tau log prior.
- tau-norm (Kang et al., ICLR 2020): w'_c = w_c / ||w_c||^tau and b' = 0 (their tau-normalised classifier has
  no bias: its logits are h . w'_c), so z'_c = (z_c - b_c) / ||w_c||^tau. tau 0 keeps W but still drops b.

Model files are data: they are read by model_file (a restricted unpickler that runs nothing) and written back
in the structure paddle.save gives them (a Tensor as (name, array)), so this module never needs paddle. The
values are computed in float64 from the stored dtype (float16, bfloat16 - stored by paddle as its uint16 bit
patterns -, float32, float64) and rounded back to it; NaN, inf and anything that overflows it are refused.
Exported inference models (inference.pdiparams) are not supported: adjust the .pdparams, then export again.
"""

import math
import os
import pickle
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .atomic import write_atomic
from .errors import CsceError
from .model_file import load_object, load_state
from .params import ParamError, check_num_class_list, check_tau

RULE = "adjust"  # the [id] at the end of every refusal
LOGIT_ADJUST, TAU_NORM = "logit-adjust", "tau-norm"
METHODS = (LOGIT_ADJUST, TAU_NORM)
_BIG = "UnpackBigParamInfor@@"  # paddle.save's slices of an array over 1 GiB (model_file joins them on reading)


def _shape(value: Any) -> Tuple[int, ...]:
    return tuple(int(size) for size in getattr(value, "shape", ()))


def _weight_name(bias_name: str) -> str:
    return bias_name[: -len("bias")] + "weight"


def candidates(state: Dict[str, Any], num_classes: int) -> List[str]:
    """The biases of shape [C] whose layer (same prefix, `.weight`) has a [*, C] weight, in state-dict order."""
    found = []
    for name, value in state.items():
        if not (name == "bias" or name.endswith(".bias")) or _shape(value) != (num_classes,):
            continue
        shape = _shape(state.get(_weight_name(name)))
        if len(shape) == 2 and shape[-1] == num_classes:
            found.append(name)
    return found


def _describe(state: Dict[str, Any]) -> str:
    """The 1-D parameters named *.bias, with their lengths, for a refusal."""
    shown = [f"{name} {list(_shape(value))}" for name, value in state.items()
             if (name == "bias" or name.endswith(".bias")) and len(_shape(value)) == 1]
    return ", ".join(shown[-8:]) + (f" (last 8 of {len(shown)})" if len(shown) > 8 else "") if shown else "none"


def choose_bias(state: Dict[str, Any], num_classes: int, param_name: Optional[str] = None) -> str:
    """The one classifier bias to adjust: `param_name` when given (checked), else the single candidate."""
    if param_name is not None:
        if param_name not in state:
            raise CsceError(f"--param {param_name}: no such parameter in the model (biases: {_describe(state)})")
        if _shape(state[param_name]) != (num_classes,):
            raise CsceError(f"--param {param_name} has shape {list(_shape(state[param_name]))}, not [{num_classes}] "
                            f"(the train list has {num_classes} classes)")
        return param_name
    found = candidates(state, num_classes)
    if len(found) == 1:
        return found[0]
    if not found:
        raise CsceError(f"no classifier bias of shape [{num_classes}] (the train list's class count) with a "
                        f"[*, {num_classes}] weight in the model; its biases: {_describe(state)}. A model without "
                        "a bias cannot be adjusted this way; name another parameter with --param")
    raise CsceError(f"{len(found)} parameters could be the classifier bias: {', '.join(found)}; "
                    "choose one with --param NAME")


def prior_shift(num_class_list: Sequence[int], tau: float) -> List[float]:
    """tau * log(n_c / N): what is subtracted from the bias."""
    counts = check_num_class_list(num_class_list)
    tau = check_tau(tau)
    total = sum(counts)
    return [tau * math.log(count / total) for count in counts]


# --- values in their stored dtype -------------------------------------------------------------------------------


def dtype_name(array: np.ndarray) -> str:
    """The dtype as paddle names it: a uint16 parameter is bfloat16 (paddle.save stores its bit patterns)."""
    return "bfloat16" if array.dtype == np.uint16 else str(array.dtype)


def decode(name: str, array: np.ndarray) -> np.ndarray:
    """The float64 values of a stored parameter (bfloat16 bits widened to float32 exactly), all finite."""
    if array.dtype != np.uint16 and array.dtype.kind != "f":
        raise CsceError(f"{name} has dtype {array.dtype}, not a floating-point parameter")
    values = _values(array)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        index = np.unravel_index(bad[0], values.shape)
        raise CsceError(f"{name} holds {values[index]} at {list(map(int, index))} ({bad.size} value(s) not finite): "
                        "the model is broken, there is nothing sound to adjust")
    return values


def encode(name: str, values: np.ndarray, like: np.ndarray, what: str) -> np.ndarray:
    """float64 values rounded to `like`'s stored dtype (bfloat16: round to nearest even); refused when any of them
    is not finite there (the adjustment `what` overflowed it)."""
    if like.dtype == np.uint16:
        bits = values.astype(np.float32).view(np.uint32)
        stored = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            stored = values.astype(like.dtype)
    if not (np.isfinite(values).all() and np.isfinite(_values(stored)).all()):
        raise CsceError(f"{what} overflows {name} ({dtype_name(like)}): refused, nothing written")
    return stored


def _values(stored: np.ndarray) -> np.ndarray:
    """float64 values of a float or bfloat16 (uint16 bits: the high half of a float32) array."""
    if stored.dtype == np.uint16:
        return (stored.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return stored.astype(np.float64)


# --- the two methods --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Classifier:
    """The last layer's float64 values: bias b [C], weight W [features, C], and their names in the state dict."""

    bias_name: str
    weight_name: str
    bias: np.ndarray
    weight: np.ndarray

    @property
    def norms(self) -> np.ndarray:
        """||w_c||, the length of every class's weight column."""
        return np.sqrt(np.square(self.weight).sum(axis=0))


def classifier(state: Dict[str, np.ndarray], num_classes: int, param_name: Optional[str] = None) -> Classifier:
    """The classifier's bias and weight, decoded (NaN/inf refused)."""
    bias_name = choose_bias(state, num_classes, param_name)
    weight_name = _weight_name(bias_name)
    if _shape(state.get(weight_name))[-1:] != (num_classes,):
        weight_name = ""  # --param named a bias without a [*, C] weight: fine for logit adjustment only
    weight = decode(weight_name, state[weight_name]) if weight_name else np.zeros((0, num_classes))
    return Classifier(bias_name, weight_name, decode(bias_name, state[bias_name]), weight)


def affine(method: str, tau: float, log_prior: np.ndarray, head: Classifier) -> Tuple[np.ndarray, np.ndarray]:
    """(scale, offset), both [C] float64: the adjusted logits are logits * scale + offset."""
    if method == LOGIT_ADJUST:
        return np.ones_like(log_prior), -tau * log_prior
    if not head.weight_name:
        raise CsceError(f"tau-norm needs the classifier weight {_weight_name(head.bias_name)} ([*, C]), not in the "
                        "model")
    norms = head.norms
    if (norms == 0).any():
        raise CsceError(f"{head.weight_name}: the weight of class(es) {np.flatnonzero(norms == 0).tolist()[:10]} is "
                        "all zeros: tau-normalisation divides by its length")
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        scale = norms ** -tau
    if not (np.isfinite(scale).all() and (scale > 0).all()):
        raise CsceError(f"||w_c||^{tau:g} overflows (or underflows to 0) for the lengths of {head.weight_name} "
                        f"({norms.min():.3g}..{norms.max():.3g}): refused, nothing written")
    return scale, -head.bias * scale


def center(method: str, head: Classifier) -> Optional[np.ndarray]:
    """What tau-norm takes off every logit before scaling (the bias), None for logit adjustment: lets the tau search
    scale (logits - b) instead of scaling and shifting (tau_search.search's `center`)."""
    return head.bias if method == TAU_NORM else None


def adjust_state(state: Dict[str, np.ndarray], counts: Sequence[int], tau: float = 1.0,
                 param_name: Optional[str] = None, method: str = LOGIT_ADJUST) -> Tuple[Dict[str, np.ndarray], str]:
    """(a new state dict with the classifier adjusted by `method`, the bias's name); the input is not changed."""
    try:
        log_prior = np.asarray(prior_shift(counts, 1.0), dtype=np.float64)
        tau = check_tau(tau)
    except ParamError as error:
        raise CsceError(str(error)) from None
    head = classifier(state, len(log_prior), param_name)
    scale, offset = affine(method, tau, log_prior, head)
    new_state = dict(state)
    if method == LOGIT_ADJUST:
        with np.errstate(over="ignore", invalid="ignore"):
            bias = head.bias + offset
        new_state[head.bias_name] = encode(head.bias_name, bias, state[head.bias_name],
                                           f"the shift {tau:g} * log(n_c / N)")
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            weight = head.weight * scale
        what = f"dividing by ||w_c||^{tau:g}"
        new_state[head.weight_name] = encode(head.weight_name, weight, state[head.weight_name], what)
        new_state[head.bias_name] = encode(head.bias_name, np.zeros_like(head.bias), state[head.bias_name], what)
    return new_state, head.bias_name


# --- model files ------------------------------------------------------------------------------------------------


def _refuse(path: str, message: str) -> CsceError:
    return CsceError(message, path=path, rule=RULE)


def check_paths(model_path: str, out_path: str) -> None:
    """What can be refused before the model is read: an exported model, no file, the output being the input."""
    if model_path.endswith((".pdiparams", ".pdmodel")):
        raise _refuse(model_path, "an exported inference model is not supported (its parameters have generated "
                                  "names in a static program); adjust the training .pdparams, then export again")
    if not os.path.isfile(model_path):
        raise _refuse(model_path, "no such file" + ("" if model_path.endswith(".pdparams") else
                                                    " (PaddleClas saves models as NAME.pdparams)"))
    if os.path.realpath(out_path) == os.path.realpath(model_path) or \
            (os.path.exists(out_path) and os.path.samefile(model_path, out_path)):
        raise _refuse(out_path, "the output must not be the input model (it is never changed); give another -o")
    folder = os.path.dirname(os.path.realpath(out_path))
    if not os.path.isdir(folder):
        raise _refuse(out_path, f"cannot write: the folder {folder} does not exist")


def read_model(model_path: str) -> Dict[str, np.ndarray]:
    """The state dict's arrays, read as data (model_file.load_state: nothing in the file is run)."""
    return load_state(model_path)


def write_model(model_path: str, out_path: str, changed: Dict[str, np.ndarray]) -> None:
    """The model file again, in its own structure (what paddle.save wrote), with `changed` arrays replaced;
    written atomically (pickle protocol 4, paddle.save's)."""
    original = load_object(model_path)  # the structure: Tensors as (name, array), other entries as they are
    slices = original.get(_BIG, {}) if isinstance(original, dict) else {}
    dropped = {part for key in changed if key in slices for part in slices[key].get("slices", ())}
    result = type(original)()
    for key, value in original.items():
        if key in dropped or (key == _BIG and all(k in changed for k in slices)):
            continue
        if key == _BIG:
            value = {k: v for k, v in value.items() if k not in changed}
        if key in changed:
            value = (value[0], changed[key]) if isinstance(value, tuple) else changed[key]
        result[key] = value
    for key in changed:
        if key not in result:  # it was stored in slices: written whole (protocol 4 has no size limit)
            result[key] = (key, changed[key])
    write_atomic(out_path, pickle.dumps(result, protocol=4))


def write_adjusted(model_path: str, state: Dict[str, np.ndarray], counts: Sequence[int], tau: float, out_path: str,
                   param_name: Optional[str] = None, method: str = LOGIT_ADJUST) -> str:
    """Adjust `state` (read from `model_path`) and write it to `out_path`; the bias's name. A refusal names the
    model (`MODEL: error: ... [adjust]`) and nothing is written."""
    try:
        new_state, name = adjust_state(state, counts, tau, param_name, method)
    except CsceError as error:
        raise _refuse(model_path, error.message) from None
    write_model(model_path, out_path, {key: value for key, value in new_state.items() if value is not state[key]})
    return name


def adjust_file(model_path: str, counts: Sequence[int], tau: float, out_path: str,
                param_name: Optional[str] = None, method: str = LOGIT_ADJUST) -> str:
    """Adjust the .pdparams at `model_path` into `out_path` (atomically; the input never changes); the bias's name.

    Every refusal is one located line, `MODEL: error: what is wrong [adjust]`, and nothing is written."""
    check_paths(model_path, out_path)
    return write_adjusted(model_path, read_model(model_path), counts, tau, out_path, param_name, method)
