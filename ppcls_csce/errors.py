"""The one exception for bad data: a list of Problem records, rendered by report.py, exit 1 in the CLI."""

import re
from typing import Iterable, List, Optional

from .report import ERROR, Problem

# The rule of a problem raised without one (a list file that cannot be read, a PaddleClas checkout that is
# not one, a missing optional dependency): documented in rules/command.py as INPUT.
INPUT_RULE = "input"
# `PATH: message`, `PATH:LINE: message` or `PATH:LINE:COL: message`, as older callers spell a place in the text.
_LOCATED = re.compile(r"(?P<path>[^\s:][^\s]*?)(?::(?P<line>\d+))?(?::(?P<column>\d+))?: (?P<message>.+)", re.S)


class ProblemsError(Exception):
    """Bad input: every problem found, each a located Problem; the CLI prints them all and exits 1."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: List[Problem] = list(problems)
        super().__init__("\n".join(problem.as_text() for problem in self.problems))


class CsceError(ProblemsError):
    """One problem given as a message (`PATH:LINE: reason` where a place is known, which is parsed out)."""

    def __init__(self, message: str, path: Optional[str] = None, line: Optional[int] = None,
                 column: Optional[int] = None, rule: str = INPUT_RULE, severity: str = ERROR) -> None:
        self.text = message  # str(error): the message as given (older callers and their tests read it)
        if path is None:
            match = _LOCATED.fullmatch(message)
            if match is not None:
                path, message = match["path"], match["message"]
                line = int(match["line"]) if match["line"] else None
                column = int(match["column"]) if match["column"] else None
        self.message = message
        super().__init__([Problem(path or "", line, column, severity, rule, message)])

    def __str__(self) -> str:
        return self.text
