"""What `report` reads before any forward pass, without paddle: the config (safe YAML, PaddleClas's eval()'d
names checked like validate does), the evaluation list (labels in range, every image there, not empty: each
bad line located), the training counts (the config's train list, scanned as stats does) and the class names.

Everything is checked here, up front, so a bad input costs no model build and leaves nothing half written.
Relative paths are resolved as PaddleClas resolves them: from the working folder (run report where you run
tools/eval.py), image paths from the dataset's image_root (or --data-root).
"""

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from . import ppconfig
from .checks import load_config, require_clean
from .errors import CsceError, ProblemsError
from .report import ERROR, Problem, note
from .rules import Options
from .rules.eval_names import RULES as EVAL_NAME_RULES
from .rules.yaml_file import TOP_LEVEL
from .scanner import SHOWN_PROBLEMS, scan_lists
from .yamlsource import YamlSource

RULE = "report-input"
EVAL_DATASET = ("DataLoader", "Eval", "dataset")


@dataclass
class Inputs:
    """The checked inputs of one report: where the images are and what the classes are."""

    config: str
    class_num: int
    eval_list: str
    image_root: str
    delimiter: str
    eval_lines: int
    train_counts: Optional[List[int]] = None
    train_list: Optional[str] = None
    class_names: Dict[int, str] = field(default_factory=dict)
    notes: List[Problem] = field(default_factory=list)


def _at(source: YamlSource, keys: Tuple, message: str) -> CsceError:
    line, column = source.position(keys)
    return CsceError(message, path=source.path, line=line, column=column, rule=RULE)


def class_count(source: YamlSource) -> int:
    """Arch.class_num (or Arch.Head.class_num), refused at its place unless a class count."""
    value, keys = ppconfig.class_num(source)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _at(source, keys, f"{'.'.join(map(str, keys))} must be the number of classes, got {value!r}")
    return value


def _too_many(problems: List[Problem], total: int) -> List[Problem]:
    shown = problems[:SHOWN_PROBLEMS]
    if total > len(shown):
        shown.append(note(f"... and {total - len(shown)} more bad lines", shown[-1].path, severity=ERROR))
    return shown


def check_eval_list(path: str, image_root: str, delimiter: str, class_num: int) -> int:
    """Every line of the evaluation list parses, has a label below class_num and an image that exists; the
    number of images. Raises ProblemsError with each bad line located (the first few and how many)."""
    scanned = scan_lists([path], delimiter=delimiter, class_num=class_num)
    if scanned.problem_total:
        raise ProblemsError(_too_many(list(scanned.problems), scanned.problem_total))
    if scanned.samples == 0:
        raise CsceError("no images: the evaluation list is empty (or has only blank lines)", path=path, rule=RULE)
    missing: List[Problem] = []
    total = 0
    with open(path, "rb") as handle:  # as ImageNetDataset reads it: strip, split, join with image_root
        for number, raw in enumerate(handle, start=1):
            text = raw.decode("utf-8", errors="surrogateescape").strip()
            if not text:
                continue
            image = os.path.join(image_root, text.split(delimiter)[0])
            if not os.path.isfile(image):
                total += 1
                if len(missing) < SHOWN_PROBLEMS:
                    missing.append(Problem(path, number, None, ERROR, RULE, f"no image at {image}"))
    if total:
        raise ProblemsError(_too_many(missing, total))
    return scanned.samples


def train_counts(source: YamlSource, class_num: int) -> Tuple[Optional[List[int]], Optional[str], str]:
    """(counts of classes 0..C-1, the list, why not) from DataLoader.Train.dataset.cls_label_path."""
    dataset = ppconfig.train_dataset(source) or {}
    listed = dataset.get("cls_label_path")
    if not isinstance(listed, str) or not listed:
        return None, None, "the config names no DataLoader.Train.dataset.cls_label_path"
    if not os.path.isfile(listed):
        return None, listed, f"the train list {listed} is not there (paths resolve from the working folder)"
    scanned = scan_lists([listed], delimiter=ppconfig.delimiter(source), class_num=class_num)
    if scanned.problem_total:
        raise ProblemsError(_too_many(list(scanned.problems), scanned.problem_total))
    if scanned.samples == 0:
        return None, listed, f"the train list {listed} is empty"
    return scanned.num_class_list(class_num), listed, ""


def read_names(path: str, class_num: int) -> Dict[int, str]:
    """`id name` lines (PaddleClas's class_id_map_file): the name is everything after the first space."""
    names: Dict[int, str] = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            head, _, name = text.partition(" ")
            digits = head[1:] if head.startswith("-") else head
            if not (digits.isascii() and digits.isdigit()):  # `²` is a Unicode digit, but no id int() reads
                raise CsceError(f"a label file line is `id name`, got {text[:40]!r}", path=path, line=number, rule=RULE)
            label = int(head)
            if 0 <= label < class_num:
                names[label] = name.strip()
    return names


def class_names(source: YamlSource, class_num: int, label_file: Optional[str],
                paddleclas: Optional[str]) -> Tuple[Dict[int, str], Optional[str]]:
    """Names from --label-file, else Infer.PostProcess.class_id_map_file (from the working folder, then from
    the PaddleClas checkout, where its own configs point); ({}, why) when there are none."""
    if label_file is not None:
        return read_names(label_file, class_num), None
    mapped = source.get(("Infer", "PostProcess", "class_id_map_file"))
    if not isinstance(mapped, str) or not mapped:
        return {}, None
    for candidate in (mapped, os.path.join(paddleclas or "", mapped)):
        if os.path.isfile(candidate):
            return read_names(candidate, class_num), None
    return {}, f"Infer.PostProcess.class_id_map_file {mapped} is not there: classes are shown by id"


def _eval_inputs(source: YamlSource, dataset: dict, class_num: int, val_list: Optional[str],
                 data_root: Optional[str]) -> Inputs:
    eval_list = val_list or dataset.get("cls_label_path")
    image_root = data_root or dataset.get("image_root")
    for key, value in (("cls_label_path", eval_list), ("image_root", image_root)):
        if not isinstance(value, str) or not value:
            raise _at(source, EVAL_DATASET, f"DataLoader.Eval.dataset.{key} is not set (or give "
                                            f"{'--val-list' if key == 'cls_label_path' else '--data-root'})")
    if not os.path.isfile(eval_list):
        raise CsceError("no such evaluation list (paths resolve from the working folder)", path=eval_list, rule=RULE)
    if not os.path.isdir(image_root):
        raise CsceError("no such image folder (image_root; paths resolve from the working folder)",
                        path=image_root, rule=RULE)
    delimiter = dataset.get("delimiter") if isinstance(dataset.get("delimiter"), str) and dataset["delimiter"] else " "
    lines = check_eval_list(eval_list, image_root, delimiter, class_num)
    return Inputs(source.path, class_num, eval_list, image_root, delimiter, lines)


def read_inputs(config: str, val_list: Optional[str], data_root: Optional[str], label_file: Optional[str],
                paddleclas: Optional[str], check_eval: bool = True) -> Inputs:
    """Check the config and the lists; what the forward pass and the report need (check_eval False: saved
    logits are reported, so only the class count, names and training counts are read)."""
    source = load_config(config)
    require_clean(source, Options(), [TOP_LEVEL, *EVAL_NAME_RULES])  # PaddleClas eval()s some of this text
    class_num = class_count(source)
    dataset = source.get(EVAL_DATASET)
    if not check_eval:
        inputs = Inputs(config, class_num, val_list or "", data_root or "", " ", 0)
    elif not isinstance(dataset, dict):
        raise _at(source, ("DataLoader",), "the config has no DataLoader.Eval.dataset to evaluate with")
    else:
        inputs = _eval_inputs(source, dataset, class_num, val_list, data_root)
    inputs.train_counts, inputs.train_list, why = train_counts(source, class_num)
    if why:
        inputs.notes.append(note(f"no training counts ({why}): no shot groups, classes in id order", config))
    if check_eval and source.get(("AMP", "use_fp16_test")) is True:
        line, column = source.position(("AMP", "use_fp16_test"))
        inputs.notes.append(Problem(config, line, column, "note", "", "tools/eval.py runs this config in float16 "
                                    "(AMP.use_fp16_test); report runs float32, so a figure may differ slightly"))
    inputs.class_names, why = class_names(source, class_num, label_file, paddleclas)
    if why:
        inputs.notes.append(note(why, config))
    return inputs
