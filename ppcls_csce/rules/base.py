"""What every validate rule gets (a Context for one file), what it is (a Rule), and an id raised elsewhere.

A Context holds one parsed file and the command's options, nothing else: validate keeps no state
between files, because pre-commit runs several validate processes in parallel on chunks of files.
"""

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from .. import params, ppconfig
from ..ppconfig import loss_sections
from ..edit import TextEdit
from ..report import ERROR, WARNING, Problem
from ..yamlsource import Key, YamlSource

Keys = Tuple[Key, ...]

__all__ = ["ERROR", "WARNING", "Context", "CsceEntry", "DocumentedId", "Options", "Rule", "dotted", "located",
           "loss_entries", "loss_sections"]


# name -> (state, why) of each name `install` puts into a PaddleClas checkout (install.part_states)
States = Mapping[str, Tuple[str, str]]


@dataclass(frozen=True)
class Options:
    """What the user told validate (or the command that checks a config): all a rule may read besides the file."""

    train_lists: Tuple[str, ...] = ()
    data_root: Optional[str] = None  # where a relative cls_label_path is resolved; None: the current folder
    require_csce: bool = False
    allow_outside_data_root: bool = False  # read a cls_label_path that resolves outside data_root
    world_size: int = 1  # training cards, for the iterations per epoch (csce-drw-schedule)
    paddleclas: Optional[str] = None  # --paddleclas DIR: the checkout the `installed` rule checks
    paddleclas_states: Optional[States] = field(default=None, compare=False)  # its states, read once per run


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


def located(source: YamlSource, code: "Coded", keys: Sequence[Key], message: str, at_key: bool = False) -> Problem:
    """A problem with `code`'s id and severity at the node `keys` leads to in `source` (its key with `at_key`), or
    its nearest ancestor: how any command words a problem about a config, inside a rule or not."""
    line, column = source.position(tuple(keys), at_key=at_key)
    return Problem(source.path, line, column, code.severity, code.id, message)


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

    def problem(self, rule: "Coded", keys: Sequence[Key], message: str, at_key: bool = False) -> Problem:
        """A problem of `rule` (its id and severity) located at the node `keys` leads to (its key with
        `at_key`), or its nearest ancestor."""
        return located(self.source, rule, keys, message, at_key)

    def at(self, rule: "Coded", line: Optional[int], column: Optional[int], message: str) -> Problem:
        """A problem of `rule` at a place given directly (a YAML node's mark, a list file's line)."""
        return Problem(self.path, line, column, rule.severity, rule.id, message)

    def line_of(self, keys: Sequence[Key]) -> int:
        return self.source.position(tuple(keys))[0] or 1

    def loss_entries(self) -> List[CsceEntry]:
        """Every entry of any of the three losses (params.LOSSES) in every loss list, in file order (its `keys`
        end with its name): ppconfig.loss_entries, the one walk over loss lists, computed once per file."""
        if self._entries is None:
            self._entries = [CsceEntry(keys, values) for keys, name, values in ppconfig.loss_entries(self.source)
                             if name in params.LOSSES]
        return self._entries


Check = Callable[[Context], Iterable[Problem]]


@dataclass(frozen=True)
class Rule:
    """A check of one config that the registry (rules.RULES) runs: its id (shown as `[id]` after each message),
    severity, a one-line summary (the rules table), and the check, whose docstring is the rule's documentation."""

    id: str
    severity: str
    summary: str
    check: Check

    @property
    def doc(self) -> str:
        return " ".join((self.check.__doc__ or "").split())

    def run(self, context: Context) -> Iterator[Problem]:
        yield from self.check(context)


@dataclass(frozen=True)
class DocumentedId:
    """An id that is raised outside the registry (the YAML loader, the list scanner, a command's own
    preconditions, input a command cannot use): documented beside the rules, never run as one."""

    id: str
    severity: str
    summary: str
    doc: str


Coded = Union[Rule, DocumentedId]  # what a problem's id and severity come from


def loss_entries(context: Context) -> List[CsceEntry]:
    """Every entry of the three losses in `context`'s file (Context.loss_entries): the one list every rule reads."""
    return context.loss_entries()
