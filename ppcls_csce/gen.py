"""gen: the Loss block for a weight table, standalone from the template or edited into a PaddleClas config.

Every check runs through the rules (checks.check_source): before the edit gen's preconditions, after it every
validate rule but the list comparison on the edited text, so gen writes only configs validate accepts.
"""

import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import yaml

from . import params, ppconfig
from .checks import check_source, errors_of, load_config, require_clean
from .edit import TextEdit, apply_edits, replace_node, set_keys, yaml_float, yaml_int_list
from .errors import ProblemsError
from .report import NOTE, WARNING, Problem, escape_text, note
from .rules import RULES, Context, Options
from .rules.base import Keys, dotted
from .rules.command import GEN_DATASET, GEN_LOSS, INPUT
from .rules.csce_params import CSCE_REQUIRED
from .rules.class_count import CLASS_COUNT
from .rules.dataset import DELIMITER
from .rules.loss_shape import LOSS_SHAPE
from .rules.relabel import RELABEL
from .rules.schedule import DRW_SCHEDULE
from .rules.stale import STALE, train_lists as config_train_lists
from .rules.yaml_file import TOP_LEVEL
from .weights import ClassCountOrigin, WeightTable, table_from_lists
from .yamlsource import YamlSource, parse_yaml

# What gen needs of the config it is given, before it counts anything.
PRECONDITIONS = (TOP_LEVEL, LOSS_SHAPE, GEN_LOSS, GEN_DATASET, RELABEL, CLASS_COUNT, DELIMITER, DRW_SCHEDULE)
# What the edited config must pass: every validate rule but the comparison with the list (gen just counted it).
RESULT_RULES = tuple(rule for rule in RULES if rule not in (STALE, CSCE_REQUIRED))
TRAINABLE = (ppconfig.CE_NAME, params.LOSS_NAME)


def template_text(name: str) -> str:
    return resources.files("ppcls_csce").joinpath("templates").joinpath(name).read_text(encoding="utf-8")


def loss_block(table: WeightTable, sources: str) -> str:
    """The standalone `Loss:` document; the same input gives the same bytes."""
    return string.Template(template_text("loss_block.yaml")).substitute(
        sources=escape_text(sources),  # a list named with a newline cannot end the comment line
        summary=table.summary(),
        gamma=yaml_float(table.gamma),
        num_class_list=yaml_int_list(table.num_class_list),
    )


@dataclass(frozen=True)
class Drw:
    start_epoch: int
    iters_per_epoch: int


@dataclass(frozen=True)
class GenResult:
    text: str
    table: WeightTable
    notes: List[Problem]  # warnings and notes for stderr, rendered by report.py


def _entries(source: YamlSource) -> List[Tuple[Keys, str, dict]]:
    return [(keys, name, values) for keys, name, values in ppconfig.loss_entries(source)
            if name in TRAINABLE and isinstance(values, dict)]


def edit_config(source: YamlSource, table: WeightTable, gamma_given: bool, drw: Optional[Drw],
                class_num: Optional[Tuple[Keys, int]] = None) -> str:
    """The config text with every CELoss turned into CostSensitiveCE and every CostSensitiveCE updated, in
    every loss list; with `class_num`, that class count key set too.

    CELoss keeps its weight, epsilon and reduction; other losses, and every byte outside their entries, stay.
    DRW keys go into Loss.Train entries only: PaddleClas never switches its eval loss to eval mode, so a step
    counter there would count evaluation batches.
    """
    text = source.text
    edits: List[TextEdit] = []
    for keys, name, values in _entries(source):
        mapping = source.node_at(keys)
        assert isinstance(mapping, yaml.MappingNode)  # loss-shape passed: a mapping with a weight
        if name == ppconfig.CE_NAME:
            key_node = source.key_node_at(keys)
            assert key_node is not None
            edits.append(TextEdit(key_node.start_mark.index, key_node.end_mark.index, params.LOSS_NAME))
        items = [("num_class_list", yaml_int_list(table.num_class_list))]
        if name == ppconfig.CE_NAME or gamma_given or "gamma" not in values:
            items.insert(0, ("gamma", yaml_float(table.gamma)))
        if drw is not None and keys[:2] == ("Loss", "Train"):
            items += [("drw_start_epoch", str(drw.start_epoch)), ("iters_per_epoch", str(drw.iters_per_epoch))]
        edits.extend(set_keys(text, mapping, items))
    if class_num is not None:
        node = source.node_at(class_num[0])
        assert node is not None
        edits.append(replace_node(node, str(class_num[1]), text))
    return apply_edits(text, edits)


def _where(source: YamlSource, keys: Keys) -> str:
    line, column = source.position(keys)
    return ":".join(str(part) for part in (source.path, line, column) if part is not None)


def _lists_of(source: YamlSource, train_lists: Sequence[str], data_root: Optional[str]) -> Tuple[List[str], List[Problem]]:
    """The lists to count: --train-list, else the config's cls_label_path (as validate finds it)."""
    context = Context(source, Options(data_root=data_root))
    configured, _, unread = config_train_lists(context)
    if not train_lists:
        if not configured:
            keys = ppconfig.TRAIN_DATASET + ("cls_label_path",)
            why = f" ({unread.message})" if unread is not None else ""
            raise ProblemsError([context.problem(INPUT, keys,
                                                 "no --train-list, and the config's cls_label_path names no file "
                                                 f"under --data-root {data_root or '.'}{why}: give --train-list LIST")])
        return configured, [note(f"counting {configured[0]}, the config's cls_label_path")]
    notes = []
    if configured and [Path(path).resolve() for path in train_lists] != [Path(configured[0]).resolve()]:
        notes.append(note(f"the counts come from {', '.join(train_lists)}, but the config trains on {configured[0]} "
                          "(its cls_label_path): validate will compare the counts with that list",
                          source.path, severity=WARNING))
    return list(train_lists), notes


def generate(train_lists: Sequence[str], gamma: Optional[float] = None, delimiter: Optional[str] = None,
             class_num: Optional[int] = None, config: Optional[str] = None, drw_epoch: Optional[int] = None,
             world_size: int = 1, clamp_empty: bool = False, data_root: Optional[str] = None) -> GenResult:
    """Count, weigh, and render: the standalone block, or the whole config with its Loss section edited."""
    gamma_value = params.check_gamma(gamma if gamma is not None else params.DEFAULT_GAMMA)
    if config is None:
        table = table_from_lists(train_lists, delimiter or " ", class_num, gamma_value, clamp_empty)
        return GenResult(loss_block(table, ", ".join(map(str, train_lists))), table, _table_notes(table))
    source = load_config(config)
    existing_drw = _existing_drw(source)
    drw_planned = drw_epoch is not None or existing_drw is not None
    options = Options(data_root=data_root, world_size=world_size, csce_planned=True, drw_planned=drw_planned)
    notes = require_clean(source, options, PRECONDITIONS)
    lists, list_notes = _lists_of(source, train_lists, data_root)
    notes += list_notes
    configured, keys = ppconfig.class_num(source)
    origin = None
    set_class_num = None
    if class_num is not None and configured is not None and class_num != configured:
        set_class_num = (keys, class_num)
        notes.append(note(f"--class-num {class_num}: {dotted(keys)} ({_where(source, keys)}) set from {configured} "
                          f"to {class_num}", config))
    elif configured is not None:
        origin = ClassCountOrigin(config, *source.position(keys), dotted(keys))
    table = table_from_lists(lists, delimiter if delimiter is not None else ppconfig.delimiter(source),
                             class_num if class_num is not None else configured, gamma_value, clamp_empty, origin)
    notes += _table_notes(table)
    drw = None
    if drw_planned:
        start = drw_epoch if drw_epoch is not None else existing_drw
        assert start is not None
        iters = ppconfig.iters_per_epoch(source, table.samples, world_size)  # keys checked by csce-drw-schedule
        drw = Drw(start, max(iters, 1))  # 0 iterations: the check of the result below says why
        notes.append(note(f"DRW: plain cross-entropy for epochs 1..{start - 1}, CS_CE from epoch {start} "
                          f"({iters} iterations per epoch on {world_size} card{'s' if world_size > 1 else ''})"))
    text = edit_config(source, table, gamma is not None, drw, set_class_num)
    result_options = Options(data_root=data_root, world_size=world_size, samples=table.samples)
    problems, _ = check_source(parse_yaml(text, config), result_options, RESULT_RULES)
    if errors_of(problems):
        raise ProblemsError(problems)  # nothing is written
    return GenResult(text, table, notes + [p for p in problems if p.severity in (WARNING, NOTE)])


def _existing_drw(source: YamlSource) -> Optional[int]:
    """The drw_start_epoch a Loss.Train CostSensitiveCE entry already has (gen then recomputes iters_per_epoch)."""
    for keys, name, values in _entries(source):
        start = values.get("drw_start_epoch")
        if keys[:2] == ("Loss", "Train") and name == params.LOSS_NAME and isinstance(start, int) and start >= 1:
            return start
    return None


def _table_notes(table: WeightTable) -> List[Problem]:
    if not table.clamped:
        return []
    return [note(f"classes {', '.join(map(str, table.clamped))} have no training images; counted as 1",
                 rule="list-classes", severity=WARNING)]
