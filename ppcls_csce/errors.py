"""The one exception for bad data: a list of Problem records, rendered by report.py, exit 1 in the CLI.

A problem's place (path, line, column) and rule travel as fields from where it is found to the reporter;
no message text is ever parsed for them, so a path with a space or a colon is located like any other.
"""

import os
from typing import Iterable, List, Optional, Union

from .report import ERROR, Problem, format_text

# The rule of a problem raised without one (a list file that cannot be read, a PaddleClas checkout that is
# not one, a missing optional dependency): documented in rules/command.py as INPUT.
INPUT_RULE = "input"


class ProblemsError(Exception):
    """Bad input: every problem found, each a located Problem; the CLI prints them all and exits 1.
    str() is the lines the CLI prints."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: List[Problem] = list(problems)
        super().__init__(format_text(self.problems).rstrip("\n"))


class CsceError(ProblemsError):
    """One problem: `message` says what is wrong (never where: that is `path`, `line`, `column`)."""

    def __init__(self, message: str, path: Union[str, "os.PathLike[str]", None] = None, line: Optional[int] = None,
                 column: Optional[int] = None, rule: str = INPUT_RULE, severity: str = ERROR) -> None:
        self.message = message
        super().__init__([Problem(os.fspath(path) if path is not None else "", line, column, severity, rule, message)])
