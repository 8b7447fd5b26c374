"""Rules about the file as YAML, before anything PaddleClas-specific.

The first four are enforced by `yamlsource.load_yaml` (it raises YamlLoadError with these rule ids);
they are documented ids (DocumentedId), listed here so that every id has one home.
"""

from typing import Iterator

from ..report import Problem
from ..yamlsource import iter_duplicate_keys
from .base import ERROR, Context, DocumentedId, Rule


def check_duplicate_keys(context: Context) -> Iterator[Problem]:
    """A key repeated in one mapping: PyYAML (and so PaddleClas) silently keeps only the last value, so the
    first one, often the one that was meant, is ignored. Reported at the repeated key."""
    for key_node in iter_duplicate_keys(context.source.root):
        yield context.at(
            DUPLICATE_KEY, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
            f"duplicate key {key_node.value!r}: PyYAML silently keeps only its last value in this mapping",
        )


def check_top_level(context: Context) -> Iterator[Problem]:
    """A PaddleClas config is one YAML mapping (`Global:`, `Arch:`, ...): an empty file or a top-level list
    or scalar is refused, since `tools/train.py` would fail on it."""
    root = context.source.root
    if root is None:
        yield context.at(TOP_LEVEL, None, None,
                         "empty YAML document: a PaddleClas config is a mapping (Global:, Arch:, Loss:, ...)")
    elif not isinstance(context.data, dict):
        kind = "list" if isinstance(context.data, list) else type(context.data).__name__
        yield context.at(TOP_LEVEL, root.start_mark.line + 1, root.start_mark.column + 1,
                         f"the top level is a {kind}, not a mapping: a PaddleClas config maps section names "
                      "(Global:, Arch:, Loss:, ...) to their settings")


FILE = DocumentedId(
    "file", ERROR,
    "The path is missing, a directory, or unreadable; or a file (standard output included) cannot be written.",
    doc="Each path must be a readable file; a directory, a missing path or an unreadable file is one line "
        "and exit 1. The same id marks a file that cannot be written (a read-only folder, a full disk, a FIFO "
        "or device given as the output), left as it was, and a standard output that is closed (`>&-`) or whose "
        "reader went away (`| head -c1`): the output is incomplete, so the exit code is 1.",
)
FILE_ENCODING = DocumentedId(
    "file-encoding", ERROR,
    "A binary file (NUL bytes) or text that is not UTF-8, which PaddleClas cannot read.",
    doc="PaddleClas opens configs as UTF-8 text; a binary file or another encoding is reported with the "
        "line and column of the first undecodable byte.",
)
YAML_SYNTAX = DocumentedId(
    "yaml-syntax", ERROR,
    "The file is not valid YAML (or holds several documents).",
    doc="PyYAML's own error, at the line and column where it stopped; only the safe loader is used, so "
        "nothing in the file is ever executed.",
)
ALIAS_BOMB = DocumentedId(
    "yaml-alias-bomb", ERROR,
    "Aliases that expand to an enormous document (\"billion laughs\"), or nesting too deep to read; refused "
    "before expansion.",
    doc="What aliases add to the document when expanded is measured in time linear in the file and refused above "
        "100,000 nodes, and a file nested deeper than the parser can follow is refused too, so a hostile file "
        "costs neither time nor memory, and never crashes the process.",
)
DUPLICATE_KEY = Rule(
    "yaml-duplicate-key", ERROR,
    "A key repeated in one mapping; PyYAML keeps the last value silently.",
    check=check_duplicate_keys,
)
TOP_LEVEL = Rule(
    "yaml-top-level", ERROR,
    "An empty file, or a top level that is not a mapping.",
    check=check_top_level,
)

RULES = [DUPLICATE_KEY, TOP_LEVEL]
IDS = [FILE, FILE_ENCODING, YAML_SYNTAX, ALIAS_BOMB]  # raised by yamlsource.load_yaml
