"""What every validate rule gets (a Context for one file) and what it is (a Rule record).

A Context holds one parsed file and the command's options, nothing else: validate keeps no state
between files, because pre-commit runs several validate processes in parallel on chunks of files.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

from .. import params
from ..ppconfig import loss_sections
from ..edit import TextEdit
from ..report import ERROR, WARNING, Problem
from ..yamlsource import Key, YamlSource

Keys = Tuple[Key, ...]

__all__ = ["ERROR", "WARNING", "Context", "CsceEntry", "Options", "Rule", "dotted", "loss_entries", "loss_sections"]


@dataclass(frozen=True)
class Options:
    """The command-line options a rule may read."""

    train_lists: Tuple[str, ...] = ()
    data_root: Optional[str] = None  # where a relative cls_label_path is resolved; None: the current folder
    require_csce: bool = False
    allow_outside_data_root: bool = False  # read a cls_label_path that resolves outside data_root
    world_size: int = 1  # training cards, for the iterations per epoch (csce-drw-schedule)
    # What gen is about to do, so that its preconditions run through the same rules as validate: every CELoss
    # becomes CostSensitiveCE (csce_planned), deferred re-weighting is added (drw_planned), and the number of
    # training images it counted (samples, for iters_per_epoch; else the sum of num_class_list).
    csce_planned: bool = False
    drw_planned: bool = False
    samples: Optional[int] = None


@dataclass(frozen=True)
class CsceEntry:
    """One `- CostSensitiveCE: {...}` entry (or BalancedSoftmaxCE, ClassBalancedCE): where it is (`keys` ends with the loss name) and its values."""

    keys: Keys
    values: Any

    @property
    def name(self) -> str:
        """CostSensitiveCE, BalancedSoftmaxCE or ClassBalancedCE."""
        return str(self.keys[-1])

    @property
    def spec(self) -> params.LossSpec:
        return params.LOSSES[self.name]

    @property
    def section(self) -> str:
        """`Loss.Train`, `Loss.Eval`, ... as users read it."""
        return dotted(self.keys[:2])

    def value(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default) if isinstance(self.values, dict) else default


def dotted(keys: Sequence[Key]) -> str:
    """`Loss.Train.0.CELoss`: the key path as PaddleClas's `-o` overrides spell it."""
    return ".".join(str(key) for key in keys)


class Context:
    """One file under validation: its source, the options, and the edits `--fix` may apply."""

    def __init__(self, source: YamlSource, options: Options) -> None:
        self.source = source
        self.options = options
        self.edits: List[TextEdit] = []
        self._entries: Optional[List[CsceEntry]] = None

    @property
    def path(self) -> str:
        return self.source.path

    @property
    def data(self) -> Any:
        return self.source.data

    def problem(self, rule: "Rule", keys: Sequence[Key], message: str, at_key: bool = False) -> Problem:
        """A problem of `rule` (its id and severity) located at the node `keys` leads to (its key with
        `at_key`), or its nearest ancestor."""
        line, column = self.source.position(tuple(keys), at_key=at_key)
        return Problem(self.path, line, column, rule.severity, rule.id, message)

    def at(self, rule: "Rule", line: Optional[int], column: Optional[int], message: str) -> Problem:
        """A problem of `rule` at a place given directly (a YAML node's mark, a list file's line)."""
        return Problem(self.path, line, column, rule.severity, rule.id, message)

    def line_of(self, keys: Sequence[Key]) -> int:
        return self.source.position(tuple(keys))[0] or 1

    def loss_entries(self) -> List[CsceEntry]:
        """Every entry of any of the three losses (params.LOSSES) in every loss list, in file order (its `keys`
        end with its name); computed once per file."""
        if self._entries is None:
            self._entries = [
                CsceEntry(section_keys + (index, name), entry[name])
                for section_keys, entries in loss_sections(self.data)
                if isinstance(entries, list)
                for index, entry in enumerate(entries)
                if isinstance(entry, dict) and len(entry) == 1
                for name in entry
                if name in params.LOSSES
            ]
        return self._entries

    def data_root(self) -> Path:
        """Where a relative cls_label_path is resolved: --data-root, else the current folder (kept relative)."""
        return Path(self.options.data_root) if self.options.data_root is not None else Path()


Check = Callable[[Context], Iterable[Problem]]


@dataclass(frozen=True)
class Rule:
    """A rule: its id (shown as `[id]` after each message), severity, a one-line summary (the README's rules
    table), and the check (None for the rules the YAML loader or the list scanner enforce; then `doc` says why)."""

    id: str
    severity: str
    summary: str
    check: Optional[Check] = None
    doc: str = ""

    def __post_init__(self) -> None:
        if not self.doc and self.check is not None and self.check.__doc__:
            object.__setattr__(self, "doc", " ".join(self.check.__doc__.split()))

    def run(self, context: Context) -> Iterator[Problem]:
        if self.check is not None:
            yield from self.check(context)


def loss_entries(context: Context) -> List[CsceEntry]:
    """Every entry of the three losses in `context`'s file (Context.loss_entries): the one list every rule reads."""
    return context.loss_entries()
