"""The problem record and every output format for it (text, json, github), in one place."""

import json
from dataclasses import asdict, dataclass
from typing import Iterable, Optional

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding: where (1-based line and column; column None for list-file lines), how bad, which rule."""

    path: str
    line: Optional[int]
    column: Optional[int]
    severity: str
    rule: str
    message: str

    def location(self) -> str:
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def as_text(self) -> str:
        return f"{self.location()}: {self.severity}: {self.message} [{self.rule}]"


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
