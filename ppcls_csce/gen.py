"""gen: the Loss block for a weight table, standalone from the template or edited into a PaddleClas config."""

import string
from dataclasses import dataclass
from importlib import resources
from typing import List, Optional, Sequence, Tuple

import yaml

from . import params, ppconfig
from .edit import TextEdit, apply_edits, set_key, yaml_float, yaml_int_list
from .errors import CsceError
from .weights import WeightTable, table_from_lists
from .yamlsource import YamlLoadError, YamlSource, load_yaml, parse_yaml


def template_text(name: str) -> str:
    return resources.files("ppcls_csce").joinpath("templates").joinpath(name).read_text(encoding="utf-8")


def loss_block(table: WeightTable, sources: str) -> str:
    """The standalone `Loss:` document; the same input gives the same bytes."""
    require_valid({"weight": 1.0, "gamma": table.gamma, "num_class_list": table.num_class_list}, "the block")
    return string.Template(template_text("loss_block.yaml")).substitute(
        sources=sources,
        summary=table.summary(),
        gamma=yaml_float(table.gamma),
        num_class_list=yaml_int_list(table.num_class_list),
    )


@dataclass(frozen=True)
class Drw:
    start_epoch: int
    iters_per_epoch: int


def _where(source: YamlSource, keys: Tuple) -> str:
    line, column = source.position(keys)
    return f"{source.path}:{line}:{column}"


def check_config(source: YamlSource) -> None:
    """Refuse, with the reason, any config that gen must not edit."""
    if not isinstance(source.data, dict) or not isinstance(source.get(("Loss", "Train")), list):
        raise CsceError(f"{source.path}: not a PaddleClas training config (no Loss.Train list); left untouched")
    dataset = ppconfig.train_dataset(source)
    if dataset is not None:
        name = dataset.get("name")
        if name != "ImageNetDataset":
            raise CsceError(
                f"{_where(source, ppconfig.TRAIN_DATASET + ('name',))}: the train dataset is {name}, not a "
                "single-label ImageNetDataset list; gen counts only those"
            )
        if ppconfig.relabels(source):
            raise CsceError(
                f"{_where(source, ppconfig.TRAIN_DATASET + ('relabel',))}: relabel: True maps labels in Python "
                "set order, not sorted order, so per-class counts would not line up with the classes; "
                "relabel the list to 0..K-1 and set relabel: False"
            )
    names = {name for _, name, _ in ppconfig.loss_entries(source, "Train")}
    if not names & {ppconfig.CE_NAME, params.LOSS_NAME}:
        found = ", ".join(sorted(names)) or "no loss"
        raise CsceError(
            f"{_where(source, ('Loss', 'Train'))}: Loss.Train has {found} but no {ppconfig.CE_NAME} or "
            f"{params.LOSS_NAME}; replacing those losses would change what the model learns, so gen leaves it alone"
        )


def configured_class_num(source: YamlSource) -> Optional[int]:
    value, keys = ppconfig.class_num(source)
    if value is None:
        return None
    if not params.is_class_count(value):
        raise CsceError(f"{_where(source, keys)}: {'.'.join(map(str, keys))} must be a positive integer, got {value!r}")
    return value


def edit_config(source: YamlSource, table: WeightTable, gamma_given: bool, drw: Optional[Drw]) -> str:
    """The config text with every CELoss turned into CostSensitiveCE and every CostSensitiveCE updated.

    CELoss keeps its weight, epsilon and reduction; other losses, and every byte outside their entries, stay.
    DRW keys go into Train entries only: PaddleClas never switches its eval loss to eval mode, so a step
    counter there would count evaluation batches.
    """
    text = source.text
    edits: List[TextEdit] = []
    for section in ppconfig.LOSS_SECTIONS:
        for index, name, values in ppconfig.loss_entries(source, section):
            if name not in (ppconfig.CE_NAME, params.LOSS_NAME):
                continue
            keys = ("Loss", section, index, name)
            mapping = source.node_at(keys)
            if not isinstance(mapping, yaml.MappingNode) or not isinstance(values, dict):
                raise CsceError(f"{_where(source, keys)}: the {name} entry has no parameters (PaddleClas needs weight)")
            if name == ppconfig.CE_NAME:
                key_node = source.key_node_at(keys)
                edits.append(TextEdit(key_node.start_mark.index, key_node.end_mark.index, params.LOSS_NAME))
            if name == ppconfig.CE_NAME or gamma_given or "gamma" not in values:
                edits.append(set_key(text, mapping, "gamma", yaml_float(table.gamma)))
            edits.append(set_key(text, mapping, "num_class_list", yaml_int_list(table.num_class_list)))
            if drw is not None and section == "Train":
                edits.append(set_key(text, mapping, "drw_start_epoch", str(drw.start_epoch)))
                edits.append(set_key(text, mapping, "iters_per_epoch", str(drw.iters_per_epoch)))
    new_text = apply_edits(text, edits)
    _check_result(source, new_text)
    return new_text


def _check_result(source: YamlSource, new_text: str) -> None:
    """The edit must give a config whose every CostSensitiveCE entry passes the rules."""
    try:
        edited = parse_yaml(new_text, source.path)
    except YamlLoadError as error:  # pragma: no cover - a bug in the edit, never the user's input
        raise CsceError(f"{source.path}: internal error, the edited config does not parse: {error.message}")
    for section in ppconfig.LOSS_SECTIONS:
        for _, name, values in ppconfig.loss_entries(edited, section):
            if name == params.LOSS_NAME:
                require_valid(values, f"{source.path}: Loss.{section} {params.LOSS_NAME}")


def require_valid(values: object, what: str) -> None:
    """Everything gen writes passes the parameter rules; pydantic is imported only to explain a failure."""
    if isinstance(values, dict) and params.entry_is_valid(values):
        return
    from .schema import check_entry

    raise CsceError(f"{what} would be invalid: " + "; ".join(issue.message for issue in check_entry(values)))


def load_config(path: str) -> YamlSource:
    try:
        return load_yaml(path)
    except YamlLoadError as error:
        where = ":".join(str(part) for part in (path, error.line, error.column) if part is not None)
        raise CsceError(f"{where}: {error.message}") from None


@dataclass(frozen=True)
class GenResult:
    text: str
    table: WeightTable
    notes: List[str]  # warnings for stderr


def generate(train_lists: Sequence[str], gamma: Optional[float] = None, delimiter: Optional[str] = None,
             class_num: Optional[int] = None, config: Optional[str] = None, drw_epoch: Optional[int] = None,
             world_size: int = 1, clamp_empty: bool = False) -> GenResult:
    """Count, weigh, and render: the standalone block, or the whole config with its Loss section edited."""
    notes: List[str] = []
    source = load_config(config) if config is not None else None
    if source is not None:
        check_config(source)
        configured = configured_class_num(source)
        if class_num is not None and configured is not None and class_num != configured:
            notes.append(f"warning: --class-num {class_num} overrides {configured} from {config}")
        class_num = class_num if class_num is not None else configured
        delimiter = delimiter if delimiter is not None else ppconfig.delimiter(source)
    gamma_value = params.check_gamma(gamma if gamma is not None else params.DEFAULT_GAMMA)
    table = table_from_lists(train_lists, delimiter or " ", class_num, gamma_value, clamp_empty)
    if table.clamped:
        notes.append(f"warning: classes {', '.join(map(str, table.clamped))} have no training images; counted as 1")
    sources = ", ".join(str(path) for path in train_lists)
    if source is None:
        return GenResult(loss_block(table, sources), table, notes)
    drw = None
    if drw_epoch is not None:
        try:
            iters = ppconfig.iters_per_epoch(source, table.samples, world_size)
        except ValueError as error:
            raise CsceError(f"{config}: {error}") from None
        params.check_drw(drw_epoch, iters)
        drw = Drw(drw_epoch, iters)
        notes.append(f"DRW: plain cross-entropy for epochs 1..{drw_epoch - 1}, CS_CE from epoch {drw_epoch} "
                     f"({iters} iterations per epoch on {world_size} card{'s' if world_size > 1 else ''})")
    return GenResult(edit_config(source, table, gamma is not None, drw), table, notes)
