"""PaddleX 3 image-classification module configs: recognise one, find the PaddleClas template PaddleX trains from,
and apply PaddleX's own rewrites to it, as text, so every other command works on the config PaddleX will run.

What PaddleX does (3.7.2, read from its source: modules/base/trainer.py): it loads `Train.basic_config_path` (else
its own template for `Global.model`), sets keys from the module config (paddlex_rewrites.py applies the same) and
trains the result. Nothing of paddlex or paddle is imported: the installed package is found with
importlib.util.find_spec and its files read.
"""

import ast
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

from .checks import load_config
from .errors import ProblemsError
from .paddlex_models import CLS_MODELS, PADDLEX_VERSION
from .report import ERROR, Problem
from .rules.command import PADDLEX_CLASSES, PADDLEX_DATASET, PADDLEX_KIND, PADDLEX_TEMPLATE
from .yamlsource import Key, YamlSource

Keys = Tuple[Key, ...]
# The ids of the problems about a module config, documented in rules/command.py.
KIND_RULE, TEMPLATE_RULE, DATASET_RULE, CLASSES_RULE = (code.id for code in (PADDLEX_KIND, PADDLEX_TEMPLATE,
                                                                          PADDLEX_DATASET, PADDLEX_CLASSES))
TEMPLATES = ("repo_apis", "PaddleClas_api", "configs")  # inside the paddlex package
MODEL_LIST = ("modules", "image_classification", "model_list.py")


@dataclass
class Module:
    """A PaddleX image-classification module config with PaddleX's `-o` overrides applied (as PaddleX parses them)."""

    source: YamlSource
    data: Dict[str, Any]
    overrides: Dict[Keys, Any]

    @property
    def path(self) -> str:
        return self.source.path

    def get(self, keys: Keys, default: Any = None) -> Any:
        node: Any = self.data
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node

    def problem(self, keys: Keys, rule: str, message: str) -> Problem:
        """A problem at `keys` in the module config (its nearest line when the key came from an override)."""
        line, column = self.source.position(keys)
        where = " (set on the command line)" if keys in self.overrides else ""
        return Problem(self.path, line, column, ERROR, rule, message + where)

    @property
    def dataset_dir(self) -> Path:
        """Global.dataset_dir as PaddleX resolves it (os.path.abspath: from the folder PaddleX runs in)."""
        return Path(os.path.abspath(str(self.get(("Global", "dataset_dir"), ""))))

    @property
    def world_size(self) -> int:
        """Training cards from Global.device: `gpu:0,1,2,3` is 4, `cpu` or `gpu` is 1."""
        device = str(self.get(("Global", "device"), "cpu"))
        _, _, ids = device.partition(":")
        return max(1, len([part for part in ids.split(",") if part.strip()]))


def looks_like_module(data: Any) -> bool:
    """A PaddleX module config: `Global.model` names a model and there is no PaddleClas `Arch` (cheap, on data)."""
    return (isinstance(data, dict) and isinstance(data.get("Global"), dict) and "model" in data["Global"]
            and "Arch" not in data and isinstance(data.get("Train", {}), dict))


def paddlex_dir() -> Optional[Path]:
    """The installed paddlex package's folder, found without importing it (None: not installed here)."""
    try:
        spec = importlib.util.find_spec("paddlex")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent


def cls_models(package: Optional[Path]) -> Tuple[str, ...]:
    """The image-classification models: the installed paddlex's model_list.py (read, never imported), else
    PaddleX 3.7.2's list."""
    if package is not None:
        try:
            text = package.joinpath(*MODEL_LIST).read_text(encoding="utf-8")
            return tuple(ast.literal_eval(text.split("MODELS =", 1)[1].strip()))
        except (OSError, IndexError, ValueError, SyntaxError):
            pass
    return CLS_MODELS


def _module_kind(package: Optional[Path], model: str) -> Optional[str]:
    """Which PaddleX module (object_detection, ...) lists `model`, from the installed package's model lists."""
    if package is None:
        return None
    for listing in sorted(package.joinpath("modules").glob("*/model_list.py")):
        try:
            if f'"{model}"' in listing.read_text(encoding="utf-8"):
                return listing.parent.name
        except OSError:
            continue
    return None


def parse_value(text: str) -> Any:
    """A `-o KEY=VALUE` value as PaddleX's own override parser reads it (paddlex/utils/config.py parse_str, with a
    safe literal_eval for its eval: a value that is not a Python literal stays a string)."""
    if text in "None":  # PaddleX's `s in ("None")` is a substring test: "" and "None" both give None
        return None
    if text in ("TRUE", "True", "true", "T", "t"):
        return True
    if text in ("FALSE", "False", "false", "F", "f"):
        return False
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def parse_override(option: str) -> Tuple[Keys, Any]:
    """`Train.epochs_iters=20` -> (("Train", "epochs_iters"), 20); PaddleX refuses more or fewer than one `=`."""
    if option.count("=") != 1:
        raise ValueError(f"{option!r}: PaddleX's -o takes KEY=VALUE with exactly one '=' (e.g. Train.epochs_iters=20)")
    key, value = option.split("=")
    if not key or any(not part for part in key.split(".")):
        raise ValueError(f"{option!r}: the key must be dotted names, e.g. Train.epochs_iters")
    return tuple(key.split(".")), parse_value(value)


def _attr_values(value: Any) -> Any:
    """PaddleX's create_attr_dict: a string value of the module config that is a Python literal becomes it."""
    if isinstance(value, dict):
        return {key: _attr_values(item) for key, item in value.items()}
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return value
    return value


def load_module(path: str, overrides: Sequence[str] = (), source: Optional[YamlSource] = None) -> Module:
    """The module config with the overrides applied; another kind of PaddleX module (detection, OCR, segmentation,
    multi-label, ...) is one located error saying what is supported."""
    source = source if source is not None else load_config(path)
    data = _attr_values(source.data)
    applied: Dict[Keys, Any] = {}
    for option in overrides:
        keys, value = parse_override(option)
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {}) if isinstance(node, dict) else node
        if not isinstance(node, dict):
            raise ValueError(f"{option!r}: {'.'.join(map(str, keys[:-1]))} is not a mapping in {path}")
        node[keys[-1]] = value
        applied[keys] = value
    module = Module(source, data, applied)
    model = module.get(("Global", "model"))
    package = paddlex_dir()
    train = module.get(("Train",))
    if not isinstance(model, str) or model not in cls_models(package):
        kind = _module_kind(package, str(model))
        what = f"a PaddleX {kind} module config" if kind else f"Global.model {model!r} is no PaddleX image-classification model"
        raise ProblemsError([module.problem(("Global", "model"), KIND_RULE, f"{what}: csce-config supports PaddleX "
                                            f"image-classification module configs only (paddlex/configs/modules/"
                                            f"image_classification/*.yaml, single-label, PaddleX {PADDLEX_VERSION})")])
    if not isinstance(train, dict) or not {"num_classes", "epochs_iters"} <= set(train):
        raise ProblemsError([module.problem(("Train",), KIND_RULE, "not a PaddleX image-classification module config: "
                                            "its Train section needs num_classes and epochs_iters")])
    return module


def find_template(module: Module, template: Optional[str] = None) -> Tuple[str, bool]:
    """The PaddleClas config PaddleX starts from, and whether it is the user's own (Train.basic_config_path or
    --template, which --fix may edit) rather than the installed paddlex package's."""
    basic = module.get(("Train", "basic_config_path"))
    if basic not in (None, ""):
        if template is not None:
            raise ProblemsError([module.problem(("Train", "basic_config_path"), TEMPLATE_RULE,
                                                f"Train.basic_config_path is set, so PaddleX trains {basic}, not "
                                                f"--template {template}: drop --template (or the key)")])
        if not Path(str(basic)).is_file():
            raise ProblemsError([module.problem(("Train", "basic_config_path"), TEMPLATE_RULE,
                                                f"Train.basic_config_path {basic!r} is no file (PaddleX reads it from "
                                                "the folder it runs in): fix the path, or remove the key to use "
                                                "PaddleX's own template")])
        return str(basic), True
    if template is not None:
        return template, True
    model = str(module.get(("Global", "model")))
    package = paddlex_dir()
    if package is not None and package.joinpath(*TEMPLATES, f"{model}.yaml").is_file():
        return str(package.joinpath(*TEMPLATES, f"{model}.yaml")), False
    looked = (f"{package.joinpath(*TEMPLATES, model + '.yaml')} does not exist" if package is not None
              else "no paddlex package is installed in this Python")
    raise ProblemsError([module.problem(("Global", "model"), TEMPLATE_RULE,
                                        f"no PaddleClas template for {model}: Train.basic_config_path is not set and {looked}; "
                                        "give --template FILE (PaddleX's paddlex/repo_apis/PaddleClas_api/configs/"
                                        f"{model}.yaml), or set Train.basic_config_path")])
