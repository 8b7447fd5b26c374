"""gen: the Loss block for a weight table, standalone from the template or edited into a PaddleClas config.

gen checks its own preconditions (`preconditions`: what it needs to count and edit), counts, edits, then runs
validate's rules on the text it would write (every rule but the list comparison: gen just counted the list), so
it writes only configs validate accepts; a problem there is reported at its place in the given file.
"""

import string
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import yaml

from . import params, ppconfig
from .drw import PLAIN_SHARE, default_start_epoch
from .checks import check_source, errors_of, in_given, load_config, require_clean
from .edit import TextEdit, apply_edits, replace_node, set_keys, yaml_float, yaml_int_list
from .errors import ProblemsError
from .report import NOTE, WARNING, Problem, escape_text, note
from .rules import RULES, Options
from .rules.base import Keys, dotted, located
from .rules.class_count import CLASS_COUNT
from .dataset_names import is_imagenet
from .rules.command import GEN_DATASET, GEN_LOSS, INPUT
from .rules.csce_params import CSCE_REQUIRED
from .rules.dataset import DELIMITER
from .rules.loss_shape import LOSS_SHAPE
from .rules.paddleclas_loader import PADDLECLAS_LOADER
from .rules.plugins import metric_entries
from .gen_plugins import SamplerChoice, metric_edits, sampler_edits
from .rules.schedule import DRW_SCHEDULE
from .rules.stale import STALE, train_lists as config_train_lists
from .rules.yaml_file import TOP_LEVEL
from .weights import ClassCountOrigin, WeightTable, table_from_lists
from .yamlsource import YamlSource, parse_yaml

# The validate rules the given config must pass before gen reads it: the file is a mapping PaddleClas's own loader
# reads, the loss lists have the shape gen edits, the list delimiter is usable. gen's other preconditions are
# `preconditions` below.
INPUT_RULES = (TOP_LEVEL, PADDLECLAS_LOADER, LOSS_SHAPE, DELIMITER)
# What the edited config must pass: every validate rule but the comparison with the list (gen just counted it).
RESULT_RULES = tuple(rule for rule in RULES if rule not in (STALE, CSCE_REQUIRED))
TRAINABLE = (ppconfig.CE_NAME,) + tuple(params.LOSSES)
# The paper each loss is from, for the block's header (the formula is params.LOSSES's).
CITATIONS = {params.LOSS_NAME: "CS_CE, Zhang et al., AAAI 2021", params.BALANCED_SOFTMAX_NAME: "Ren et al., NeurIPS 2020",
             params.CLASS_BALANCED_NAME: "Cui et al., CVPR 2019"}


def template_text(name: str) -> str:
    return resources.files("ppcls_csce").joinpath("templates").joinpath(name).read_text(encoding="utf-8")


def loss_block(table: WeightTable, sources: str) -> str:
    """The standalone `Loss:` document; the same input gives the same bytes."""
    spec = table.spec
    return string.Template(template_text("loss_block.yaml")).substitute(
        name=spec.name, citation=CITATIONS[spec.name], formula=spec.formula,
        sources=escape_text(sources),  # a list named with a newline cannot end the comment line
        summary=table.summary(),
        strength_key=spec.strength, strength=yaml_float(table.strength),
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
    summary: str  # the weights summary line for stderr: the first Loss.Train entry as written


def _entries(source: YamlSource) -> List[Tuple[Keys, str, dict]]:
    return [(keys, name, values) for keys, name, values in ppconfig.loss_entries(source)
            if name in TRAINABLE and isinstance(values, dict)]


def _target(name: str, loss: Optional[str]) -> str:
    """What an entry becomes: the --loss given, else CELoss becomes CostSensitiveCE and the three stay."""
    if loss is not None:
        return loss
    return params.LOSS_NAME if name == ppconfig.CE_NAME else name


def _key_pair(mapping: yaml.MappingNode, key: str) -> Optional[Tuple[yaml.Node, yaml.Node]]:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def config_edits(source: YamlSource, table: WeightTable, gamma_given: bool, drw: Optional[Drw],
                 class_num: Optional[Tuple[Keys, int]] = None, loss: Optional[str] = None,
                 sampler: Optional[SamplerChoice] = None, metric: bool = False) -> List[TextEdit]:
    """The edits that turn every CELoss into the chosen loss (`loss`, default CostSensitiveCE), every
    entry of the three losses updated (and renamed to `loss` when given), in every loss list; with
    `class_num`, that class count key set too. `table.strength` is written when given (`gamma_given`), for a
    converted entry, or where the entry has none; a converted entry's old strength key becomes the new one.

    CELoss keeps its weight, epsilon and reduction; other losses, and every byte outside their entries, stay.
    DRW keys go into Loss.Train entries only: PaddleClas never switches its eval loss to eval mode, so a step
    counter there would count evaluation batches.
    """
    text = source.text
    edits: List[TextEdit] = []
    for keys, name, values in _entries(source):
        mapping = source.node_at(keys)
        assert isinstance(mapping, yaml.MappingNode)  # loss-shape passed: a mapping with a weight
        target = _target(name, loss)
        spec = params.LOSSES[target]
        strength = yaml_float(table.strength) if target == table.loss else yaml_float(spec.default)
        items = [("num_class_list", yaml_int_list(table.num_class_list))]
        if name != target:
            key_node = source.key_node_at(keys)
            assert key_node is not None
            edits.append(TextEdit(key_node.start_mark.index, key_node.end_mark.index, target))
            old = params.LOSSES[name].strength if name in params.LOSSES else spec.strength
            pair = _key_pair(mapping, old) if old != spec.strength else None
            if pair is not None:  # gamma -> tau: the old loss's strength key would be unknown to the new one
                edits.append(TextEdit(pair[0].start_mark.index, pair[0].end_mark.index, spec.strength))
                edits.extend(set_keys(text, mapping, [(old, strength)]))
            else:
                items.insert(0, (spec.strength, strength))
        elif (gamma_given and target == table.loss) or spec.strength not in values:
            items.insert(0, (spec.strength, strength))
        if drw is not None and keys[:2] == ("Loss", "Train"):
            items += [("drw_start_epoch", str(drw.start_epoch)), ("iters_per_epoch", str(drw.iters_per_epoch))]
        edits.extend(set_keys(text, mapping, items))
    if class_num is not None:
        node = source.node_at(class_num[0])
        assert node is not None
        edits.append(replace_node(node, str(class_num[1]), text))
    if sampler is not None:
        edits.extend(sampler_edits(source, sampler))
    if metric or any(True for _ in metric_entries(source)):
        edits.extend(metric_edits(source, table))
    return edits


def _lists_of(source: YamlSource, train_lists: Sequence[str], data_root: Optional[str]) -> Tuple[List[str], List[Problem]]:
    """The lists to count: --train-list, else the config's cls_label_path (as validate finds it)."""
    configured, _, unread = config_train_lists(source, Options(data_root=data_root))
    if not train_lists:
        if not configured:
            keys = ppconfig.TRAIN_DATASET + ("cls_label_path",)
            why = f" ({unread.message})" if unread is not None else ""
            raise ProblemsError([located(source, INPUT, keys, "no --train-list, and the config's cls_label_path names "
                                         f"no file under --data-root {data_root or '.'}{why}: give --train-list LIST")])
        return configured, [note(f"counting {configured[0]}, the config's cls_label_path")]
    notes = []
    if configured and [Path(path).resolve() for path in train_lists] != [Path(configured[0]).resolve()]:
        notes.append(note(f"the counts come from {', '.join(train_lists)}, but the config trains on {configured[0]} "
                          "(its cls_label_path): validate will compare the counts with that list",
                          source.path, severity=WARNING))
    return list(train_lists), notes


def generate(train_lists: Sequence[str], gamma: Optional[float] = None, delimiter: Optional[str] = None,
             class_num: Optional[int] = None, config: Optional[str] = None, drw_epoch: Optional[int] = None,
             world_size: int = 1, clamp_empty: bool = False, data_root: Optional[str] = None,
             loss: Optional[str] = None, sampler: Optional[SamplerChoice] = None, metric: bool = False,
             source: Optional[YamlSource] = None) -> GenResult:
    """Count, weigh, and render: the standalone block, or the whole config with its Loss section edited.

    `loss`: one of params.LOSSES (None: CostSensitiveCE, and existing entries keep their loss); `gamma` is that
    loss's strength (its gamma, beta or tau; None: its default). `source`: the config already parsed (a PaddleX
    module config's resolved PaddleClas config, paddlex_commands.py), else `config` is read."""
    spec = params.loss_spec(loss if loss is not None else params.LOSS_NAME)
    gamma_value = spec.rule(gamma if gamma is not None else spec.default)
    if config is None:
        table = table_from_lists(train_lists, delimiter or " ", class_num, gamma_value, clamp_empty, loss=spec.name)
        advice = [note(f"{_label(spec.name)} from the first epoch: deferred re-weighting (plain cross-entropy "
                       "first) is better on deep networks; gen --config CFG defers it by default")] if spec.weighted else []
        return GenResult(loss_block(table, ", ".join(map(str, train_lists))), table, _table_notes(table) + advice,
                         table.summary())
    source = source if source is not None else load_config(config)
    existing_drw = _existing_drw(source)
    not_deferred: List[Problem] = []  # why a converted CELoss is not deferred as by default
    drw_default = drw_epoch is None and existing_drw is None
    if drw_default:
        drw_epoch, not_deferred = _default_drw(source, loss)
    elif drw_epoch == 1 and existing_drw is None:  # from the first epoch: nothing to defer, no keys to write
        drw_epoch, not_deferred = None, [note(f"--drw-epoch 1: {_label(spec.name)} from the first epoch, no DRW")]
    drw_planned = drw_epoch is not None or existing_drw is not None
    notes = preconditions(source, drw_planned)
    lists, list_notes = _lists_of(source, train_lists, data_root)
    notes += list_notes
    configured, keys = ppconfig.class_num(source)
    origin = None
    set_class_num = None
    if class_num is not None and configured is not None and class_num != configured:
        set_class_num = (keys, class_num)
        notes.append(Problem(config, *source.position(keys), NOTE, "",
                             f"--class-num {class_num}: {dotted(keys)} set from {configured} to {class_num}"))
    elif configured is not None:
        origin = ClassCountOrigin(config, *source.position(keys), dotted(keys))
    table = table_from_lists(lists, delimiter if delimiter is not None else ppconfig.delimiter(source),
                             class_num if class_num is not None else configured, gamma_value, clamp_empty, origin,
                             spec.name)
    notes += _table_notes(table)
    drw = None
    if drw_planned:
        start = drw_epoch if drw_epoch is not None else existing_drw
        assert start is not None
        # from the counts as written, as csce-drw-schedule computes it (keys checked by `preconditions`)
        iters = ppconfig.iters_per_epoch(source, sum(table.num_class_list), world_size)
        drw = Drw(start, max(iters, 1))  # 0 iterations: the check of the result below says why
        label = _label(spec.name)
        if start == 1:
            notes.append(note(f"DRW: drw_start_epoch 1, {label} from the first epoch (no plain cross-entropy phase)"))
        else:
            notes.append(note(f"DRW: plain cross-entropy for epochs 1..{start - 1}, {label} from epoch {start} "
                              f"({iters} iterations per epoch on {world_size} card{'s' if world_size > 1 else ''})"
                              + (DEFAULT_DRW_WHY.format(label=label) if drw_default else "")))
    notes += not_deferred
    if sampler is not None:
        chosen = ", ".join(f"{k}: {v}" for k, v in ppconfig.SAMPLER_CHOICES[sampler.kind].items())
        since = f" from epoch {sampler.start_epoch} (instance-balanced before)" if sampler.start_epoch else ""
        notes.append(note(f"DataLoader.Train.sampler: LongTailSampler, {chosen}{since}; install it with csce-config "
                          "install --paddleclas DIR"))
    if metric:
        notes.append(note("Metric.Eval: LongTailAcc with the counts, first (it picks the best model by balanced "
                          "accuracy); install it with csce-config install --paddleclas DIR"))
    edits = config_edits(source, table, gamma is not None, drw, set_class_num, loss, sampler, metric)
    text = apply_edits(source.text, edits, source)
    result = parse_yaml(text, config)
    problems, _ = check_source(result, Options(data_root=data_root, world_size=world_size), RESULT_RULES)
    if errors_of(problems):  # nothing is written; each problem at its place in the given file
        raise ProblemsError([in_given(problem, source, result, edits) for problem in problems])
    return GenResult(text, table, notes + [p for p in problems if p.severity in (WARNING, NOTE)],
                     _summary_as_written(result, table))


def preconditions(source: YamlSource, drw_planned: bool) -> List[Problem]:
    """What gen needs of the given config before it counts and edits (every problem at once, as a ProblemsError;
    else the warnings): INPUT_RULES, and gen's own list, plain checks that are no validate rule:
    1. Loss.Train is a list with a CELoss or one of the three losses (gen-loss): nothing else is re-weighted;
    2. the train dataset is an ImageNetDataset (gen-dataset): the only list gen can count;
    3. the configured class count is usable (csce-class-count): the counts are made for it;
    4. with DRW to write, the keys iters_per_epoch comes from are there and usable (csce-drw-schedule)."""
    found: List[Problem] = []
    if not isinstance(source.data, dict):
        return require_clean(source, Options(), INPUT_RULES)  # not a config: yaml-top-level says so
    entries = source.get(("Loss", "Train"))
    names = {name for keys, name, _ in ppconfig.loss_entries(source) if keys[:2] == ("Loss", "Train")}
    if not isinstance(entries, list):
        found.append(located(source, GEN_LOSS, ("Loss", "Train") if isinstance(source.get(("Loss",)), dict) else (),
                             "not a PaddleClas training config (no Loss.Train list); gen left it untouched"))
    elif not names & set(TRAINABLE):
        found.append(located(source, GEN_LOSS, ("Loss", "Train"), f"Loss.Train has {', '.join(sorted(names)) or 'no loss'} "
                             f"but no {', '.join(TRAINABLE)}; replacing those losses would change what the model "
                             "learns, so gen leaves it alone", at_key=True))
    dataset = ppconfig.train_dataset(source)
    if dataset is not None and not is_imagenet(dataset.get("name")):  # or a name PaddleClas binds to it (ClsDataset)
        found.append(located(source, GEN_DATASET, ppconfig.TRAIN_DATASET + ("name",),
                             f"the train dataset is {dataset.get('name')}, not a single-label ImageNetDataset list; "
                             "gen counts only those"))
    value, keys = ppconfig.class_num(source)
    why = params.class_count_problem(value) if value is not None else None
    if why is not None:
        found.append(located(source, CLASS_COUNT, keys, f"{dotted(keys)} {why}"))
    if drw_planned:
        found += [located(source, DRW_SCHEDULE, keys, message)
                  for keys, message in ppconfig.epoch_length_problems(source, needed=True)]
    return require_clean(source, Options(), INPUT_RULES, found)


# Why gen defers a re-weighting loss it writes in place of a CELoss (appended to its DRW note).
DEFAULT_DRW_WHY = (f": gen's default, {PLAIN_SHARE:.0%} of Global.epochs plain as in the paper's reference code, where "
                   "{label} from the first epoch does worse than plain CE; --drw-epoch 1 for {label} from the first epoch")


def _label(name: str) -> str:
    return "CS_CE" if name == params.LOSS_NAME else name


def _default_drw(source: YamlSource, loss: Optional[str]) -> Tuple[Optional[int], List[Problem]]:
    """The drw_start_epoch gen writes when not told (drw.default_start_epoch of Global.epochs) where it turns a
    Loss.Train CELoss into a re-weighting loss (CS_CE, class-balanced), with the note that says so; None, and a note
    why, when the config gives no schedule to defer by. Balanced Softmax is not deferred: the reference code has it
    better from the first epoch. Entries of the three losses keep what they have."""
    targets = [_target(name, loss) for keys, name, _ in _entries(source)
               if keys[:2] == ("Loss", "Train") and name == ppconfig.CE_NAME]
    weighted = [target for target in targets if params.LOSSES[target].weighted]
    if not weighted:
        return None, []
    label = _label(weighted[0])
    epochs = source.get(("Global", "epochs"))
    unusable = ppconfig.epoch_length_problems(source, needed=True)
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 2 or unusable:
        why = unusable[0][1] if unusable else "no Global.epochs" if epochs is None else f"Global.epochs is {epochs!r}"
        return None, [note(f"{label} from the first epoch, not deferred as gen does by default ({why}); "
                           "give --drw-epoch E to defer it", source.path)]
    return default_start_epoch(epochs), []


def _summary_as_written(result: YamlSource, table: WeightTable) -> str:
    """The summary of the first Loss.Train entry as gen wrote it: an entry that kept its own loss or strength
    (no --loss / --gamma given) is described by those, not by the defaults."""
    for keys, name, values in _entries(result):
        if keys[:2] == ("Loss", "Train") and name in params.LOSSES:
            spec = params.LOSSES[name]
            strength = values.get(spec.strength, spec.default)
            if (name, strength) == (table.loss, table.strength) or not isinstance(strength, (int, float)):
                break
            try:
                per_class = spec.per_class(table.num_class_list, float(strength))
            except (ValueError, OverflowError):
                break
            return replace(table, loss=name, strength=float(strength), weights=per_class).summary()
    return table.summary()


def _existing_drw(source: YamlSource) -> Optional[int]:
    """The drw_start_epoch a Loss.Train entry of the three losses already has (gen then recomputes iters_per_epoch)."""
    for keys, name, values in _entries(source):
        start = values.get("drw_start_epoch")
        if keys[:2] == ("Loss", "Train") and name in params.LOSSES and isinstance(start, int) and start >= 1:
            return start
    return None


def _table_notes(table: WeightTable) -> List[Problem]:
    if not table.clamped:
        return []
    return [note(f"classes {', '.join(map(str, table.clamped))} have no training images; counted as 1",
                 rule="list-classes", severity=WARNING)]
