"""validate: find, at commit time, the config mistakes PaddleClas reports hours into training, or never.

Each file is checked on its own (pre-commit runs several processes on chunks of the file list, so nothing
is kept between files), with every rule in `rules.RULES`; a file never stops at its first problem.
"""

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import List, Sequence, Union

from .atomic import WriteError, write_atomic
from .edit import apply_edits
from .errors import ProblemsError
from .report import ERROR, WARNING, Problem
from .checks import check_source, load_problem
from .rules import Options
from .rules.yaml_file import FILE
from .yamlsource import YamlLoadError, load_yaml, parse_yaml

__all__ = ["FileResult", "Options", "check_source", "exit_code", "validate_file", "validate_text"]


@dataclass
class FileResult:
    """The problems of one file (and of the train lists it was compared with); `fixed`: --fix rewrote it."""

    path: str
    problems: List[Problem] = field(default_factory=list)
    fixed: bool = False


def validate_text(text: str, path: str = "<string>", options: Options = Options()) -> List[Problem]:
    """The problems of a config given as text (nothing is written)."""
    try:
        source = parse_yaml(text, path)
    except YamlLoadError as error:
        return [load_problem(path, error)]
    return check_source(source, options)[0]


def validate_file(path: Union[str, Path], options: Options = Options(), fix: bool = False) -> FileResult:
    """Check one file; with `fix`, rewrite stale num_class_list values in place (atomically, nothing else
    changes) and report what is left after the fix."""
    name = str(path)
    try:
        source = load_yaml(name)
    except YamlLoadError as error:
        return FileResult(name, [load_problem(name, error)])
    problems, edits = check_source(source, options)
    if not (fix and edits):
        return FileResult(name, problems)
    try:
        new_text = apply_edits(source.text, edits, source)
    except ProblemsError as error:
        return FileResult(name, problems + [replace(problem, path=problem.path or name) for problem in error.problems])
    if new_text == source.text:
        return FileResult(name, problems)
    try:
        write_atomic(name, new_text.encode("utf-8"))
    except WriteError as error:  # e.g. a read-only folder: report it and go on with the other files
        why = f"cannot write the fix: {error.reason}"
        return FileResult(name, problems + [Problem(name, None, None, ERROR, FILE.id, why)])
    return FileResult(name, validate_text(new_text, name, options), fixed=True)


def exit_code(results: Sequence[FileResult], strict: bool = False) -> int:
    """0 clean; 1 when any error (any warning too with `strict`), or when --fix changed a file."""
    failing = {ERROR, WARNING} if strict else {ERROR}
    bad = any(problem.severity in failing for result in results for problem in result.problems)
    return 1 if bad or any(result.fixed for result in results) else 0
