"""checks.py: the one way a command checks a config (a named subset of the rules), and the loader's rule ids."""

import pytest

from ppcls_csce.checks import check_source, load_config, require_clean
from ppcls_csce.errors import ProblemsError
from ppcls_csce.rules import BY_ID, Options
from ppcls_csce.validate import validate_file
from ppcls_csce.yamlsource import parse_yaml

CONFIG = ("Arch:\n  name: R\n  class_num: 3\nDataLoader:\n  Train:\n    dataset:\n      name: ImageNetDataset\n"
          "      relabel: True\nLoss:\n  Train:\n    - FocalLoss: {weight: 1.0}\n")


CSCE = CONFIG.replace("FocalLoss: {weight: 1.0}", "CostSensitiveCE: {weight: 1.0, num_class_list: [3, 2, 1]}")


def test_only_runs_the_named_rules():
    assert [p.rule for p in check_source(parse_yaml(CONFIG, "c.yaml"))[0]] == []  # no CostSensitiveCE: all fine
    source = parse_yaml(CSCE, "c.yaml")
    assert [p.rule for p in check_source(source)[0]] == ["csce-relabel"]
    assert [p.rule for p in check_source(source, Options(), ["csce-relabel", "loss-shape"])[0]] == ["csce-relabel"]
    assert [p.rule for p in check_source(source, Options(), ["loss-shape"])[0]] == []


def test_require_clean_raises_every_error_at_once():
    text = CSCE.replace("class_num: 3", "class_num: 0")
    with pytest.raises(ProblemsError) as caught:
        require_clean(parse_yaml(text, "c.yaml"), Options(), ["csce-relabel", "csce-class-count"])
    assert [p.as_text().split(": error: ")[0] for p in caught.value.problems] == ["c.yaml:3:14", "c.yaml:8:16"]


def test_load_config_failures_are_problems_of_the_loader_rules(tmp_path):
    with pytest.raises(ProblemsError) as caught:
        load_config(str(tmp_path / "missing.yaml"))
    [problem] = caught.value.problems
    assert (problem.rule, problem.severity) == ("file", "error")


LOADER_INPUTS = [
    ("file", None), ("file", "folder"), ("file-encoding", b"a: 1\n\x00\x01"), ("file-encoding", b"a: \xff\n"),
    ("yaml-syntax", b"a: [1,\n"), ("yaml-syntax", b"a: 1\n---\nb: 2\n"), ("yaml-duplicate-key", b"a: 1\na: 2\n"),
    ("yaml-alias-bomb", b"a: &a [x, x, x, x, x, x, x, x, x, x]\n" + b"".join(
        b"%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n" % ((b"n%d" % i,) * 2 + (b"a" if i == 0 else b"n%d" % (i - 1),) * 10)
        for i in range(6))),
    ("yaml-alias-bomb", b"[" * 100_000), ("yaml-top-level", b"- a\n"), ("yaml-top-level", b""),
]


@pytest.mark.parametrize("rule, data", LOADER_INPUTS)
def test_every_loader_failure_is_a_documented_id(tmp_path, rule, data):
    """What the loader refuses comes out as one located problem whose id and severity are documented (rules.BY_ID)."""
    path = tmp_path / "c.yaml"
    if data == "folder":
        path.mkdir()
    elif data is not None:
        path.write_bytes(data)
    [problem] = validate_file(path).problems
    assert problem.rule == rule and problem.path == str(path)
    assert BY_ID[rule].severity == problem.severity


def test_a_problem_of_the_edited_text_is_placed_in_the_given_file():
    """gen checks the text it would write; each problem is reported where it is in the file the user gave."""
    from ppcls_csce.checks import in_given
    from ppcls_csce.edit import TextEdit, apply_edits
    from ppcls_csce.report import Problem

    given = parse_yaml("a: 1\nb: 2\nc: 3\n", "c.yaml")
    edits = [TextEdit(5, 5, "x: [1,\n  2]\n"), TextEdit(13, 14, "30")]  # two lines before b; c's value rewritten
    result = parse_yaml(apply_edits(given.text, edits), "c.yaml")
    assert result.text == "a: 1\nx: [1,\n  2]\nb: 2\nc: 30\n"

    def placed(line, column):
        moved = in_given(Problem("c.yaml", line, column, "error", "r", "m"), given, result, edits)
        return moved.line, moved.column

    assert placed(1, 4) == (1, 4)  # before every edit
    assert placed(4, 4) == (2, 4)  # b, after the inserted lines
    assert placed(3, 3) == (2, 1)  # inside the inserted text: where it goes in
    assert placed(5, 4) == (3, 4)  # c's new value: where the old one was
    assert in_given(Problem("other.txt", 3, None, "error", "r", "m"), given, result, edits).line == 3
