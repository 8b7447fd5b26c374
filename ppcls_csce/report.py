"""The problem record and every output format for it (text, json, github), in one place."""

import json
from dataclasses import asdict, dataclass
from typing import Iterable, Optional

ERROR = "error"
WARNING = "warning"
NOTE = "note"  # what a command tells the user that is not a problem (gen's DRW schedule, smoke's skipped losses)
PROGRAM = "csce-config"  # shown in place of a path when a problem has none


@dataclass(frozen=True)
class Problem:
    """One finding: where (1-based line and column; column None for list-file lines; path "" when it is about
    no file), how bad, which rule ("" for a note that no rule gives)."""

    path: str
    line: Optional[int]
    column: Optional[int]
    severity: str
    rule: str
    message: str

    def location(self) -> str:
        parts = [escape_text(self.path) if self.path else PROGRAM]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def as_text(self) -> str:
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{self.location()}: {self.severity}: {escape_text(self.message)}{rule}"


def escape_text(text: str) -> str:
    """One output line per problem, whatever a path or message holds: a newline in a list file's name cannot
    start a line of its own, and a name that is not UTF-8 (surrogate escapes) is shown as \\x.. instead of
    raising UnicodeEncodeError on the way out."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape_char(char) for char in text)


def _escape_char(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by os.fsdecode's surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")


def note(message: str, path: str = "", rule: str = "", severity: str = NOTE) -> Problem:
    """A command's note (or warning) that has no place in a file, shown the way problems are."""
    return Problem(path, None, None, severity, rule, message)


def format_text(problems: Iterable[Problem]) -> str:
    return "".join(problem.as_text() + "\n" for problem in problems)


def format_json(problems: Iterable[Problem]) -> str:
    return json.dumps([asdict(problem) for problem in problems], indent=2) + "\n"


def _github_escape(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(problems: Iterable[Problem]) -> str:
    lines = []
    for problem in problems:
        props = [f"file={_github_escape(problem.path, True)}"]
        if problem.line is not None:
            props.append(f"line={problem.line}")
        if problem.column is not None:
            props.append(f"col={problem.column}")
        props.append(f"title={_github_escape(problem.rule, True)}")
        lines.append(f"::{problem.severity} {','.join(props)}::{_github_escape(problem.message)}\n")
    return "".join(lines)


FORMATS = {"text": format_text, "json": format_json, "github": format_github}


def render(problems: Iterable[Problem], output_format: str = "text") -> str:
    return FORMATS[output_format](list(problems))
