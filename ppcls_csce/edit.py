"""Byte-preserving edits of a YAML text: rewrite one node, rename one key, add one key.

Everything outside the edited spans stays as it was: comments, key order, anchors, quoting, line ends.
"""

import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from . import params
from .errors import CsceError, ProblemsError
from .report import ERROR, Problem
from .yamlsource import YamlSource, node_span

# The rule of a refused edit that would reach a place through an anchor, alias or merge key it was not asked
# for there (documented in rules/shared_edit.py).
SHARED_RULE = "edit-shared"


@dataclass(frozen=True)
class TextEdit:
    start: int
    end: int
    new: str


def yaml_float(value: float) -> str:
    """A float spelled so that PyYAML (YAML 1.1) reads it back as a float: 1e-05 -> 1.0e-05 (params spells it)."""
    return params.yaml_float_text(repr(float(value)))


def yaml_int_list(values: Sequence[int]) -> str:
    """One flow-style line, whatever its length."""
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


def newline_of(text: str) -> str:
    """The file's line end, for an added line (install._newline is the same; it belongs to install's owner)."""
    return "\r\n" if "\r\n" in text else "\n"


# An anchor (&name) or tag (!tag) in front of a node's content; its start mark includes them.
_PROPERTIES = re.compile(r"(?:[&!][^\s,\[\]{}]*\s+)*")


def replace_node(node: yaml.Node, new_text: str, text: Optional[str] = None) -> TextEdit:
    """Rewrite a node's content; given the document `text`, its anchor or tag stays, so `*aliases` still resolve."""
    start, end = node_span(node)
    if text is not None:
        properties = _PROPERTIES.match(text, start, end)
        if properties is not None and properties.end() < end:
            start = properties.end()
    return TextEdit(start, end, new_text)


def _value_end(text: str, key_node: yaml.Node, value_node: yaml.Node) -> int:
    """Where a mapping value's own text ends. An alias (`key: *counts`) is the node it names, whose marks
    point at the anchor elsewhere in the file: its end is found after the key instead."""
    if value_node.start_mark.index < key_node.end_mark.index:
        alias = _ALIAS.match(text, key_node.end_mark.index)
        if alias is None:  # pragma: no cover - PyYAML gave a value before its key that is no alias
            raise CsceError("cannot find the end of an aliased value; edit the Loss section by hand")
        return alias.end()
    end = node_span(value_node)[1]
    if isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">"):
        # a block scalar ends after its last line (and the blank lines kept with it): back up to that line's end
        end = len(text[:end].rstrip("\r\n ")) if text[:end].strip() else end
    return end


_ALIAS = re.compile(r"\s*:\s*\*[^\s,\[\]{}]+")


def set_keys(text: str, mapping: yaml.MappingNode, items: Sequence[Tuple[str, str]]) -> List[TextEdit]:
    """Set `key: value_text` for each item: a key that is there gets its value rewritten, the others are added
    after the last key, all in one edit, so that several keys added to one mapping compose (`{}`, a trailing
    comma, a comment before `}`, a block scalar or an alias as the last value)."""
    edits: List[TextEdit] = []
    added: List[Tuple[str, str]] = []
    for key, value_text in items:
        for key_node, value_node in reversed(mapping.value):
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                if value_node.start_mark.index < key_node.end_mark.index:  # an alias: rewrite the anchored node
                    edits.append(replace_node(value_node, value_text, text))
                    break
                start, end = node_span(value_node)
                if start == end:  # `key:` with nothing after it: rewrite from the end of the key on
                    colon = text.index(":", key_node.end_mark.index)
                    edits.append(TextEdit(colon, end, f": {value_text}"))
                else:
                    edits.append(replace_node(value_node, value_text, text))
                break
        else:
            added.append((key, value_text))
    if added:
        edits.append(_add_keys(text, mapping, added))
    return edits


def _add_keys(text: str, mapping: yaml.MappingNode, added: Sequence[Tuple[str, str]]) -> TextEdit:
    if mapping.flow_style:
        pairs = ", ".join(f"{key}: {value}" for key, value in added)
        if not mapping.value:  # `{}` or `{ }`: just before the `}`
            close = mapping.end_mark.index - 1
            return TextEdit(close, close, pairs)
        end = _value_end(text, *mapping.value[-1])  # before a trailing comma or comment, inside the braces
        return TextEdit(end, end, ", " + pairs)
    if not mapping.value:
        raise CsceError("cannot add a key to an empty block mapping")
    last_key, last_value = mapping.value[-1]
    indent = " " * last_key.start_mark.column
    end = _value_end(text, last_key, last_value)
    line_end = text.find("\n", end)
    if line_end == -1:
        line_end = len(text)
    elif text[line_end - 1 : line_end] == "\r":
        line_end -= 1
    newline = newline_of(text)
    return TextEdit(line_end, line_end, "".join(f"{newline}{indent}{key}: {value}" for key, value in added))


def _region(text: str, node: yaml.Node) -> Tuple[int, int]:
    """Where an edit changes a node's value: its own text, for a block collection from the start of its first
    line to the end of its last (a key added to a block mapping lands after its last value's line end)."""
    start, end = node_span(node)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style:
        line_start = text.rfind("\n", 0, start) + 1
        if not text[line_start:start].strip():  # only indentation before it (not a key: `- CELoss: &ce`)
            start = line_start
        line_end = text.find("\n", end)
        line_end = len(text) if line_end == -1 else line_end
        rest = text[end:line_end].strip()
        if not rest or rest.startswith("#"):
            end = line_end
    return start, end


def _inside(edit: TextEdit, region: Tuple[int, int]) -> bool:
    start, end = region
    if edit.start == edit.end:
        return start <= edit.start <= end
    return edit.start < end and edit.end > start


def shared_edit(source: YamlSource, edits: Sequence[TextEdit]) -> Optional[Problem]:
    """The problem when an edit lands inside a node that an alias or a `<<:` merge key uses elsewhere, so that
    it would change places nobody asked to change (a Train sampler anchored and aliased by Eval gets Eval
    re-sampled too). One node reached through each of its places by the same edit (`num_class_list: *counts`
    in two loss entries that both get the counts) is fine: the edit was asked for everywhere it lands."""
    if not source.aliased:
        return None
    asked: Dict[TextEdit, int] = {}
    for edit in edits:
        asked[edit] = asked.get(edit, 0) + 1
    regions = [(node, uses, _region(source.text, node)) for node, uses in source.aliased.values()]
    for edit, times in asked.items():
        reached = 1
        shared = None
        for node, uses, region in regions:
            if _inside(edit, region):
                reached *= uses
                shared = node if shared is None or node.start_mark.index > shared.start_mark.index else shared
        if shared is not None and times < reached:
            return _shared_problem(source, shared, reached)
    return None


def _shared_problem(source: YamlSource, node: yaml.Node, places: int) -> Problem:
    anchor = re.match(r"&([^\s,\[\]{}]+)", source.text[node.start_mark.index:])
    name = anchor.group(1) if anchor else None
    uses = [source.text.count("\n", 0, found.start()) + 1
            for found in re.finditer(rf"\*{re.escape(name)}(?![^\s,\[\]{{}}])", source.text)] if name else []
    where = (f"the anchor &{name}, used again on line{'s' if len(uses) > 1 else ''} {', '.join(map(str, uses))} "
             "by an alias or a `<<:` merge key" if uses else f"an anchor used in {places} places")
    return Problem(source.path, node.start_mark.line + 1, node.start_mark.column + 1, ERROR, SHARED_RULE,
                   f"the edit lands in a value shared through {where}, so it would change that place too, which "
                   "was not asked for; write the value out in full at each place instead of sharing it, then run "
                   "again")


def apply_edits(text: str, edits: Iterable[TextEdit], source: Optional[YamlSource] = None) -> str:
    """Apply non-overlapping edits; identical duplicates (one node reached twice through an alias) count once.
    With the `source` the text was parsed into, an edit that would reach a place through an anchor that it
    was not asked for there is refused (shared_edit), located, before anything changes."""
    edits = list(edits)
    if source is not None:
        problem = shared_edit(source, edits)
        if problem is not None:
            raise ProblemsError([problem])
    # dict.fromkeys drops duplicates but keeps order: insertions at one point land in the order given
    unique: List[TextEdit] = sorted(dict.fromkeys(edits), key=lambda e: (e.start, e.end))
    for before, after in zip(unique, unique[1:]):
        if after.start < before.end:
            line = text.count("\n", 0, after.start) + 1
            raise CsceError(
                "two edits would change the same YAML text (a node shared through an anchor and alias?); "
                "edit it by hand", source.path if source is not None else None,
                line if source is not None else None, rule=SHARED_RULE)
    for edit in reversed(unique):
        text = text[: edit.start] + edit.new + text[edit.end :]
    return text
