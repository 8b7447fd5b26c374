"""The README's commands stay true: every `console` block is run and its output compared."""

import difflib
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
TEST_COMMAND = "pip install -e '.[test,paddle,engine]' && python -m pytest"


def fenced_blocks(language: str) -> List[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def console_examples() -> List[Tuple[str, List[str]]]:
    """(command, expected output lines) for each `$ command` in the console blocks."""
    examples = []
    for block in fenced_blocks("console"):
        command, expected = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    examples.append((command, expected))
                command, expected = line[2:], []
            elif command is not None and command.endswith("\\"):
                command = command[:-1] + line.strip()
            else:
                expected.append(line.rstrip())
        if command is not None:
            examples.append((command, expected))
    return examples


def matches(expected: List[str], actual: List[str]) -> bool:
    """Line by line; a line `...` stands for any lines, a line ending in `...` for any line with that start."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[skip:]) for skip in range(len(actual) + 1))
    if not actual:
        return False
    line = actual[0]
    same = line.startswith(head[:-3]) if head.endswith("...") else line == head
    return same and matches(rest, actual[1:])


def run_console(command: str) -> List[str]:
    words = shlex.split(command)
    assert words[0] == "csce-config", f"README console examples run csce-config, got {command!r}"
    done = subprocess.run(
        [sys.executable, "-m", "ppcls_csce", *words[1:]],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120,
    )
    return [line.rstrip() for line in done.stdout.splitlines()]


EXAMPLES = console_examples()


def test_the_readme_has_console_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("command, expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_console_example_output(command: str, expected: List[str]):
    actual = run_console(command)
    assert matches(expected, actual), "\n".join(["README says:", *expected, "", "the command prints:", *actual])


def test_ci_runs_the_readme_test_command_and_nothing_weaker():
    assert README.count(TEST_COMMAND) >= 2
    ci = (REPO / ".ci" / "run").read_text()
    assert TEST_COMMAND in [line.strip() for line in ci.splitlines()]


def test_quick_start_command_runs():
    quick = [line for block in fenced_blocks("bash") for line in block.splitlines() if "&& csce-config gen" in line]
    assert quick == ["pip install -e . && csce-config gen --train-list examples/train_list.txt"]
    output = run_console(quick[0].split("&& ", 1)[1])
    assert "Loss:" in output and "    - CostSensitiveCE:" in output


def test_the_diff_shown_is_what_gen_does(tmp_path: Path):
    (shown,) = fenced_blocks("diff")
    out = tmp_path / "out.yaml"
    subprocess.run(
        [sys.executable, "-m", "ppcls_csce", "gen", "--train-list", "examples/train_list.txt",
         "--config", "examples/ResNet18_longtail.yaml", "-o", str(out)],
        cwd=REPO, check=True, capture_output=True,
    )
    before = (REPO / "examples" / "ResNet18_longtail.yaml").read_text().splitlines()
    changed = [
        line for line in difflib.ndiff(before, out.read_text().splitlines()) if line[:2] in ("- ", "+ ")
    ]
    shown_changes = [line for line in shown.splitlines() if line[:1] in "+-"]
    assert [line[0] + line[2:] for line in changed] == shown_changes


def test_the_experiment_tables_are_the_committed_results():
    """The README's Fashion-MNIST tables are rows of examples/longtail/results.md, the run's own output."""
    section = README.split("## Does it help?", 1)[1].split("\n## ", 1)[0]
    results = (REPO / "examples" / "longtail" / "results.md").read_text(encoding="utf-8").splitlines()
    labels = {line.split(" | ")[0] for line in results if line.startswith("| ") and " | 3 | " in line}
    shown = [line for line in section.splitlines() if line.split(" | ")[0] in labels]
    assert len(shown) >= len(labels) >= 7  # every arm of the main table at least once
    assert [line for line in shown if line not in results] == []
