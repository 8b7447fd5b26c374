"""A YAML file as text plus its node tree, so every value can be traced back to a line and column.

One safe PyYAML compose keeps the marks; the Python data is constructed from the same nodes.
Nothing in a config is ever executed: only SafeLoader is used.
"""

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import yaml

Key = Union[str, int]
# Nodes that aliases may add to a document when expanded; more is refused ("billion laughs").
# Real configs alias a few scalars (`class_num: &class_num 1000`); their own size is not limited here.
MAX_ALIAS_EXPANSION = 100_000


# libyaml's safe loader builds the same nodes and values (character-indexed marks) about 20x faster,
# which matters for num_class_list lines with 100,000+ classes; PyYAML's pure-Python one is the fallback.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlLoadError(Exception):
    """The file cannot be read as one YAML document; line/column are 1-based when known."""

    def __init__(self, message: str, line: Optional[int] = None, column: Optional[int] = None, rule: str = "yaml-syntax"):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.rule = rule


@dataclass
class YamlSource:
    path: str
    text: str
    root: Optional[yaml.Node]
    data: Any
    # The nodes an alias (`*name`, also as a `<<: *name` merge key) refers to, by id: (node, how many places use
    # it, its anchor included). An edit inside one of them changes every such place (edit.shared_edit).
    aliased: Dict[int, Tuple[yaml.Node, int]] = field(default_factory=dict)

    # --- positions -------------------------------------------------------------------------------------------
    def node_at(self, keys: Sequence[Key]) -> Optional[yaml.Node]:
        """The value node at a path of mapping keys and list indexes, or None."""
        node = self.root
        for key in keys:
            node = child_node(node, key)
            if node is None:
                return None
        return node

    def key_node_at(self, keys: Sequence[Key]) -> Optional[yaml.Node]:
        """The key node of the last mapping key in `keys` (for "unknown key" diagnostics)."""
        if not keys or not isinstance(keys[-1], str):
            return self.node_at(keys)
        parent = self.node_at(keys[:-1])
        if isinstance(parent, yaml.MappingNode):
            for key_node, _ in parent.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == keys[-1]:
                    return key_node
        return None

    def position(self, keys: Sequence[Key], at_key: bool = False) -> Tuple[Optional[int], Optional[int]]:
        """1-based (line, column) of the node at `keys`, or of its nearest existing ancestor."""
        keys = list(keys)
        while True:
            node = self.key_node_at(keys) if at_key else self.node_at(keys)
            if node is not None:
                return node.start_mark.line + 1, node.start_mark.column + 1
            if not keys:
                return (1, 1) if self.root is None else (self.root.start_mark.line + 1, self.root.start_mark.column + 1)
            keys.pop()
            at_key = False

    def get(self, keys: Sequence[Key], default: Any = None) -> Any:
        """The constructed Python value at `keys`, or `default`."""
        value = self.data
        for key in keys:
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
                value = value[key]
            else:
                return default
        return value


def child_node(node: Optional[yaml.Node], key: Key) -> Optional[yaml.Node]:
    """The value node under `key` (last one wins, as in PyYAML) or list item `key`."""
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        found = None
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found = value_node
        return found
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def iter_duplicate_keys(node: Optional[yaml.Node]) -> Iterator[yaml.Node]:
    """Key nodes that repeat an earlier key of the same mapping (PyYAML silently keeps the last)."""
    seen_nodes = set()
    stack: List[yaml.Node] = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if id(current) in seen_nodes:
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            keys_seen = set()
            for key_node, value_node in current.value:
                # a key a `<<:` merge key brought in (its text is the anchor's, before this mapping) may be
                # overridden here: that is what merge keys are for
                if isinstance(key_node, yaml.ScalarNode) and key_node.start_mark.index >= current.start_mark.index:
                    if key_node.value in keys_seen:
                        yield key_node
                    keys_seen.add(key_node.value)
                stack.append(value_node)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def alias_expansion(root: Optional[yaml.Node], limit: int = MAX_ALIAS_EXPANSION,
                    aliased: Optional[Dict[int, Tuple[yaml.Node, int]]] = None) -> int:
    """How many nodes aliases add when the document is expanded, memoised so a bomb costs O(nodes); capped.
    Every node reached again (an alias) is counted into `aliased` on the way: (node, places that use it)."""
    memo: dict = {}
    cap = limit * 10 + 1

    def size(node: yaml.Node) -> int:
        known = memo.get(id(node))
        if known is not None:
            if aliased is not None:
                aliased[id(node)] = (node, aliased.get(id(node), (node, 1))[1] + 1)
            return known
        memo[id(node)] = cap  # a cycle (recursive alias) counts as too big
        total = 1
        children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else (
            node.value if isinstance(node, yaml.SequenceNode) else [])
        for child in children:
            total = min(total + size(child), cap)
        memo[id(node)] = total
        return total

    if root is None:
        return 0
    return max(0, size(root) - len(memo))


# libyaml composes nodes by recursion in C, where Python's recursion limit does not apply: a file nesting
# [[[... 100,000 deep crashes the process. Such files go to the pure-Python loader (RecursionError, caught).
_MAX_C_DEPTH = 200
_FLOW_BRACKETS = re.compile(r"[\[\]{}]")


def _nesting_bound(text: str) -> int:
    """An upper bound on the document's nesting depth: flow brackets plus, per line, indentation and block
    indicators (brackets or indicators inside strings and comments only raise it)."""
    flow = deepest = 0
    for bracket in _FLOW_BRACKETS.finditer(text):
        flow += 1 if bracket.group() in "[{" else -1
        deepest = max(deepest, flow)
    block = max((2 * (len(line) - len(line.lstrip()) + 1) + line.count("-") + line.count("?") + line.count(":")
                 for line in text.splitlines()), default=0)
    return deepest + block


def _loader_for(text: str) -> type:
    if _SAFE_LOADER is yaml.SafeLoader:
        return yaml.SafeLoader
    if text.startswith("\ufeff"):  # libyaml drops a leading BOM before counting: its indexes would be one short
        return yaml.SafeLoader
    return yaml.SafeLoader if _nesting_bound(text) > _MAX_C_DEPTH else _SAFE_LOADER


def parse_yaml(text: str, path: str = "<string>") -> YamlSource:
    """Compose and construct one document with the safe loader; refuse alias bombs before constructing."""
    try:
        loader = _loader_for(text)(text)
        try:
            root = loader.get_single_node()
            aliased: Dict[int, Tuple[yaml.Node, int]] = {}
            if root is not None and alias_expansion(root, aliased=aliased) > MAX_ALIAS_EXPANSION:
                raise YamlLoadError(
                    f"aliases expand the document by more than {MAX_ALIAS_EXPANSION} nodes "
                    "(an alias bomb?); refused",
                    root.start_mark.line + 1,
                    root.start_mark.column + 1,
                    rule="yaml-alias-bomb",
                )
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(part for part in (error.context, error.problem) if part) or "invalid YAML"
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise YamlLoadError(f"not valid YAML: {problem}", line, column) from None
    except yaml.YAMLError as error:
        raise YamlLoadError(f"not valid YAML: {error}") from None
    except RecursionError:
        raise YamlLoadError("the document nests too deeply to read", rule="yaml-alias-bomb") from None
    return YamlSource(path=path, text=text, root=root, data=data, aliased=aliased)


# No PaddleClas config comes near this (the largest real ones, with 100,000-class num_class_list values, are
# about 1 MB); larger input is refused unread, so `validate /dev/zero` or a huge file cannot exhaust memory.
MAX_CONFIG_BYTES = 64 << 20


def read_text(path: Union[str, Path]) -> str:
    """The file's text as PaddleClas would read it (UTF-8); one-line errors for anything else. Only a regular
    file up to MAX_CONFIG_BYTES is read (opened without blocking, so a FIFO cannot hang the run)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0))  # O_BINARY: Windows keeps CR bytes
    except FileNotFoundError:
        raise YamlLoadError("no such file", rule="file") from None
    except IsADirectoryError:
        raise YamlLoadError("is a directory, not a YAML file", rule="file") from None
    except (OSError, ValueError) as error:
        raise YamlLoadError(f"cannot read: {getattr(error, 'strerror', None) or error}", rule="file") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise YamlLoadError("is a directory, not a YAML file", rule="file")
        if not stat.S_ISREG(info.st_mode):
            raise YamlLoadError("is not a regular file (a device, FIFO or socket); not read", rule="file")
        if info.st_size > MAX_CONFIG_BYTES:
            raise YamlLoadError(f"is {info.st_size:,} bytes, above the limit of {MAX_CONFIG_BYTES:,} for a config; "
                                "not read", rule="file")
        try:
            raw = _read_upto(fd, MAX_CONFIG_BYTES + 1)
        except OSError as error:
            raise YamlLoadError(f"cannot read: {error.strerror or error}", rule="file") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_CONFIG_BYTES:  # it grew while being read
        raise YamlLoadError(f"is more than {MAX_CONFIG_BYTES:,} bytes, the limit for a config; not read", rule="file")
    if b"\x00" in raw[:8192]:
        raise YamlLoadError("binary file (NUL bytes), not a YAML config", rule="file-encoding")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise YamlLoadError(f"not UTF-8 text (byte 0x{raw[error.start]:02x})", line, column, rule="file-encoding") from None
    return text  # a BOM stays: PyYAML skips it, and edits must keep it


def _read_upto(fd: int, limit: int) -> bytes:
    parts = []
    size = 0
    while size < limit:
        part = os.read(fd, min(limit - size, 1 << 20))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def load_yaml(path: Union[str, Path]) -> YamlSource:
    return parse_yaml(read_text(path), str(path))


def node_span(node: yaml.Node) -> Tuple[int, int]:
    """Character offsets [start, end) of a node's own text; block collections end at their last item."""
    start = node.start_mark.index
    if isinstance(node, yaml.MappingNode) and node.value and node.flow_style is not True:
        return start, node_span(node.value[-1][1])[1]
    if isinstance(node, yaml.SequenceNode) and node.value and node.flow_style is not True:
        return start, node_span(node.value[-1])[1]
    return start, node.end_mark.index
