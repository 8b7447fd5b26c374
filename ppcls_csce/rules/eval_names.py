"""Config text that PaddleClas hands to Python's `eval()`: a config is code there, so check it like code.

Where PaddleClas (develop, 2024-10) calls `eval()` on config text, checked in its source:
  names (eval(name) then calls the result with the config's parameters)
    - every loss name in `Loss.<section>` and `UnLabelLoss.Train`      ppcls/loss/__init__.py (CombinedLoss)
    - `base_loss_name` of the distillation pair losses                   ppcls/loss/distillationloss.py
    - every metric name in `Metric.Train` / `Metric.Eval`                ppcls/metric/__init__.py (CombinedMetrics)
    - `DataLoader.<mode>.dataset.name` and `.sampler.name`               ppcls/data/__init__.py (build_dataloader)
    - the operator names inside an `OpSampler` batch operator            ppcls/data/preprocess/batch_ops/batch_operators.py
    - the transform names inside `RandomApply.transforms`                ppcls/data/preprocess/ops/randaugment.py
    - `Arch.Backbone.name` (RecModel), `Arch.models[i].<Name>.name`      ppcls/arch/__init__.py
    - `Infer.PostProcess.func` (DistillationPostProcess)                 ppcls/data/postprocess/__init__.py
    - `norm_layer`, `sub_norm`, `block_unit`, `act` under `Arch`         ppcls/arch/backbone/model_zoo/{vision_transformer,foundation_vit,svtrnet}.py
  expressions (eval(text) when the value is a string, e.g. `scale: 1.0/255.0`)
    - `NormalizeImage.scale`                                             ppcls/data/preprocess/ops/operators.py, dataloader/dali.py
    - `RandomErasing.EPSILON`, `.sl`, `.sh`, `.r1`                       ppcls/data/preprocess/ops/random_erasing.py
    - `lr_mult_list` under `Arch` (PPLCNet)                              ppcls/arch/backbone/legendary_models/pp_lcnet.py
Names that PaddleClas resolves with getattr (Arch.name, optimizer, lr, transform ops) or checks against a
fixed list first (Neck/Head names) cannot run code and are not checked here.
"""

import ast
import builtins
import keyword
import unicodedata
from typing import Any, Iterable, Iterator, List, Optional, Tuple

from ..report import Problem
from .base import ERROR, WARNING, Context, Keys, Rule, dotted, loss_sections

_BUILTINS = frozenset(dir(builtins))
_MAX_EXPRESSION = 200  # characters; real values are like "1.0/255.0"
_ARCH_NAME_KEYS = ("norm_layer", "sub_norm", "block_unit", "act")
_EXPRESSION_KEYS = {"NormalizeImage": ("scale",), "RandomErasing": ("EPSILON", "sl", "sh", "r1")}
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)  # no **: 9**9**9 never ends


def _shown(name: str) -> str:
    """A name as a message shows it: quoted, with anything not printable ASCII escaped (so a look-alike shows)."""
    return ascii(name) if not name.isascii() or not name.isprintable() else repr(name)


def name_problem(name: Any, dotted_ok: bool = False) -> Optional[str]:
    """Why `eval(name)` is not a plain lookup of a class or function name, or None when it is.

    Judged on the name as Python sees it: identifiers are NFKC-normalised before the lookup, so `ｏｐｅｎ`
    (full-width), `ℯval` and `ᵒpen` are the builtins open and eval."""
    if not isinstance(name, str):
        return f"must be a name, got {name!r}"
    seen = unicodedata.normalize("NFKC", name)
    as_python = "" if seen == name else f" (Python reads it as {seen!r}: identifiers are NFKC-normalised)"
    parts = seen.split(".") if dotted_ok else [seen]
    for part in parts:
        if not part.isidentifier() or keyword.iskeyword(part):
            return (f"{_shown(name)} is not a plain Python {'(dotted) ' if dotted_ok else ''}name: PaddleClas passes "
                    "it to eval(), so this text would run as Python code when training starts (security)")
        if part.startswith("__"):
            return f"{_shown(name)} reaches a Python internal ({part}) through eval(){as_python} (security)"
    if parts[0] in _BUILTINS:
        return (f"{_shown(name)} is Python's builtin {parts[0]}(){as_python}, not a PaddleClas class: PaddleClas "
                "eval()s the name and calls it with the config's parameters (security)")
    return None


def lookalike_problem(name: Any) -> Optional[str]:
    """Why a name that eval() would accept does not say what it reads as, or None: Python normalises it to
    other text (`ＣＥLoss` is CELoss), or it holds non-ASCII letters that NFKC keeps (a Cyrillic С in
    `СELoss`), while every PaddleClas class name is ASCII."""
    if not isinstance(name, str) or name.isascii():
        return None
    seen = unicodedata.normalize("NFKC", name)
    if seen != name:
        return (f"{_shown(name)} is not the text Python looks up: it reads it as {_shown(seen)} (identifiers are "
                f"NFKC-normalised); write {_shown(seen)} if that is meant")
    first = next(char for char in name if not char.isascii())
    what = unicodedata.name(first, f"U+{ord(first):04X}")
    return (f"{_shown(name)} has non-ASCII characters ({what}, U+{ord(first):04X}): every PaddleClas name is ASCII, "
            "so this is a look-alike of another name, or a class that does not exist")


def _is_arithmetic(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.UAdd, ast.USub)) and _is_arithmetic(node.operand)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, _ARITHMETIC) and _is_arithmetic(node.left) and _is_arithmetic(node.right)
    return False


def expression_problem(text: str) -> Optional[str]:
    """Why `eval(text)` is not plain arithmetic on numbers (or a flat list of such), or None when it is."""
    why = (f"{text[:60]!r}{'...' if len(text) > 60 else ''} is passed to eval() by PaddleClas: only a number, "
           "arithmetic on numbers (1.0/255.0) or a list of them is safe here (security)")
    if len(text) > _MAX_EXPRESSION:
        return why
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return why
    items = tree.elts if isinstance(tree, (ast.List, ast.Tuple)) else [tree]
    return None if all(_is_arithmetic(item) for item in items) else why


def _walk(value: Any, keys: Keys) -> Iterator[Tuple[Keys, dict]]:
    """Every mapping in the document with its key path (aliases are followed; bombs were refused on load).
    Scalars are not visited: a num_class_list may hold 100,000 counts."""
    stack: List[Tuple[Keys, Any]] = [(keys, value)]
    while stack:
        path, current = stack.pop()
        if isinstance(current, dict):
            yield path, current
            children: Iterable[Tuple[Any, Any]] = current.items()
        else:
            children = enumerate(current)
        stack.extend((path + (key,), child) for key, child in reversed(list(children)) if isinstance(child, (dict, list)))


def _evaluated_model_name(path: Keys) -> bool:
    """RecModel's `Arch.Backbone` and DistillationModel's `Arch.models[i].<Name>` (or its Backbone)."""
    if path == ("Arch", "Backbone"):
        return True
    return path[1:2] == ("models",) and (len(path) == 4 or path[4:] == ("Backbone",))


def _name_sites(data: Any) -> Iterator[Tuple[Keys, Any, bool, bool]]:
    """(key path, name, at the key?, dotted allowed?) of every name PaddleClas resolves with eval()."""
    sections = list(loss_sections(data))
    metric = data.get("Metric")
    if isinstance(metric, dict):
        sections.extend((("Metric", name), value) for name, value in metric.items())
    for section_keys, entries in sections:
        if isinstance(entries, list):
            for index, entry in enumerate(entries):
                if isinstance(entry, dict) and len(entry) == 1:  # PaddleClas asserts one key before eval()
                    name = next(iter(entry))
                    yield section_keys + (index, name), name, True, False
    for path, mapping in _walk(data, ()):
        top = path[0] if path else None
        for key, value in mapping.items():
            here = path + (key,)
            if top == "DataLoader" and key in ("dataset", "sampler") and isinstance(value, dict) and "name" in value:
                yield here + ("name",), value["name"], False, False
            elif key == "OpSampler" and isinstance(value, dict):
                for name in value:
                    yield here + (name,), name, True, False
            elif key == "RandomApply" and isinstance(value, dict) and isinstance(value.get("transforms"), list):
                for index, item in enumerate(value["transforms"]):
                    if isinstance(item, dict):
                        for name in item:
                            yield here + ("transforms", index, name), name, True, False
            elif key == "base_loss_name" and top in ("Loss", "UnLabelLoss"):
                yield here, value, False, False
            elif top == "Arch" and key in _ARCH_NAME_KEYS and isinstance(value, str):
                yield here, value, False, True
            elif key == "name" and top == "Arch" and _evaluated_model_name(path):
                yield here, value, False, False
            elif key == "func" and path == ("Infer", "PostProcess"):
                yield here, value, False, False


def check_eval_names(context: Context) -> Iterator[Problem]:
    """Every name PaddleClas resolves with `eval()` (loss, metric, dataset, sampler and batch-operator names,
    and the others listed in this module), as Python sees it after NFKC normalisation, must be a plain Python
    identifier that is not a Python builtin: a loss key such as `__import__('os').system('...')` runs code when
    training starts, and `- open: {weight: 1.0, file: ..., mode: w}` (or its full-width `ｏｐｅｎ`) would
    truncate a file. Reported at the name."""
    for keys, name, at_key, dotted_ok in _checked_sites(context):
        why = name_problem(name, dotted_ok)
        if why is not None:
            yield context.problem(EVAL_NAME, keys, f"{dotted(keys[:-1] if at_key else keys)}: {why}", at_key=at_key)


def check_lookalike_names(context: Context) -> Iterator[Problem]:
    """A name PaddleClas `eval()`s that is safe but not what it reads as: Python NFKC-normalises it to other
    text (`ＣＥLoss` runs CELoss), or it holds non-ASCII letters (`СELoss` with a Cyrillic С fails only when
    training starts, or finds a class that was planted under that name). Reported at the name."""
    for keys, name, at_key, dotted_ok in _checked_sites(context):
        if name_problem(name, dotted_ok) is None:  # else eval-name reports it, as an error
            why = lookalike_problem(name)
            if why is not None:
                yield context.problem(EVAL_LOOKALIKE, keys, f"{dotted(keys[:-1] if at_key else keys)}: {why}", at_key=at_key)


def _checked_sites(context: Context) -> Iterator[Tuple[Keys, Any, bool, bool]]:
    if isinstance(context.data, dict):
        yield from _name_sites(context.data)


def check_eval_expressions(context: Context) -> Iterator[Problem]:
    """String values that PaddleClas passes to `eval()` (`NormalizeImage.scale: 1.0/255.0`, `RandomErasing`'s
    EPSILON/sl/sh/r1, PPLCNet's `lr_mult_list`) must be numbers or arithmetic on numbers: anything else is
    code that runs when the data pipeline or the model is built. Reported at the value."""
    if not isinstance(context.data, dict):
        return
    for path, mapping in _walk(context.data, ()):
        for key, value in mapping.items():
            sites: List[Tuple[Keys, Any]] = []
            if key in _EXPRESSION_KEYS and isinstance(value, dict):
                sites = [(path + (key, name), value[name]) for name in _EXPRESSION_KEYS[key] if name in value]
            elif key == "lr_mult_list" and path[:1] == ("Arch",):
                sites = [(path + (key,), value)]
            for keys, text in sites:
                why = expression_problem(text) if isinstance(text, str) else None
                if why is not None:
                    yield context.problem(EVAL_EXPRESSION, keys, f"{dotted(keys)}: {why}")


EVAL_NAME = Rule(
    "eval-name", ERROR,
    "A loss (or metric, dataset, sampler, ...) name that is not a plain identifier, or is a Python builtin: "
    "PaddleClas `eval()`s it, so it would run as code (security).",
    check=check_eval_names,
)
EVAL_EXPRESSION = Rule(
    "eval-expression", ERROR,
    "A string that PaddleClas `eval()`s (`NormalizeImage.scale`, `RandomErasing` EPSILON/sl/sh/r1) that is "
    "not plain arithmetic on numbers (security).",
    check=check_eval_expressions,
)

EVAL_LOOKALIKE = Rule(
    "eval-name-lookalike", WARNING,
    "A name PaddleClas `eval()`s that Python reads as other text (NFKC: `ＣＥLoss` is CELoss) or that has "
    "non-ASCII look-alike letters (a Cyrillic С in `СELoss`).",
    check=check_lookalike_names,
)

RULES = [EVAL_NAME, EVAL_LOOKALIKE, EVAL_EXPRESSION]
