"""The one way every command checks a config: load it, run a named subset of the rules, raise the errors.

validate runs every rule of `rules.RULES`; gen runs them on the text it would write, and gen and smoke run the
few their own work depends on, through the same `check_source`, so what they refuse, validate reports with the
same rule id and message.
"""

from dataclasses import replace
from typing import Iterable, List, Optional, Tuple, Union

from .edit import TextEdit
from .errors import ProblemsError
from .report import ERROR, Problem
from .rules import BY_ID, RULES, Context, Options, Rule
from .rules.yaml_file import TOP_LEVEL
from .yamlsource import YamlLoadError, YamlSource, load_yaml

__all__ = ["check_source", "errors_of", "in_given", "load_config", "load_problem", "require_clean"]


def _ordered(problems: Iterable[Problem], path: str) -> List[Problem]:
    """The file's own problems by position, then those of other files (train lists); duplicates once
    (a node shared through an alias is reached by two key paths)."""
    unique = list(dict.fromkeys(problems))
    own = sorted((p for p in unique if p.path == path), key=lambda p: (p.line or 0, p.column or 0))
    return own + [p for p in unique if p.path != path]


def check_source(source: YamlSource, options: Options = Options(),
                 only: Optional[Iterable[Union[Rule, str]]] = None) -> Tuple[List[Problem], List[TextEdit]]:
    """Run every validate rule (or `only` these, by record or id, in registry order) on one parsed file: its
    problems, and the edits that --fix would apply. The one way any command checks a config."""
    context = Context(source, options)
    problems: List[Problem] = []
    chosen = None if only is None else {rule if isinstance(rule, str) else rule.id for rule in only}
    for rule in RULES:
        if chosen is not None and rule.id not in chosen:
            continue
        problems.extend(rule.run(context))
        if rule is TOP_LEVEL and not isinstance(source.data, dict):
            break  # not a config at all: nothing else applies
    return _ordered(problems, source.path), context.edits


def load_problem(path: str, error: YamlLoadError) -> Problem:
    """The loader's failure as a problem of its rule (rules/yaml_file.py holds the records)."""
    rule = BY_ID.get(error.rule)  # every id the loader raises is documented (tests/test_checks.py checks it)
    return Problem(path, error.line, error.column, rule.severity if rule else ERROR, error.rule, error.message)


def load_config(path: str) -> YamlSource:
    """The parsed config, or a ProblemsError with the loader's located problem."""
    try:
        return load_yaml(path)
    except YamlLoadError as error:
        raise ProblemsError([load_problem(path, error)]) from None


def errors_of(problems: Iterable[Problem]) -> List[Problem]:
    return [problem for problem in problems if problem.severity == ERROR]


def require_clean(source: YamlSource, options: Options, only: Iterable[Union[Rule, str]],
                  extra: Iterable[Problem] = ()) -> List[Problem]:
    """Run `only` these rules: raise every error at once, with the `extra` problems a command found itself (its
    own preconditions), in file order (ProblemsError); else return the warnings."""
    problems, _ = check_source(source, options, only)
    problems = _ordered(problems + list(extra), source.path)
    if errors_of(problems):
        raise ProblemsError(problems)
    return problems


def in_given(problem: Problem, source: YamlSource, result: YamlSource, edits: Iterable[TextEdit]) -> Problem:
    """`problem` of `result`, `source` with `edits` applied, at the same place in `source`: the start of the edit when it lies in
    text gen wrote, else the same character, shifted back by the edits before it."""
    if problem.path != result.path or problem.line is None:
        return problem
    lines = result.text.splitlines(keepends=True)
    offset = sum(len(line) for line in lines[:problem.line - 1]) + (problem.column or 1) - 1
    shift = 0
    for edit in sorted(dict.fromkeys(edits), key=lambda e: (e.start, e.end)):
        start = edit.start + shift
        if offset < start:
            break
        if offset < start + len(edit.new):
            offset = edit.start + shift  # inside what gen wrote: the start of that edit
            break
        shift += len(edit.new) - (edit.end - edit.start)
    offset -= shift
    before = source.text[:offset]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1 if problem.column is not None else None
    return replace(problem, line=line, column=column)
