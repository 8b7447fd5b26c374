"""Byte-preserving edits of a YAML text: rewrite one node, rename one key, add one key.

Everything outside the edited spans stays as it was: comments, key order, anchors, quoting, line ends.
"""

import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence

import yaml

from .errors import CsceError
from .yamlsource import node_span


@dataclass(frozen=True)
class TextEdit:
    start: int
    end: int
    new: str


def yaml_float(value: float) -> str:
    """A float spelled so that PyYAML (YAML 1.1) reads it back as a float: 1e-05 -> 1.0e-05."""
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        text = f"{mantissa}e{exponent}"
    return text


def yaml_int_list(values: Sequence[int]) -> str:
    """One flow-style line, whatever its length."""
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


def yaml_value(value: object) -> str:
    """Text for the few kinds of value the tool writes."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"not a value the tool writes: {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return yaml_float(value)
    if isinstance(value, (list, tuple)):
        return yaml_int_list(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"not a value the tool writes: {value!r}")


def newline_of(text: str) -> str:
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


def set_key(text: str, mapping: yaml.MappingNode, key: str, value_text: str) -> TextEdit:
    """Set `key: value_text` in a mapping: rewrite the value node if the key is there, else add the key last."""
    for key_node, value_node in reversed(mapping.value):
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            start, end = node_span(value_node)
            if start == end:  # `key:` with nothing after it: rewrite from the end of the key on
                colon = text.index(":", key_node.end_mark.index)
                return TextEdit(colon, end, f": {value_text}")
            return replace_node(value_node, value_text, text)
    if mapping.flow_style:
        close = mapping.end_mark.index - 1  # the index of "}"
        separator = ", " if mapping.value else ""
        return TextEdit(close, close, f"{separator}{key}: {value_text}")
    if not mapping.value:
        raise CsceError("cannot add a key to an empty block mapping")
    last_key = mapping.value[-1][0]
    indent = " " * last_key.start_mark.column
    _, end = node_span(mapping.value[-1][1])
    line_end = text.find("\n", end)
    if line_end == -1:
        line_end = len(text)
    elif text[line_end - 1 : line_end] == "\r":
        line_end -= 1
    return TextEdit(line_end, line_end, f"{newline_of(text)}{indent}{key}: {value_text}")


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
