"""PaddleX's rewrites of a PaddleClas template, applied as text edits (PaddleX 3.7.2, read from its source:
modules/image_classification/trainer.py `ClsTrainer.update_config`, repo_apis/PaddleClas_api/cls/config.py
`ClsConfig`): every key it sets from the module config, in its order, each value as PaddleClas's `override_config`
stores it. Byte-preserving edits, so every other line of the template keeps its number.
"""

import ast
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

import yaml

from .edit import TextEdit, apply_edits, set_keys
from .errors import CsceError
from .paddlex import TEMPLATE_RULE, Keys, Module
from .yamlsource import YamlSource, parse_yaml


@dataclass(frozen=True)
class Rewrite:
    """One key PaddleX sets in the PaddleClas config (`target`), to `value`, because of module key `cause`."""

    target: Keys
    value: Any
    cause: Keys


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
            raise CsceError(f"no DataLoader.Train.sampler mapping, so PaddleX cannot set "
                            "Train.batch_size in it", path=str(template_path), rule=TEMPLATE_RULE)
        if sampler.get("batch_size"):
            add("DataLoader.Train.sampler.batch_size", module.get(train + ("batch_size",)), train + ("batch_size",))
        else:  # MultiScaleSampler (first_bs): PaddleX 3.7.2 then renames the dataset and leaves the batch size
            add("DataLoader.Train.dataset.name", "MultiScaleDataset", train + ("batch_size",))
    if module.get(train + ("learning_rate",)) is not None:
        lr = ((template.get("Optimizer") or {}).get("lr")) or {}
        key = "learning_rate" if lr.get("learning_rate") is not None else "max_learning_rate" if lr.get(
            "max_learning_rate") is not None else None
        if key is None:
            raise CsceError(f"Optimizer.lr has neither learning_rate nor max_learning_rate, so PaddleX "
                            "stops with 'unsupported lr format'", path=str(template_path), rule=TEMPLATE_RULE)
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
                raise CsceError(f"{'.'.join(map(str, target))} cannot be set (PaddleX's override of it fails "
                                "on this template)", path=str(path), rule=TEMPLATE_RULE)
            child = str(target[depth])
            grouped.setdefault(parent, []).append((child, _nested(target[depth + 1:], value)))
        if not grouped:
            return source
        edits: List[TextEdit] = []
        for parent, items in grouped.items():
            node = source.node_at(parent)
            assert isinstance(node, yaml.MappingNode)
            edits.extend(set_keys(source.text, node, items))
        source = parse_yaml(apply_edits(source.text, edits, source), path)  # shared (anchored) values refused, located
    raise CsceError(f"PaddleX's rewrites do not settle on this template", path=str(path), rule=TEMPLATE_RULE)


_MISSING = object()
