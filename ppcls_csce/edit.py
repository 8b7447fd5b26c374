"""Byte-preserving edits of a YAML text: rewrite one node, rename one key, add one key.

Everything outside the edited spans stays as it was: comments, key order, anchors, quoting, line ends.
"""

import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

import yaml

from . import params
from .errors import CsceError
from .yamlsource import node_span


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


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    """Apply non-overlapping edits; identical duplicates (one node reached twice through an alias) count once."""
    # dict.fromkeys drops duplicates but keeps order: insertions at one point land in the order given
    unique: List[TextEdit] = sorted(dict.fromkeys(edits), key=lambda e: (e.start, e.end))
    for before, after in zip(unique, unique[1:]):
        if after.start < before.end:
            raise CsceError(
                "two edits would change the same YAML text (a node shared through an anchor and alias?); "
                "edit the Loss section by hand"
            )
    for edit in reversed(unique):
        text = text[: edit.start] + edit.new + text[edit.end :]
    return text
