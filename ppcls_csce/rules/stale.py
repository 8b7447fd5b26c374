"""`num_class_list` against the train list it should have been counted from."""

import os
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import yaml

from .. import params, ppconfig
from ..edit import replace_node, yaml_int_list
from ..errors import CsceError
from ..report import ERROR, Problem
from ..scanner import RULE as LIST_LINE_ID
from ..scanner import scan_lists
from ..yamlsource import YamlSource
from .base import WARNING, Context, CsceEntry, DocumentedId, Keys, Options, Rule, located, loss_entries
from ..shell import quote
from .plugins import metric_entries

SHOWN_CLASSES = 5


def _label_path_keys() -> Keys:
    return tuple(ppconfig.TRAIN_DATASET) + ("cls_label_path",)


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:
        return False


def train_lists(source: YamlSource, options: Options) -> Tuple[List[str], bool, Optional[Problem]]:
    """The lists to count: `--train-list`, else `DataLoader.Train.dataset.cls_label_path` relative to
    `--data-root` (PaddleClas resolves it from its working folder). Second item: given explicitly. Third: why
    the config's list is not read (missing, not a regular file, or outside --data-root), a warning for validate.

    The config's list is read only when it resolves (symlinks followed) inside --data-root, unless the user
    allows more: a config from a pull request could name /proc/self/environ or /etc/passwd, and validate runs
    in CI, whose output is public."""
    if options.train_lists:
        return list(options.train_lists), True, None
    dataset = ppconfig.train_dataset(source) or {}
    label_path = dataset.get("cls_label_path")
    if not isinstance(label_path, str) or not label_path.strip():
        return [], False, None
    keys = _label_path_keys()
    root = Path(options.data_root) if options.data_root is not None else Path()
    try:
        candidate = root / label_path
        real, real_root = os.path.realpath(candidate), os.path.realpath(root)
        if not (_inside(real, real_root) or options.allow_outside_data_root):
            return [], False, located(
                source, LIST_OUTSIDE, keys, f"cls_label_path {label_path!r} resolves to {real!r}, outside the data root "
                f"{real_root!r} (--data-root): not read, so num_class_list is not checked against it; pass the "
                "list with --train-list, or --allow-outside-data-root")
        if os.path.isfile(real):
            return [str(candidate)], False, None
        why = "is not a regular file" if os.path.exists(real) else "does not exist"
    except (OSError, ValueError):  # a name the OS cannot even look up (NUL byte, too long)
        why = "cannot be looked up"
    return [], False, located(
        source, LIST_MISSING, keys, f"cls_label_path {label_path!r} {why} under the data root {str(root) or '.'!r}: "
        "num_class_list is not checked against the train list; run from PaddleClas's working folder, or pass "
        "--data-root or --train-list")


def _configured_class_num(context: Context) -> Optional[int]:
    value, _ = ppconfig.class_num(context.source)
    if not params.is_class_count(value):
        return None  # csce-class-count reports it
    return value


def _classes(labels: Sequence[int]) -> str:
    shown = ", ".join(str(label) for label in labels[:SHOWN_CLASSES])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > SHOWN_CLASSES else "")


def _fix_commands(context: Context, lists: Sequence[str], given: bool) -> str:
    quoted = [quote(path) for path in lists]
    options = " ".join(f"--train-list {path}" for path in quoted) if given else (
        f"--data-root {quote(context.options.data_root)}" if context.options.data_root else "")
    validate = " ".join(part for part in ("csce-config validate --fix", options, quote(context.path)) if part)
    gen = (f"csce-config gen {' '.join(f'--train-list {path}' for path in quoted)} "
           f"--config {quote(context.path)} --write")
    return f"Fix: {validate} (or {gen})"


def check_stale_counts(context: Context) -> Iterator[Problem]:
    """For each CostSensitiveCE, BalancedSoftmaxCE and ClassBalancedCE entry (and LongTailAcc metric): when `--train-list` is given, or `DataLoader.Train.dataset.cls_label_path` names a file inside the data root
    (else csce-list-missing or csce-list-outside-root says why it is not read), each
    `num_class_list` must equal the list's counts, read with gen's scanner and the config's delimiter: after the
    dataset changes, stale counts give silently wrong weights. The message names the classes that differ and
    the command that fixes it (`--fix` rewrites only the num_class_list value). A list with lines PaddleClas
    cannot read gets those lines reported (as list-line problems of the list file) instead."""
    entries = [entry for entry in loss_entries(context) if isinstance(entry.values, dict)]
    entries += [CsceEntry(keys, values) for keys, values in metric_entries(context.source) if isinstance(values, dict)]
    if not entries:
        return
    lists, given, skipped = train_lists(context.source, context.options)
    if skipped is not None:
        yield skipped
    if not lists:
        return
    class_num = _configured_class_num(context)
    try:
        counts = scan_lists(lists, ppconfig.delimiter(context.source), class_num)
    except CsceError as error:  # the list cannot be read: its own located problem
        yield from error.problems
        return
    if counts.problem_total:
        yield from counts.problems
        hidden = counts.problem_total - len(counts.problems)
        if hidden > 0:
            yield Problem(counts.problems[-1].path, None, None, ERROR, LIST_LINE_ID,
                          f"... and {hidden} more bad line{'s' if hidden > 1 else ''} (stale-count check skipped)")
        return
    names = ", ".join(lists) + ("" if given else " (the config's cls_label_path)")
    for entry in entries:
        written = entry.value("num_class_list")
        if not isinstance(written, list) or not written:
            continue  # csce-params reports it
        total = class_num if class_num is not None else len(written)
        keys = entry.keys + ("num_class_list",)
        beyond = [label for label in counts.counts if label >= total]
        if beyond:  # only without a configured class count (the scanner reports these lines otherwise)
            yield context.problem(STALE, keys, f"{', '.join(lists)} has labels up to {max(beyond)}, but num_class_list "
                                                  f"has {len(written)} counts (classes 0..{len(written) - 1})")
            continue
        expected = counts.num_class_list(total)
        if written == expected:
            continue
        empty = [label for label, count in enumerate(expected) if count == 0]
        differ = [label for label in range(max(len(written), total))
                  if label >= len(written) or label >= total or written[label] != expected[label]]
        shown = "; ".join(
            f"class {label}: {written[label] if label < len(written) else 'none'} here, "
            f"{expected[label] if label < total else 'none'} in the list" for label in differ[:SHOWN_CLASSES])
        more = f"; ... ({len(differ)} classes in all)" if len(differ) > SHOWN_CLASSES else ""
        if empty:
            advice = (f"Class{'es' if len(empty) > 1 else ''} {_classes(empty)} ha{'ve' if len(empty) > 1 else 's'} "
                      "no images in the list, so the weights would be infinite: fix the list or the class count")
        else:
            advice = _fix_commands(context, lists, given)
            node = context.source.node_at(keys)
            if isinstance(node, yaml.SequenceNode):
                context.edits.append(replace_node(node, yaml_int_list(expected), context.source.text))
        at = keys + (differ[0],) if len(written) == total else keys
        yield context.problem(
            STALE, at,
            f"{entry.section} {entry.name} num_class_list is stale: {len(differ)} of {total} classes differ from "
            f"{names}: {shown}{more}. {advice}",
        )


STALE = Rule(
    "csce-stale-counts", ERROR,
    "`num_class_list` differs from the counts of `--train-list` (or of the config's existing `cls_label_path`).",
    check=check_stale_counts,
)
LIST_LINE = DocumentedId(
    LIST_LINE_ID, ERROR,
    "A line of the train list that PaddleClas would crash on or misread (reported as `LIST:LINE`).",
    doc="The train list is read as PaddleClas's ImageNetDataset reads it (`line.strip().split(delimiter)`, the "
        "label through int64): a blank line, a doubled delimiter, a missing, non-integer, negative or "
        "out-of-range label is reported with the list's file and line, and the stale-count check is skipped.",
)

LIST_MISSING = DocumentedId(
    "csce-list-missing", WARNING,
    "A config with CostSensitiveCE names a `cls_label_path` that cannot be found (under `--data-root`): the "
    "stale-count check cannot run.",
    doc="The stale-count check is never skipped silently: when the config's train list is not found relative to "
        "--data-root (default: the current folder), validate says so at cls_label_path, and --strict fails.",
)
LIST_OUTSIDE = DocumentedId(
    "csce-list-outside-root", WARNING,
    "`cls_label_path` resolves (symlinks followed) outside `--data-root`: not read (`--train-list` or "
    "`--allow-outside-data-root` to read it).",
    doc="validate reads a config's cls_label_path only inside --data-root (default: the current folder), so a "
        "config from a pull request cannot make CI print lines of /proc/self/environ or /etc/passwd; the list "
        "given with --train-list, or --allow-outside-data-root, is read wherever it is.",
)

RULES = [STALE]
IDS = [LIST_LINE, LIST_MISSING, LIST_OUTSIDE]  # raised by the scanner and by train_lists, for csce-stale-counts
