"""gen and validate on a PaddleX module config: both run on the PaddleClas config PaddleX will train (paddlex.py
resolves it), and a problem whose cause is a key of the module config is located there.

The dataset is PaddleX's classification format: DIR/label.txt (`id name` per line), DIR/train.txt, DIR/val.txt.
"""

import difflib
import re
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import paddlex
from .paddlex_rewrites import Rewrite, apply_rewrites, as_paddleclas, rewrites, yaml_scalar
from .edit import apply_edits, set_keys
from .errors import CsceError, ProblemsError
from .paddlex import CLASSES_RULE, DATASET_RULE, TEMPLATE_RULE, Module
from .report import ERROR, Problem, note
from .yamlsource import YamlLoadError, YamlSource, load_yaml, parse_yaml, read_text

OUTPUT_SUFFIX = ".paddleclas.yaml"  # gen's output beside MODULE.yaml: MODULE.paddleclas.yaml
MODULE_MAX_BYTES = 256 * 1024  # PaddleX's module configs are about 1 kB


@dataclass(frozen=True)
class PaddlexArgs:
    """What the command line adds for module configs: PaddleX's -o overrides, a template, the dataset folder."""

    overrides: Tuple[str, ...] = ()
    template: Optional[str] = None
    dataset_dir: Optional[str] = None

    def all_overrides(self) -> Tuple[str, ...]:
        return self.overrides + ((f"Global.dataset_dir={self.dataset_dir}",) if self.dataset_dir is not None else ())


@dataclass
class Resolved:
    """The PaddleClas config PaddleX trains: the template's text with PaddleX's rewrites, and where each came from."""

    module: Module
    template: str  # the template's path
    own: bool  # the user's file (basic_config_path / --template), which --fix may edit
    template_text: str
    rewrites: List[Rewrite]
    source: YamlSource  # the rewritten text, its path the template's
    causes: Dict[int, Rewrite] = field(default_factory=dict)  # resolved line -> the rewrite written there
    line_map: Dict[int, int] = field(default_factory=dict)  # resolved line -> template line (unchanged lines)

    @property
    def train_list(self) -> Path:
        return self.module.dataset_dir / "train.txt"

    def changed(self) -> List[Rewrite]:
        """The rewrites that change a value the template already had (other than the dataset paths): where the
        module config and the template disagree, as when Train.epochs_iters was edited after gen."""
        template = parse_yaml(self.template_text, self.template)
        return [r for r in self.rewrites if r.cause != ("Global", "dataset_dir") and r.target != ("Global", "output_dir")
                and template.node_at(r.target) is not None and template.get(r.target) != as_paddleclas(r.value)]


def sniff(path: str) -> bool:
    """Cheaply, before a full parse: could this file be a PaddleX module config? (`model:` and no top-level Arch;
    a module config is a few kB, so a large file, such as a config with a 100,000-class list, is not read twice)."""
    try:
        if os.path.getsize(path) > MODULE_MAX_BYTES:
            return False
        text = read_text(path)
    except (YamlLoadError, OSError):
        return False
    return "\nArch:" not in "\n" + text and "model:" in text and "Global:" in text


def is_module(path: str) -> Optional[YamlSource]:
    """The parsed file when it is a PaddleX module config, else None (a PaddleClas config, or not YAML)."""
    if not sniff(path):
        return None
    try:
        source = load_yaml(path)
    except YamlLoadError:
        return None
    return source if paddlex.looks_like_module(source.data) else None


def resolve(module: Module, template: Optional[str] = None) -> Resolved:
    """Template + PaddleX's rewrites, with each resolved line traced to its template line or module key."""
    path, own = paddlex.find_template(module, template)
    try:
        template_source = load_yaml(path)
    except YamlLoadError as error:
        raise ProblemsError([Problem(path, error.line, error.column, ERROR, error.rule, error.message)]) from None
    if not isinstance(template_source.data, dict) or "Arch" not in template_source.data:
        raise CsceError("not a PaddleClas config (no Arch section), so PaddleX cannot train it", path=str(path),
                        rule=TEMPLATE_RULE)
    found = rewrites(module, template_source.data, path)
    source = apply_rewrites(template_source.text, path, found)
    resolved = Resolved(module, path, own, template_source.text, found, source)
    for rewrite in found:
        node = source.node_at(rewrite.target)
        if node is not None:
            for line in range(node.start_mark.line + 1, node.end_mark.line + 2):
                resolved.causes[line] = rewrite  # the last rewrite of a key is the one that stays
    matcher = difflib.SequenceMatcher(None, template_source.text.splitlines(), source.text.splitlines(), autojunk=False)
    for tag, a_start, _, b_start, b_end in matcher.get_opcodes():
        if tag == "equal":
            resolved.line_map.update((b_start + i + 1, a_start + i + 1) for i in range(b_end - b_start))
    return resolved


def dataset_problems(module: Module) -> List[Problem]:
    """DIR must hold train.txt and label.txt; label.txt's ids must be 0..K-1 and K must be Train.num_classes
    (PaddleClas's classifier has Train.num_classes outputs; a label past them crashes the first step)."""
    root, where = module.dataset_dir, ("Global", "dataset_dir")
    if not root.is_dir():
        return [module.problem(where, DATASET_RULE, f"Global.dataset_dir {str(root)!r} is no folder (PaddleX resolves "
                                                    "it from the folder it runs in); give --dataset-dir DIR")]
    missing = [name for name in ("train.txt", "label.txt") if not (root / name).is_file()]
    if missing:
        return [module.problem(where, DATASET_RULE, f"{root} has no {' or '.join(missing)}: PaddleX's classification "
                                                    "dataset is DIR/label.txt (`id name` per line), DIR/train.txt and "
                                                    "DIR/val.txt (`image label` per line)")]
    label_file = root / "label.txt"
    ids: List[int] = []
    for number, line in enumerate(read_text(label_file).splitlines(), 1):
        if not line.strip():
            continue
        first = line.strip().split(" ", 1)[0]
        if not first.lstrip("-").isdigit():
            return [Problem(str(label_file), number, None, ERROR, DATASET_RULE,
                            f"label.txt lines are `id name` with a whole-number id, got {line.strip()[:60]!r}")]
        ids.append(int(first))
    if sorted(ids) != list(range(len(ids))):
        return [Problem(str(label_file), None, None, ERROR, DATASET_RULE,
                        f"label.txt's ids must be 0..{len(ids) - 1}, each once; got {sorted(set(ids))[:10]}")]
    classes = module.get(("Train", "num_classes"))
    if classes != len(ids):
        return [module.problem(("Train", "num_classes"), CLASSES_RULE,
                               f"Train.num_classes is {classes!r}, but {label_file} has {len(ids)} classes: PaddleX "
                               f"builds the classifier with Train.num_classes outputs; set it to {len(ids)}")]
    return []


def relocate(problems: Sequence[Problem], resolved: Resolved, new: Callable[[Problem], bool] = lambda p: False,
             reported: Sequence[Tuple[Any, ...]] = ()) -> List[Problem]:
    """Problems of the resolved config, located where their cause is: a rewritten line at its module key; a
    problem `new` (caused by values the module changed) at the first changed module key; any other at its
    template line. Those caused by a module key already `reported` (dataset_problems) are left out: consequences."""
    module, out = resolved.module, []
    changed = resolved.changed() if any(p.path == resolved.source.path for p in problems) else []
    for problem in problems:
        if problem.path != resolved.source.path or problem.line is None:
            out.append(problem)
            continue
        rewrite = resolved.causes.get(problem.line)
        if rewrite is None and changed and new(problem):
            rewrite = _blamed(problem, changed)
        if rewrite is not None and rewrite.cause in reported:
            continue
        if rewrite is not None:
            target = ".".join(map(str, rewrite.target))
            where = module.problem(rewrite.cause, problem.rule, "")
            why = f" (PaddleX sets {target} of {resolved.template} to {as_paddleclas(rewrite.value)!r} from " \
                  f"{'.'.join(map(str, rewrite.cause))})"
            out.append(replace(where, severity=problem.severity, message=problem.message + why + where.message))
        else:
            out.append(replace(problem, line=resolved.line_map.get(problem.line, problem.line)))
    return list(dict.fromkeys(out))


def _blamed(problem: Problem, changed: Sequence[Rewrite]) -> Optional[Rewrite]:
    """The changed module key a new problem comes from: the one whose rewritten key the message names (a DRW
    switch after `Global.epochs` is Train.epochs_iters'), the only one changed, else none (the template line)."""
    for named in (lambda r: ".".join(map(str, r.target)) in problem.message,  # Global.epochs
                  lambda r: re.search(rf"\b{re.escape(str(r.target[-1]))}\b", problem.message)):  # batch_size 2
        found = [rewrite for rewrite in changed if named(rewrite)]
        if found:
            return found[0]
    return changed[0] if len(changed) == 1 else None


def validate_module(source: YamlSource, options: Any, fix: bool, args: PaddlexArgs) -> Tuple[List[Problem], bool]:
    """Every validate rule on the resolved config; `fix` rewrites stale counts in the user's template."""
    from .checks import check_source
    from .rules.stale import STALE

    try:
        module = paddlex.load_module(source.path, args.all_overrides(), source)
        problems = dataset_problems(module)
        resolved = resolve(module, args.template)
    except ProblemsError as error:
        return error.problems, False
    except ValueError as error:
        return [Problem(source.path, None, None, ERROR, paddlex.KIND_RULE, str(error))], False
    cards = options.world_size if options.world_size != 1 else module.world_size  # --world-size N, else Global.device
    opts = replace(options, data_root=str(module.dataset_dir), world_size=cards)
    found, _ = check_source(resolved.source, opts)
    baseline: set = set()
    if resolved.changed():  # what the template has on its own: those problems are not the module's doing
        base_source = apply_rewrites(resolved.template_text, resolved.template,
                                             [r for r in resolved.rewrites if r not in resolved.changed()])
        baseline = {(p.rule, p.line) for p in check_source(base_source, opts)[0]}
    reported = [("Train", "num_classes") if p.rule == CLASSES_RULE else ("Global", "dataset_dir") for p in problems]
    problems += relocate(found, resolved, lambda p: (p.rule, p.line) not in baseline, reported)
    fixed = False
    if fix and resolved.own and resolved.train_list.is_file():
        template = parse_yaml(resolved.template_text, resolved.template)
        _, edits = check_source(template, replace(opts, train_lists=(str(resolved.train_list),)), [STALE])
        if edits:
            from .atomic import write_atomic

            write_atomic(resolved.template, apply_edits(resolved.template_text, edits, template).encode("utf-8"))
            fixed = True
    return problems, fixed


def output_path(config: str) -> str:
    """gen's PaddleClas config beside MODULE.yaml: MODULE.paddleclas.yaml."""
    path = Path(config)
    return str(path.with_name(path.name[: -len(path.suffix)] + OUTPUT_SUFFIX if path.suffix else path.name + OUTPUT_SUFFIX))


def module_edits(module: Module, basic_config_path: str, class_num: Optional[int]) -> str:
    """MODULE.yaml with Train.basic_config_path set, and every key an override (or --class-num) gave set to that
    value too, so that PaddleX's rewrites of the written config change nothing."""
    import yaml

    items: Dict[Tuple[Any, ...], str] = {keys: yaml_scalar(value) for keys, value in module.overrides.items()}
    if class_num is not None:
        items[("Train", "num_classes")] = str(class_num)
    items[("Train", "basic_config_path")] = yaml_scalar(basic_config_path)
    text = module.source.text
    for keys, value in items.items():  # one at a time: few keys, and each edit moves the next one's marks
        source = parse_yaml(text, module.path)
        parent = source.node_at(keys[:-1])
        if not isinstance(parent, yaml.MappingNode):
            raise CsceError(f"{'.'.join(map(str, keys[:-1]))} is no mapping to set {keys[-1]} in", path=module.path)
        text = apply_edits(text, set_keys(text, parent, [(str(keys[-1]), value)]), source)
    return text


def _relative(path: str) -> str:
    """A path as written into basic_config_path: relative to here (where PaddleX runs) when below it."""
    real = os.path.abspath(path)
    here = os.path.abspath(os.curdir)
    return os.path.relpath(real, here) if real.startswith(here + os.sep) else real


def gen_module(config: str, source: YamlSource, args: PaddlexArgs, generate: Callable[..., Any], output: Optional[str],
               write: bool, class_num: Optional[int], world_size: Optional[int], **gen_options: Any) -> Tuple[Any, str, Optional[str]]:
    """gen on a module config: (the GenResult, where its text goes, the new MODULE.yaml text with --write or None).
    Nothing is written here: every check passes first."""
    overrides = args.all_overrides() + ((f"Train.num_classes={class_num}",) if class_num is not None else ())
    try:
        module = paddlex.load_module(config, overrides, source)
    except ValueError as error:
        raise CsceError(str(error), path=config, rule=paddlex.KIND_RULE) from None
    problems = dataset_problems(module)
    if problems:
        raise ProblemsError(problems)
    resolved = resolve(module, args.template)
    cards = world_size if world_size is not None else module.world_size
    try:
        result = generate((), config=resolved.template, source=resolved.source, data_root=str(module.dataset_dir),
                          world_size=cards, **gen_options)
    except ProblemsError as error:
        raise ProblemsError(relocate(error.problems, resolved)) from None
    target = output or output_path(config)
    result.notes[:] = [replace(n, message=n.message.replace("install --paddleclas DIR", "install --paddlex"))
                       for n in result.notes]  # PaddleX trains from its own checkout
    result.notes.insert(0, note(f"the PaddleClas config PaddleX {paddlex.PADDLEX_VERSION} trains for {config}: "
                                f"{resolved.template} with PaddleX's rewrites ({len(resolved.rewrites)} keys), "
                                f"{cards} card{'s' if cards > 1 else ''} (Global.device)"))
    new_module = None
    if write:
        new_module = module_edits(module, _relative(target), class_num)
    elif target != "-":
        result.notes.append(note(f"PaddleX trains it with: -o Train.basic_config_path={_relative(target)} (or run gen "
                                 "with --write to set it in the module config)", config))
    return result, target, new_module


__all__ = ["PaddlexArgs", "Resolved", "dataset_problems", "gen_module", "is_module", "output_path", "relocate",
           "resolve", "sniff", "validate_module"]
