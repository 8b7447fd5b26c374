"""report.py: the one place problems and notes become text, JSON or GitHub annotations."""

import json

from ppcls_csce.errors import CsceError, ProblemsError
from ppcls_csce.report import ERROR, WARNING, Problem, escape_text, format_github, format_json, format_text, note


def test_text_is_path_line_column_severity_message_rule():
    problems = [Problem("c.yaml", 3, 7, ERROR, "loss-shape", "bad"), Problem("l.txt", 9, None, WARNING, "list-line", "w"),
                Problem("c.yaml", None, None, ERROR, "file", "no such file")]
    assert format_text(problems) == ("c.yaml:3:7: error: bad [loss-shape]\nl.txt:9: warning: w [list-line]\n"
                                     "c.yaml: error: no such file [file]\n")


def test_a_note_without_path_or_rule_names_the_program():
    assert note("DRW: plain CE for epochs 1..9").as_text() == "csce-config: note: DRW: plain CE for epochs 1..9"
    assert note("x", "c.yaml", "list-classes", WARNING).as_text() == "c.yaml: warning: x [list-classes]"


def test_github_escapes_message_and_properties():
    problem = Problem("a:b,c%.yaml", 2, 5, ERROR, "r:1,2", "50% done\r\nnext: a, b")
    assert format_github([problem]) == (
        "::error file=a%3Ab%2Cc%25.yaml,line=2,col=5,title=r%3A1%2C2::50%25 done%0D%0Anext: a, b\n"
    )


def test_github_without_a_place_has_no_line_or_col():
    assert format_github([Problem("x.yaml", None, None, WARNING, "file", "m")]) == "::warning file=x.yaml,title=file::m\n"


def test_json_keeps_every_field():
    problem = Problem("c.yaml", 1, 2, ERROR, "loss-shape", "m")
    assert json.loads(format_json([problem])) == [
        {"path": "c.yaml", "line": 1, "column": 2, "severity": "error", "rule": "loss-shape", "message": "m"}]


def test_text_escapes_what_would_break_the_line_or_the_encoding():
    assert escape_text("a\nb\tc") == "a\\nb\\tc"
    assert escape_text("bad-\udcff.txt") == "bad-\\xff.txt"  # a non-UTF-8 byte kept by surrogateescape
    assert escape_text("naïve ok") == "naïve ok"
    line = Problem("x\n.txt", None, None, ERROR, "input", "no such file").as_text()
    assert "\n" not in line and line.encode("utf-8")


def test_csce_error_is_one_problem_whose_place_is_data_never_parsed_from_its_message():
    looks_located = CsceError("list.txt:4: cannot read")  # text that looks like a place stays text
    assert isinstance(looks_located, ProblemsError)
    assert format_text(looks_located.problems) == "csce-config: error: list.txt:4: cannot read [input]\n"
    [plain] = CsceError("--plot needs matplotlib: pip install it").problems
    assert (plain.path, plain.message) == ("", "--plot needs matplotlib: pip install it")
    [given] = CsceError("why", path="c.yaml", line=3, column=1, rule="gen-loss").problems
    assert given.as_text() == "c.yaml:3:1: error: why [gen-loss]"
    [spaced] = CsceError("no such file", path="my data/train list.txt", line=2).problems
    assert spaced.as_text() == "my data/train list.txt:2: error: no such file [input]"
