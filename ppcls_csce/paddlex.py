"""PaddleX 3 image-classification module configs: recognise one, find the PaddleClas template PaddleX trains from,
and apply PaddleX's own rewrites to it, as text, so every other command works on the config PaddleX will run.

What PaddleX does (3.7.2, read from its source: modules/image_classification/trainer.py `ClsTrainer.update_config`,
repo_apis/PaddleClas_api/cls/config.py `ClsConfig`, modules/base/trainer.py): it loads `Train.basic_config_path`
(else its own template for `Global.model`), sets keys from the module config with PaddleClas's `override_config`
(each value formatted as text, then `eval`'d back), dumps the result as OUTPUT/config.yaml and trains it. Here the
same keys are set with byte-preserving edits of the template's text, so a problem keeps its line. Nothing of
paddlex or paddle is imported: the installed package is found with importlib.util.find_spec and its files read.
"""

import ast
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

from .checks import load_config
from .edit import TextEdit, apply_edits, set_keys
from .errors import CsceError, ProblemsError
from .paddlex_models import CLS_MODELS, PADDLEX_VERSION
from .report import ERROR, Problem
from .yamlsource import Key, YamlSource, parse_yaml

Keys = Tuple[Key, ...]
# The rule ids of the problems about a module config (docs/paddlex.md describes each).
KIND_RULE, TEMPLATE_RULE, DATASET_RULE, CLASSES_RULE = "paddlex-kind", "paddlex-template", "paddlex-dataset", "paddlex-classes"
TEMPLATES = ("repo_apis", "PaddleClas_api", "configs")  # inside the paddlex package
MODEL_LIST = ("modules", "image_classification", "model_list.py")


@dataclass(frozen=True)
class Rewrite:
    """One key PaddleX sets in the PaddleClas config (`target`), to `value`, because of module key `cause`."""

    target: Keys
    value: Any
    cause: Keys


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


def rewrites(module: Module, template: Dict[str, Any], template_path: str) -> List[Rewrite]:
    """The keys PaddleX 3.7.2 sets before training, in its order (ClsTrainer.update_config); a template PaddleX
    could not use is a CsceError at the key it lacks."""
    train = ("Train",)
    found: List[Rewrite] = []

    def add(target: str, value: Any, cause: Keys) -> None:
        found.append(Rewrite(tuple(int(k) if k.isdigit() else k for k in target.split(".")), value, cause))

    for key, target in (("log_interval", "Global.print_batch_step"), ("eval_interval", "Global.eval_interval"),
                        ("save_interval", "Global.save_interval")):
        if module.get(train + (key,)):
            add(target, module.get(train + (key,)), train + (key,))
    root, cause = str(module.dataset_dir), ("Global", "dataset_dir")
    for mode, listing in (("Train", f"{root}/train.txt"), ("Eval", f"{root}/val.txt")):
        add(f"DataLoader.{mode}.dataset.name", "ClsDataset", cause)
        add(f"DataLoader.{mode}.dataset.image_root", root, cause)
        add(f"DataLoader.{mode}.dataset.cls_label_path", listing, cause)
    add("Infer.PostProcess.class_id_map_file", f"{root}/label.txt", cause)
    classes = module.get(train + ("num_classes",))
    if classes is not None:
        add("Arch.class_num", classes, train + ("num_classes",))
        if (template.get("Arch") or {}).get("name") == "DistillationModel":
            add("Arch.models.0.Teacher.class_num", classes, train + ("num_classes",))
            add("Arch.models.1.Student.class_num", classes, train + ("num_classes",))
    weights = module.get(train + ("pretrain_weight_path",), "")
    if weights != "":
        cause = train + ("pretrain_weight_path",)
        pretrained = None if weights is None or str(weights).lower() == "default" else str(weights)
        if pretrained is not None and not pretrained.startswith(("http://", "https://")):
            pretrained = os.path.abspath(pretrained.replace(".pdparams", ""))
        add("Global.pretrained_model", pretrained, cause)
        add("Arch.pretrained", weights is not None and str(weights).lower() == "default", cause)
    sampler = ((template.get("DataLoader") or {}).get("Train") or {}).get("sampler")
    if module.get(train + ("batch_size",)) is not None:
        if not isinstance(sampler, dict):
            raise CsceError(f"{template_path}: no DataLoader.Train.sampler mapping, so PaddleX cannot set "
                            "Train.batch_size in it", rule=TEMPLATE_RULE)
        if sampler.get("batch_size"):
            add("DataLoader.Train.sampler.batch_size", module.get(train + ("batch_size",)), train + ("batch_size",))
        else:  # MultiScaleSampler (first_bs): PaddleX 3.7.2 then renames the dataset and leaves the batch size
            add("DataLoader.Train.dataset.name", "MultiScaleDataset", train + ("batch_size",))
    if module.get(train + ("learning_rate",)) is not None:
        lr = ((template.get("Optimizer") or {}).get("lr")) or {}
        key = "learning_rate" if lr.get("learning_rate") is not None else "max_learning_rate" if lr.get(
            "max_learning_rate") is not None else None
        if key is None:
            raise CsceError(f"{template_path}: Optimizer.lr has neither learning_rate nor max_learning_rate, so PaddleX "
                            "stops with 'unsupported lr format'", rule=TEMPLATE_RULE)
        add(f"Optimizer.lr.{key}", module.get(train + ("learning_rate",)), train + ("learning_rate",))
    if module.get(train + ("epochs_iters",)) is not None:
        add("Global.epochs", module.get(train + ("epochs_iters",)), train + ("epochs_iters",))
    if module.get(train + ("warmup_steps",)) is not None:  # PaddleX's "steps" are PaddleClas's warmup epochs
        add("Optimizer.lr.warmup_epoch", module.get(train + ("warmup_steps",)), train + ("warmup_steps",))
    if module.get(("Global", "output")) is not None:
        add("Global.output_dir", os.path.abspath(str(module.get(("Global", "output")))), ("Global", "output"))
    return found


def as_paddleclas(value: Any) -> Any:
    """What PaddleClas's override_config stores for a value PaddleX formats into `KEY={value}`: its str2num
    `eval`s the text (here a safe literal_eval), so 0.1 stays 0.1 and a path stays a string."""
    text = str(value)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def yaml_scalar(value: Any) -> str:
    """A value as one YAML flow scalar that reads back as the same value."""
    return yaml.safe_dump(value, default_flow_style=True, width=1 << 30).strip().removesuffix("\n...").strip()


def _nested(keys: Keys, value: Any) -> str:
    text = yaml_scalar(value)
    for key in reversed(keys):
        text = f"{{{key}: {text}}}"
    return text


def apply_rewrites(text: str, path: str, found: Sequence[Rewrite]) -> YamlSource:
    """The template text with every rewrite applied (a later one of the same key wins, as in PaddleX); a key whose
    mapping is missing is added with its missing parents, as override_config adds them."""
    final: Dict[Keys, Any] = {}
    for rewrite in found:
        final[rewrite.target] = as_paddleclas(rewrite.value)
    source = parse_yaml(text, path)
    for _ in range(4):  # each round adds one level of missing parents at most
        grouped: Dict[Keys, List[Tuple[str, str]]] = {}
        for target, value in final.items():
            if source.get(target, _MISSING) == value and source.node_at(target) is not None:
                continue
            depth = len(target) - 1
            while depth > 0 and not isinstance(source.node_at(target[:depth]), yaml.MappingNode):
                depth -= 1
            parent = target[:depth]
            if not isinstance(source.node_at(parent), yaml.MappingNode) or any(isinstance(k, int) for k in target[depth:]):
                raise CsceError(f"{path}: {'.'.join(map(str, target))} cannot be set (PaddleX's override of it fails "
                                "on this template)", rule=TEMPLATE_RULE)
            child = str(target[depth])
            grouped.setdefault(parent, []).append((child, _nested(target[depth + 1:], value)))
        if not grouped:
            return source
        edits: List[TextEdit] = []
        for parent, items in grouped.items():
            node = source.node_at(parent)
            assert isinstance(node, yaml.MappingNode)
            edits.extend(set_keys(source.text, node, items))
        source = parse_yaml(apply_edits(source.text, edits), path)
    raise CsceError(f"{path}: PaddleX's rewrites do not settle on this template", rule=TEMPLATE_RULE)


_MISSING = object()
