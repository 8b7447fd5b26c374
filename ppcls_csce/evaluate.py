"""The forward pass of `report`: PaddleClas's own build_model and Eval dataloader (transforms, sampler, loader
from the config) imported from the checkout given, the model's weights read by the safe loader and checked
against what the config builds, then the list once, batched, with a progress bar on stderr.

What it measures is what tools/eval.py measures: the same config (PaddleClas's parse_config), the same
dataset and transforms, model.eval() under paddle.no_grad(), out["logits"] (or out["Student"]) for dict outputs,
RecModel heads called with the label. Float32 only: a config with AMP.use_fp16_test evaluates in float16 there.
"""

import importlib
import logging
import os
import sys
import warnings
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from .errors import CsceError
from .model_file import load_state
from .report_inputs import Inputs
from .shell import command

RULE = "report-model"
SHOWN = 3  # parameters named in a refusal


def import_ppcls(paddleclas: str) -> Dict[str, Any]:
    """ppcls's arch, data and config modules from the checkout (put first on sys.path); refuses a ppcls that is
    already imported from elsewhere, which would silently measure another PaddleClas."""
    root = os.path.realpath(paddleclas)
    if not os.path.isfile(os.path.join(root, "ppcls", "arch", "__init__.py")):
        raise CsceError("not a PaddleClas checkout (no ppcls/arch/__init__.py in it)", path=paddleclas, rule=RULE)
    loaded = sys.modules.get("ppcls")
    if loaded is not None and not os.path.realpath(getattr(loaded, "__file__", "") or "").startswith(root + os.sep):
        raise CsceError(f"another ppcls is already imported in this process ({loaded.__file__})", path=paddleclas,
                        rule=RULE)
    if root not in sys.path:
        sys.path.insert(0, root)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No ccache found")
        modules = {name: importlib.import_module(f"ppcls.{name}") for name in ("arch", "data", "utils.config",
                                                                               "utils.logger")}
    modules["utils.logger"].init_logger(log_level=logging.WARNING)  # PaddleClas's own warnings, on stderr
    for handler in logging.getLogger("ppcls").handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setStream(sys.stderr)
    return modules


def fit_problem(state: Dict[str, np.ndarray], expected: Dict[str, Tuple[int, ...]], arch: str,
                class_num: int) -> str:
    """Why the weights in `state` cannot be loaded into the network the config builds ("" when they can)."""
    missing = [name for name in expected if name not in state]
    if missing and len(missing) * 2 >= len(expected):
        found = [name for name in state if name not in expected][:SHOWN]
        return (f"not a model of the config's architecture {arch}: {len(expected) - len(missing)} of the "
                f"{len(expected)} parameters it builds are in the file (it expects {', '.join(missing[:SHOWN])}; "
                f"the file has {', '.join(found) or 'nothing else'})")
    if missing:
        return (f"lacks {len(missing)} of the {len(expected)} parameters the config's {arch} builds: "
                f"{', '.join(missing[:SHOWN])}{', ...' if len(missing) > SHOWN else ''}")
    wrong = [(name, tuple(state[name].shape), shape) for name, shape in expected.items()
             if tuple(state[name].shape) != tuple(shape)]
    if wrong:
        name, have, want = wrong[0]
        hint = f" (the config's class_num is {class_num})" if class_num in want or class_num in have else ""
        more = f"; {len(wrong) - 1} more differ" if len(wrong) > 1 else ""
        return (f"parameter {name} has shape {list(have)} in the model but {list(want)} in the {arch} the config "
                f"builds{hint}{more}")
    return ""


def _place(paddle: Any) -> Any:
    name = str(paddle.device.get_device())
    return paddle.CUDAPlace(int(name.split(":")[1])) if name.startswith("gpu") else paddle.CPUPlace()


def _logits_of(out: Any) -> Any:
    if isinstance(out, dict) and "Student" in out:
        out = out["Student"]
    if isinstance(out, dict) and "logits" in out:
        out = out["logits"]
    return out


def forward(inputs: Inputs, models: Sequence[str], paddleclas: str, device: str, batch_size: int,
            progress: bool = True) -> Tuple[List[np.ndarray], np.ndarray, str]:
    """Logits of each model ([N, C] float32, list order) and the labels [N]; the device used, in words.

    Every model file is read and checked against the network before the first image is loaded."""
    from .paddle_import import import_paddle

    import_paddle("report --model")  # Ctrl-C during paddle's import stays an interrupt (exit 130)
    try:
        from .smoke.device import on_device, paddle  # the one place paddle is told the device

        modules = import_ppcls(paddleclas)
    except ImportError as error:
        hint = command("pip", "install", "ppcls-csce[paddle,engine]")  # quoted for the user's shell
        raise CsceError(f"report --model needs paddle and PaddleClas's requirements ({error}); {hint}") from None

    config = modules["utils.config"].parse_config(inputs.config)
    eval_config = config["DataLoader"]["Eval"]
    eval_config["dataset"]["cls_label_path"] = inputs.eval_list
    eval_config["dataset"]["image_root"] = inputs.image_root
    if batch_size:
        eval_config["sampler"]["batch_size"] = batch_size
    config["DataLoader"].update({"class_num": inputs.class_num, "epochs": config["Global"].get("epochs", 1)})
    arch = str(config["Arch"].get("name", "?"))
    is_rec = "Head" in config["Arch"] or bool(config["Arch"].get("is_rec", False))
    with on_device(device) as info:
        config["Global"]["device"] = "gpu" if info.selected.startswith("gpu") else "cpu"
        network = modules["arch"].build_model(config, "eval")
        expected = {name: tuple(value.shape) for name, value in network.state_dict().items()}
        states = []
        for path in models:
            state = load_state(path)
            why = fit_problem(state, expected, arch, inputs.class_num)
            if why:
                raise CsceError(why, path=path, rule=RULE)
            states.append({name: state[name] for name in expected})
        loader = modules["data"].build_dataloader(config["DataLoader"], "Eval", _place(paddle), False)
        results = [_run(paddle, network, state, loader, is_rec, inputs.eval_lines, path, progress)
                   for path, state in zip(models, states)]
    labels = results[0][1]
    return [logits for logits, _ in results], labels, f"{info.selected} ({info.why})"


def _run(paddle: Any, network: Any, state: Dict[str, np.ndarray], loader: Any, is_rec: bool, total: int,
         name: str, progress: bool) -> Tuple[np.ndarray, np.ndarray]:
    from tqdm import tqdm

    network.set_state_dict(state)
    network.eval()
    logits, labels = [], []
    with paddle.no_grad(), tqdm(total=total, unit="img", file=sys.stderr, disable=not progress,
                                desc=os.path.basename(name), dynamic_ncols=True) as bar:
        for batch in loader:
            images = batch[0] if isinstance(batch[0], paddle.Tensor) else paddle.to_tensor(batch[0])
            label = batch[1].reshape([-1, 1]).astype("int64")
            out = _logits_of(network(images, label) if is_rec else network(images))
            logits.append(np.asarray(out.numpy(), dtype=np.float32))
            labels.append(np.asarray(label.numpy()).reshape(-1))
            bar.update(int(images.shape[0]))
    return np.concatenate(logits), np.concatenate(labels).astype(np.int64)
