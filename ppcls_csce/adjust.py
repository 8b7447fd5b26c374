"""Post-hoc logit adjustment (Menon et al., ICLR 2021): a CE-trained model predicts argmax(z - tau * log(prior)).

The logits of a classifier are z = W^T h + b, so subtracting tau * log(n_c / N) from the classifier's bias b
gives exactly those adjusted logits, with no retraining and no change to PaddleClas's evaluation or export.

Supported: the `.pdparams` state dicts that PaddleClas's tools/train.py saves (`best_model.pdparams`,
`epoch_N.pdparams`, `latest.pdparams`; the loss's state, such as `loss_func.0.train_steps`, may be merged in
and is kept as it is). Not supported: an exported inference model (`inference.pdiparams`). That file holds the
parameters of a static program under generated names (`linear_0.b_0`) in a format paddle.load does not read
back as a state dict, so the classifier bias cannot be told apart safely; adjust the .pdparams and export again
(tools/export_model.py -o Global.pretrained_model=OUT without its .pdparams suffix).
"""

import io
import math
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .atomic import write_atomic
from .errors import CsceError
from .params import ParamError, check_num_class_list, check_tau

RULE = "adjust"  # the [id] at the end of every refusal


def _shape(value: Any) -> Tuple[int, ...]:
    return tuple(int(size) for size in getattr(value, "shape", ()))


def candidates(state: Dict[str, Any], num_classes: int) -> List[str]:
    """The biases of shape [C] whose layer (same prefix, `.weight`) has a [*, C] weight, in state-dict order."""
    found = []
    for name, value in state.items():
        if not (name == "bias" or name.endswith(".bias")) or _shape(value) != (num_classes,):
            continue
        weight = state.get(name[: -len("bias")] + "weight")
        shape = _shape(weight)
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


def adjust_state(state_dict: Dict[str, Any], counts: Sequence[int], tau: float = 1.0,
                 param_name: Optional[str] = None) -> Tuple[Dict[str, Any], str]:
    """(a new state dict with the classifier bias minus tau * log(prior), the bias's name); the input is not changed.

    Values may be paddle Tensors (what paddle.load gives) or numpy arrays; the adjusted bias keeps its type and dtype.
    """
    import numpy as np

    try:
        shift = np.asarray(prior_shift(counts, tau), dtype=np.float64)
    except ParamError as error:
        raise CsceError(str(error)) from None
    name = choose_bias(state_dict, len(shift), param_name)
    value = state_dict[name]
    as_numpy = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
    adjusted = (as_numpy.astype(np.float64) - shift).astype(as_numpy.dtype)
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        import paddle

        adjusted = paddle.to_tensor(adjusted, dtype=value.dtype)
    new_state = dict(state_dict)
    new_state[name] = adjusted
    return new_state, name


def adjust_file(model_path: str, counts: Sequence[int], tau: float, out_path: str,
                param_name: Optional[str] = None) -> str:
    """Adjust the .pdparams at `model_path` into `out_path` (atomically; the input never changes); the bias's name.

    Every refusal is one line, `MODEL: error: what is wrong [adjust]`, and nothing is written."""
    def refuse(path: str, message: str) -> CsceError:
        return CsceError(message, path, rule=RULE)

    if model_path.endswith((".pdiparams", ".pdmodel")):
        raise refuse(model_path, "an exported inference model is not supported (its parameters have generated names "
                                 "in a static program); adjust the training .pdparams, then export again")
    if not os.path.isfile(model_path):
        raise refuse(model_path, "no such file" + ("" if model_path.endswith(".pdparams") else
                                                   " (PaddleClas saves models as NAME.pdparams)"))
    if os.path.realpath(out_path) == os.path.realpath(model_path) or \
            (os.path.exists(out_path) and os.path.samefile(model_path, out_path)):
        raise refuse(out_path, "the output must not be the input model (it is never changed); give another -o")
    folder = os.path.dirname(os.path.realpath(out_path))
    if not os.path.isdir(folder):
        raise refuse(out_path, f"cannot write: the folder {folder} does not exist")
    import paddle

    try:
        state = paddle.load(model_path)
    except Exception as error:  # paddle raises many kinds for a file that is not a saved state dict
        first = str(error).splitlines()[0] if str(error) else ""
        raise refuse(model_path, f"cannot be read by paddle.load ({type(error).__name__}: {first})") from None
    if not isinstance(state, dict):
        raise refuse(model_path, f"not a state dict (paddle.load gave a {type(state).__name__})")
    try:
        new_state, name = adjust_state(state, counts, tau, param_name)
    except CsceError as error:
        raise refuse(model_path, error.message) from None
    buffer = io.BytesIO()
    paddle.save(new_state, buffer)
    write_atomic(out_path, buffer.getvalue())
    return name
