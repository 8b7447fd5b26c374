"""The list scanner reads train lists exactly as PaddleClas's ImageNetDataset does.

The reference below is PaddleClas's own reading spelled out (text mode with universal newlines,
`line.strip().split(delimiter)`, `int()` on field 1); the property tests compare the scanner,
fast path and exact path alike, against it on random files, with blocks small enough that
lines straddle block edges.
"""

import io
import os
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from click.testing import CliRunner

from ppcls_csce import list_reader, scanner
from ppcls_csce.cli import cli
from ppcls_csce.params import MAX_CLASSES
from ppcls_csce.errors import CsceError, ProblemsError
from ppcls_csce.report import format_text
from ppcls_csce.scanner import ListCounts, scan_lists

INT64_MAX = 2**63 - 1
# What only the compiled pass can show; without it (no C compiler at install time) the exact rule reads every
# block, and the tests that compare both paths still run.
needs_compiled = pytest.mark.skipif(not scanner.COMPILED, reason="the compiled scanner pass (ppcls_csce/_plainscan.c) "
                                    "is not built: install with a C compiler (pip install -e .)")


def reference(data: bytes, delimiter: str, class_num: Optional[int] = None) -> Tuple[Dict[int, int], List[int]]:
    """Counts and bad line numbers, the plain way: PaddleClas's text-mode reading, line by line."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="surrogateescape", newline=None)
    counts: Counter = Counter()
    bad: List[int] = []
    for number, line in enumerate(stream, 1):
        if any("\udc80" <= char <= "\udcff" for char in line):  # bytes that are not UTF-8
            bad.append(number)
            continue
        fields = line.strip().split(delimiter)
        try:
            path, label = fields[0], int(fields[1])
        except (IndexError, ValueError):
            bad.append(number)
            continue
        if not path or label < 0 or label >= MAX_CLASSES or (class_num is not None and label >= class_num):
            bad.append(number)
            continue
        counts[label] += 1
    return dict(counts), bad


def write(tmp_path: Path, data: bytes, name: str = "train_list.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def scan_bytes(tmp_path: Path, data: bytes, **kwargs) -> ListCounts:
    return scan_lists([write(tmp_path, data)], **kwargs)


def only_problem(result: ListCounts) -> Tuple[int, str]:
    assert result.problem_total == 1, result.problems
    problem = result.problems[0]
    return problem.line, problem.message


@pytest.fixture(params=["one block", "small blocks"])
def reading(request, monkeypatch):
    """Run a test with the whole file in one block and with blocks of a few bytes (lines cross their edges)."""
    if request.param == "small blocks":
        monkeypatch.setattr(scanner, "CHUNK_SIZE", 5)
    return request.param


# --- one test per edge case ----------------------------------------------------------------------

def test_plain_list_counts_per_class(tmp_path):
    result = scan_bytes(tmp_path, b"a/1.jpg 0\na/2.jpg 0\nb/1.jpg 1\nc/1.jpg 2\n")
    assert result.counts == {0: 2, 1: 1, 2: 1}
    assert result.samples == 4
    assert result.problems == [] and result.problem_total == 0
    assert result.num_class_list(4) == [2, 1, 1, 0]


def test_blank_line_is_reported_with_its_line(tmp_path):
    result = scan_bytes(tmp_path, b"a.jpg 0\n\nb.jpg 1\n")
    assert only_problem(result) == (2, "blank line")
    assert result.counts == {0: 1, 1: 1}


def test_whitespace_only_line_is_blank(tmp_path):
    assert only_problem(scan_bytes(tmp_path, b"a.jpg 0\n \t \nb.jpg 1\n")) == (2, "blank line")


def test_trailing_blank_line_is_reported(tmp_path):
    assert only_problem(scan_bytes(tmp_path, b"a.jpg 0\nb.jpg 1\n\n"))[0] == 3


def test_doubled_delimiter_is_reported(tmp_path):
    line, message = only_problem(scan_bytes(tmp_path, b"a.jpg 0\nb.jpg  1\n"))
    assert line == 2
    assert "doubled delimiter" in message


def test_missing_label_is_reported(tmp_path):
    line, message = only_problem(scan_bytes(tmp_path, b"a.jpg 0\nb.jpg\n"))
    assert line == 2
    assert message.startswith("missing label")


def test_missing_label_hints_at_a_tab_delimiter(tmp_path):
    _, message = only_problem(scan_bytes(tmp_path, b"a.jpg\t0\n"))
    assert "'\\t'" in message


def test_empty_path_is_reported(tmp_path):
    line, message = only_problem(scan_bytes(tmp_path, b"a.jpg,0\n,1\n", delimiter=","))
    assert line == 2
    assert "empty image path" in message


@pytest.mark.parametrize("label", ["3.0", "1e2", "0x1", "cat", "3a", "1__0"])
def test_non_integer_label_is_reported_with_what_it_got(tmp_path, label):
    line, message = only_problem(scan_bytes(tmp_path, f"a.jpg 0\nb.jpg {label}\n".encode()))
    assert line == 2
    assert message == f"label {label!r} is not an integer"


def test_space_in_path_gets_a_hint(tmp_path):
    _, message = only_problem(scan_bytes(tmp_path, b"my photo.jpg 3\n"))
    assert "'photo.jpg' is not an integer" in message
    assert "tab delimiter" in message


@pytest.mark.parametrize("label, value", [("+3", 3), ("007", 7), ("1_000", 1000), ("٣", 3)])
def test_labels_int_accepts_are_read_like_numpy_int64(tmp_path, label, value):
    result = scan_bytes(tmp_path, f"a.jpg {label}\n".encode())
    assert result.counts == {value: 1} and result.problem_total == 0


def test_space_before_label_with_tab_delimiter(tmp_path):
    result = scan_bytes(tmp_path, b"my photo.jpg\t 3\nother.jpg\t3 \n", delimiter="\t")
    assert result.counts == {3: 2} and result.problem_total == 0


def test_negative_label_is_reported(tmp_path):
    assert only_problem(scan_bytes(tmp_path, b"a.jpg 0\nb.jpg -1\n")) == (2, "negative label -1")


def test_minus_zero_is_label_zero(tmp_path):
    assert scan_bytes(tmp_path, b"a.jpg -0\n").counts == {0: 1}


def test_label_beyond_int64_is_reported(tmp_path):
    result = scan_bytes(tmp_path, f"a.jpg 1\nb.jpg {INT64_MAX + 1}\n".encode())
    assert result.counts == {1: 1}
    assert only_problem(result) == (2, f"label {INT64_MAX + 1} does not fit in int64")
    huge = scan_bytes(tmp_path, b"a.jpg -" + b"9" * 4000 + b"\n")
    assert only_problem(huge) == (1, "negative label -9999999999999999999... (4001 digits)")


def test_a_label_at_the_class_limit_is_a_bad_line(tmp_path):
    """MAX_CLASSES bounds everything sized by the largest label (num_class_list, the tallies)."""
    result = scan_bytes(tmp_path, f"a.jpg {MAX_CLASSES - 1}\nb.jpg {MAX_CLASSES}\nc.jpg {INT64_MAX}\n".encode())
    assert result.counts == {MAX_CLASSES - 1: 1}
    assert [(p.line, p.message) for p in result.problems] == [
        (2, f"label {MAX_CLASSES} is above the limit of 10,000,000 classes (no classifier head is that wide)"),
        (3, f"label {INT64_MAX} is above the limit of 10,000,000 classes (no classifier head is that wide)")]


def test_label_out_of_range_for_class_num(tmp_path):
    result = scan_bytes(tmp_path, b"a.jpg 9\nb.jpg 12\n", class_num=10)
    assert only_problem(result) == (2, "label 12 is out of range for 10 classes")
    assert result.counts == {9: 1}


def test_crlf_line_ends(tmp_path, reading):
    result = scan_bytes(tmp_path, b"a.jpg 0\r\nb.jpg 1\r\nc.jpg 1\r\n")
    assert result.counts == {0: 1, 1: 2} and result.problem_total == 0


def test_lone_cr_ends_a_line(tmp_path, reading):
    # PaddleClas's text mode splits at the lone '\r': two lines, and line 3 counts after them.
    result = scan_bytes(tmp_path, b"a.jpg 0\rb.jpg 1\nbad\nc.jpg 2\n")
    assert result.counts == {0: 1, 1: 1, 2: 1}
    assert only_problem(result)[0] == 3


def test_utf8_bom_is_dropped(tmp_path, reading):
    result = scan_bytes(tmp_path, "\ufeffa.jpg 0\nb.jpg 1\n".encode())
    assert result.counts == {0: 1, 1: 1} and result.problem_total == 0


def test_bom_before_a_bad_first_line_keeps_line_numbers(tmp_path):
    assert only_problem(scan_bytes(tmp_path, "\ufeff7\nb.jpg 1\n".encode()))[0] == 1


def test_non_utf8_line_is_reported(tmp_path, reading):
    result = scan_bytes(tmp_path, b"a.jpg 0\n\xff\xfe.jpg 1\nc.jpg 2\n")
    line, message = only_problem(result)
    assert line == 2
    assert message == "not UTF-8 text (byte 0xff at byte 1 of the line)"
    assert result.counts == {0: 1, 2: 1}


def test_utf8_paths_are_fine(tmp_path, reading):
    result = scan_bytes(tmp_path, "猫/一.jpg 0\ntrain/café.jpg 1\n".encode())
    assert result.counts == {0: 1, 1: 1} and result.problem_total == 0


def test_last_line_without_line_end(tmp_path, reading):
    result = scan_bytes(tmp_path, b"a.jpg 0\nb.jpg 1")
    assert result.counts == {0: 1, 1: 1} and result.samples == 2


def test_extra_fields_are_ignored(tmp_path):
    assert scan_bytes(tmp_path, b"a.jpg 4 0.5 extra\n").counts == {4: 1}


def test_multi_char_and_non_ascii_delimiters(tmp_path):
    assert scan_bytes(tmp_path, b"a.jpg::4\nb::c.jpg::5\n", delimiter="::").counts == {4: 1}
    assert scan_bytes(tmp_path, "a.jpg，4\n".encode(), delimiter="，").counts == {4: 1}


def test_empty_file_has_no_samples(tmp_path, reading):
    result = scan_bytes(tmp_path, b"")
    assert result.counts == {} and result.samples == 0 and result.problem_total == 0


def test_several_files_add_up_and_keep_their_own_names(tmp_path):
    first = write(tmp_path, b"a.jpg 0\na.jpg 1\n", "one.txt")
    second = write(tmp_path, b"b.jpg 1\n\nb.jpg 2\n", "two.txt")
    result = scan_lists([first, str(second)])
    assert result.counts == {0: 1, 1: 2, 2: 1}
    assert result.samples == 4
    assert [(p.path, p.line) for p in result.problems] == [(str(second), 2)]


def test_chunk_boundaries_inside_lines_and_crlf_pairs(tmp_path, monkeypatch, reading):
    lines = [f"train/n{c:08d}/img_{i}.JPEG {c}" for i, c in enumerate([0, 1, 1, 22, 333, 1, 0] * 7)]
    data = "\r\n".join(lines).encode() + b"\r\n"
    for size in (1, 2, 3, 5, 8, 13, 41, 64):
        monkeypatch.setattr(scanner, "CHUNK_SIZE", size)
        result = scan_bytes(tmp_path, data)
        assert result.counts == reference(data, " ")[0], size
        assert result.problem_total == 0


def test_bad_lines_straddling_chunks_keep_their_numbers(tmp_path, monkeypatch, reading):
    data = b"".join(b"img%d.jpg %d\n" % (i, i % 3) if i % 10 else b"broken line %d\r" % i for i in range(1, 200))
    expected_counts, expected_bad = reference(data, " ")
    for size in (7, 32, 100, 1 << 20):
        monkeypatch.setattr(scanner, "CHUNK_SIZE", size)
        result = scan_bytes(tmp_path, data, max_problems=None)
        assert result.counts == expected_counts
        assert [p.line for p in result.problems] == expected_bad


def test_huge_labels_are_counted_exactly(tmp_path):
    data = b"a.jpg 9876543\nb.jpg 9876543\nc.jpg 9999999\nd.jpg 5\n"  # past the dense tally, below MAX_CLASSES
    assert scan_bytes(tmp_path, data).counts == {5: 1, 9876543: 2, 9999999: 1}


# Blocks that pass the bulk path's block-wide counts but hold a line PaddleClas reads differently:
# one witness for each per-line check of the bulk path.
BULK_PATH_WITNESSES = [
    (b"a b 3\n", " "),  # two delimiters: PaddleClas's label is 'b'
    (b"a -5\nb 12\n", " "),  # a sign before a short label, next to a longer one
    (b"a x5\nb 12\n", " "),
    (b"a -5\nb -6\n", " "),  # ... before every label of the block
    (b"b\t4\n \t3\n", "\t"),  # strip() eats the space and the tab: no label left
    (b" \t3\nb\t4\n", "\t"),  # ... on the block's first line
    ("b\t4\n\u3000\t3\n".encode(), "\t"),  # ... and Unicode whitespace too
    ("b\t4\n\x85\t3\n".encode(), "\t"),
    (b"b,4\n,3\n", ","),  # an empty path
    (b"x\ra 1\n", " "),  # a lone CR ends a line
    (b"a\r 1\n", " "),
]


def same_as_paddleclas(tmp_path: Path, data: bytes, delimiter: str = " ", class_num: Optional[int] = None) -> None:
    """scan_lists reads `data` as PaddleClas does, in one block and in blocks of 1 and 3 bytes."""
    expected_counts, expected_bad = reference(data, delimiter, class_num)
    for chunk_size in (1 << 20, 1, 3):
        saved, scanner.CHUNK_SIZE = scanner.CHUNK_SIZE, chunk_size
        try:
            result = scan_bytes(tmp_path, data, delimiter=delimiter, class_num=class_num, max_problems=None)
        finally:
            scanner.CHUNK_SIZE = saved
        assert result.counts == expected_counts, chunk_size
        assert [p.line for p in result.problems] == expected_bad, chunk_size


@needs_compiled
def test_the_compiled_fast_path_is_built():
    """Without it every block takes the exact rule: right, but much slower (no compiler?)."""
    assert scanner.COMPILED, "ppcls_csce._plainscan is missing: was the package installed without a C compiler?"


@pytest.mark.parametrize("data, delimiter", BULK_PATH_WITNESSES)
def test_lines_paddleclas_reads_differently_are_bad_lines(tmp_path, data, delimiter):
    assert reference(data, delimiter)[1]
    same_as_paddleclas(tmp_path, data, delimiter)


# Every character above ASCII that str.strip() removes: a line starting with one is read as PaddleClas reads it
# (the compiled pass must leave it to the exact rule; its list in _plainscan.c is checked against this Python's).
UNICODE_SPACES = [chr(code) for code in range(128, 0x110000) if chr(code).isspace()]


@pytest.mark.parametrize("first", UNICODE_SPACES, ids=lambda char: f"U+{ord(char):04X}")
def test_lines_starting_with_unicode_whitespace(tmp_path, first):
    same_as_paddleclas(tmp_path, f"a 1\n{first}b 2\n{first}\t3\n".encode())


@pytest.mark.parametrize("first", ["é", "猫", "\u200b", "\u180e", "\ufeff", "\x7f", "\U0001d538"],
                         ids=lambda char: f"U+{ord(char):04X}")
def test_paths_may_start_with_any_other_character(tmp_path, first):
    """Paths may start with any other character (CJK folder names, say)."""
    data = f"a 1\n{first}/b.jpg 2\n".encode()
    assert reference(data, " ") == ({1: 1, 2: 1}, [])
    same_as_paddleclas(tmp_path, data)


def test_large_labels_and_the_class_count(tmp_path):
    """Labels past any first guess of the class count, past the dense counting limit, and past --class-num."""
    same_as_paddleclas(tmp_path, b"a 3\nb 70000\nc 70000\n")
    same_as_paddleclas(tmp_path, f"a 3\nb {scanner.DENSE_LIMIT}\nc {scanner.DENSE_LIMIT + 1}\n".encode())
    same_as_paddleclas(tmp_path, b"a 3\nb 70000\nc 4999\n", class_num=5000)


def test_without_the_compiled_pass_every_block_takes_the_exact_rule(tmp_path, monkeypatch):
    """What an install without a C compiler gets: the same counts and problems."""
    lines = "".join(f"train/n0144/n0144_{i}.JPEG {i % 150}\n" for i in range(3000)) + "bad line\n"
    expected = scan_bytes(tmp_path, lines.encode())
    monkeypatch.setattr(scanner, "_plainscan", None)
    monkeypatch.setattr(scanner, "CHUNK_SIZE", 4096)
    result = scan_bytes(tmp_path, lines.encode())
    assert result.counts == expected.counts == reference(lines.encode(), " ")[0]
    assert [(p.line, p.message) for p in result.problems] == [(p.line, p.message) for p in expected.problems]
    assert [p.line for p in result.problems] == [3001]


def test_problem_records_and_limit(tmp_path):
    data = b"".join(b"bad%d\n" % i for i in range(30))
    result = scan_bytes(tmp_path, data, max_problems=5)
    assert result.problem_total == 30
    assert [p.line for p in result.problems] == [1, 2, 3, 4, 5]
    problem = result.problems[0]
    assert (problem.path, problem.column, problem.severity, problem.rule) == (
        str(tmp_path / "train_list.txt"), None, "error", "list-line")
    assert len(scan_bytes(tmp_path, data, max_problems=None).problems) == 30


def test_missing_file_is_one_clean_error(tmp_path):
    with pytest.raises(CsceError) as caught:
        scan_lists([tmp_path / "nope.txt"])
    assert format_text(caught.value.problems) == f"{tmp_path / 'nope.txt'}: error: no such file [input]\n"


def test_directory_is_one_clean_error(tmp_path):
    with pytest.raises(CsceError, match="is a directory"):
        scan_lists([tmp_path])


def test_unreadable_file_is_one_clean_error(tmp_path, monkeypatch):
    path = write(tmp_path, b"a.jpg 0\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(list_reader, "open", denied, raising=False)
    with pytest.raises(CsceError) as caught:
        scan_lists([path])
    assert format_text(caught.value.problems) == f"{path}: error: permission denied [input]\n"


def test_read_error_midway_is_one_clean_error(tmp_path, monkeypatch):
    path = write(tmp_path, b"a.jpg 0\n" * 100)

    class Failing(io.RawIOBase):
        def readinto(self, buffer):
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(list_reader, "open", lambda *a, **k: Failing(), raising=False)
    with pytest.raises(CsceError) as caught:
        scan_lists([path])
    assert format_text(caught.value.problems) == f"{path}: error: cannot read (Input/output error) [input]\n"


def test_pipe_input(tmp_path):
    """A named pipe (or `<(...)` in a shell) cannot be mapped: it is read block by block."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = b"\xef\xbb\xbfa.jpg 0\r\nb.jpg 1\n" + b"a.jpg 0\r\nb.jpg 1\n" * 100_000 + b"bad"

    def feed() -> None:
        with open(fifo, "wb") as handle:
            handle.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        result = scan_lists([fifo])
    finally:
        writer.join()
    assert result.counts == {0: 100_001, 1: 100_001}
    assert [p.line for p in result.problems] == [200_003]


@pytest.mark.parametrize("delimiter", ["", None, 3])
def test_unusable_delimiter(tmp_path, delimiter):
    with pytest.raises(CsceError, match="delimiter"):
        scan_bytes(tmp_path, b"a.jpg 0\n", delimiter=delimiter)


@pytest.mark.parametrize("class_num", [0, -1, True, 2.0])
def test_unusable_class_num(tmp_path, class_num):
    with pytest.raises(CsceError, match="class count"):
        scan_bytes(tmp_path, b"a.jpg 0\n", class_num=class_num)


def test_scanner_does_not_import_numpy_or_paddle_at_import():
    code = "import sys, ppcls_csce.scanner; print('numpy' in sys.modules, 'paddle' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# --- property tests: any file, any delimiter, any block size ------------------------------------

DELIMITERS = [" ", "\t", ",", "::", "，"]
PATH_CHARS = "abcXY019/_.-é猫"
ODD_CHARS = " \t,:+-_.exé猫\x0b\x0c\x1c\x85\xa0\u3000\ufeff0123456789"
INVALID_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80abc"]


@st.composite
def list_line(draw, delimiter: str) -> bytes:
    """One line (without its end): mostly plain, sometimes odd but valid, sometimes broken."""
    path = draw(st.text(PATH_CHARS, min_size=1, max_size=12))
    label = draw(st.integers(0, 2000) | st.integers(0, 10**20))
    kind = draw(st.sampled_from(["plain"] * 8 + ["variant", "broken", "random", "bytes"]))
    if kind == "plain":
        return f"{path}{delimiter}{label}".encode()
    if kind == "variant":
        text = draw(st.sampled_from([
            "{p}{d}+{l}", " {p}{d}{l}", "{p}{d}{l} ", "{p}{d}{l}{d}x", "{p}{d}00{l}", "{p}{d}1_0{l}",
            "\u3000{p}{d}{l}", "{p}{d} {l}", "{p}{d}{l}\x0c", "é{p}{d}{l}", "\ufeff{p}{d}{l}",
        ]))
        return text.format(p=path, d=delimiter, l=label).encode()
    if kind == "broken":
        text = draw(st.sampled_from([
            "", "   ", "{p}", "{p}{d}{d}{l}", "{d}{l}", "{p}{d}{l}.0", "{p}{d}1e2", "{p}{d}0x1",
            "{p}{d}-{l}", "{p}{d}-0", "{p}{d}{big}", "{p}{d}", "{l}", "{p} {l}", "{p}\t{l}",
        ]))
        return text.format(p=path, d=delimiter, l=label, big=INT64_MAX + 1 + label).encode()
    if kind == "random":
        return draw(st.text(ODD_CHARS + delimiter, max_size=12)).encode()
    good = f"{path}{delimiter}{label}".encode()
    at = draw(st.integers(0, len(good)))
    return good[:at] + draw(st.sampled_from(INVALID_BYTES)) + good[at:]


@st.composite
def list_file(draw) -> Tuple[bytes, str]:
    delimiter = draw(st.sampled_from(DELIMITERS))
    lines = draw(st.lists(list_line(delimiter), max_size=40))
    ends = draw(st.lists(st.sampled_from([b"\n"] * 6 + [b"\r\n"] * 3 + [b"\r"]), min_size=len(lines),
                         max_size=len(lines)))
    data = b"".join(line + end for line, end in zip(lines, ends))
    if lines and draw(st.booleans()):
        data = data[: -len(ends[-1])]  # no line end after the last line
    if draw(st.integers(0, 4)) == 0:
        data = b"\xef\xbb\xbf" + data
    return data, delimiter


# Edits that take a plain line just outside what the bulk path may accept (or just inside it).
# Two of them in one block can cancel out in block-wide counts (one line loses its delimiter,
# another gains one), which is exactly what the bulk path's per-line checks must still catch.
EDITS = [
    lambda p, d, l: f" {p}{d}{l}", lambda p, d, l: f"\t{p}{d}{l}", lambda p, d, l: f"\x0b{p}{d}{l}",
    lambda p, d, l: f"\x1c{p}{d}{l}", lambda p, d, l: f"\x85{p}{d}{l}", lambda p, d, l: f"\u3000{p}{d}{l}",
    lambda p, d, l: f"\u2028{p}{d}{l}", lambda p, d, l: f"\u205f{p}{d}{l}", lambda p, d, l: f"\u200b{p}{d}{l}",
    lambda p, d, l: f"猫{p}{d}{l}", lambda p, d, l: f"\u1680{d}{l}",
    lambda p, d, l: f"\x00{p}{d}{l}", lambda p, d, l: f"é{p}{d}{l}", lambda p, d, l: f" {d}{l}",
    lambda p, d, l: f"\t{d}{l}", lambda p, d, l: f"\u3000{d}{l}", lambda p, d, l: f"{d}{l}",
    lambda p, d, l: f"{d}{p}{d}{l}", lambda p, d, l: f"{p}{d}{d}{l}", lambda p, d, l: f"{p}{d}{p}{d}{l}",
    lambda p, d, l: f"{p}{l}", lambda p, d, l: f"{p}{d}+{l}", lambda p, d, l: f"{p}{d}-{l}",
    lambda p, d, l: f"{p}{d} {l}", lambda p, d, l: f"{p}{d}{l} ", lambda p, d, l: f"{p}{d}{l}\t",
    lambda p, d, l: f"{p}{d}{l}\r", lambda p, d, l: f"{p}\r{d}{l}", lambda p, d, l: f"{p}{d}{l}{d}",
    lambda p, d, l: f"{p}{d}{l}{d}x", lambda p, d, l: f"{p}{d}0{l}", lambda p, d, l: f"{p}{d}{l}_0",
    lambda p, d, l: f"{p}{d}", lambda p, d, l: "", lambda p, d, l: f"{p}{d}{l}{l}{l}{l}{l}{l}{l}",
    lambda p, d, l: f"{p}{d}{'9' * 19}", lambda p, d, l: f"{p}{d}{'0' * 25}{l}", lambda p, d, l: f"{p}{d}x{l}",
    lambda p, d, l: f"{p}é{d}{l}", lambda p, d, l: f"{p}{d}{l}é",
]


@st.composite
def near_plain_block(draw) -> Tuple[bytes, str]:
    """Plain lines with a few edits: the border of what the bulk path accepts."""
    delimiter = draw(st.sampled_from([" ", "\t", ",", "|", "\x0b"]))
    count = draw(st.integers(1, 30))
    paths = draw(st.lists(st.text("ab/_.09", min_size=1, max_size=6), min_size=count, max_size=count))
    labels = draw(st.lists(st.integers(0, 1200) | st.integers(0, 10**18), min_size=count, max_size=count))
    lines = [f"{path}{delimiter}{label}" for path, label in zip(paths, labels)]
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, count - 1))
        lines[at] = draw(st.sampled_from(EDITS))(paths[at], delimiter, labels[at])
    ends = draw(st.lists(st.sampled_from(["\n", "\n", "\r\n"]), min_size=count, max_size=count))
    data = "".join(line + end for line, end in zip(lines, ends)).encode()
    if draw(st.integers(0, 9)) == 0:  # a byte that is not UTF-8
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + b"\xff" + data[at:]
    return data, delimiter


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(list_file() | near_plain_block(), st.sampled_from([1, 3, 16, 64, 1 << 20]),
       st.sampled_from([None, 10, 1500]))
def test_scanner_matches_paddleclas_reading(file_and_delimiter, chunk_size, class_num):
    data, delimiter = file_and_delimiter
    expected_counts, expected_bad = reference(data, delimiter, class_num)
    saved = scanner.CHUNK_SIZE
    scanner.CHUNK_SIZE = chunk_size
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "list.txt"
            path.write_bytes(data)
            result = scan_lists([path], delimiter=delimiter, class_num=class_num, max_problems=None)
    finally:
        scanner.CHUNK_SIZE = saved
    assert result.counts == expected_counts
    assert result.samples == sum(expected_counts.values())
    assert [p.line for p in result.problems] == expected_bad
    assert result.problem_total == len(expected_bad)


# --- hostile input: truncation while reading, the same file twice, unbounded lines, secrets in lines -----------


TRUNCATE_WHILE_READING = """
import os, sys
from ppcls_csce import scanner
path = sys.argv[1]
original = scanner.blocks

def truncating(handle, chunk_size):
    for number, block in enumerate(original(handle, chunk_size)):
        if number == 1:
            os.truncate(path, 100)  # the list is rewritten while gen reads it
        yield block

scanner.blocks = truncating
scanner.CHUNK_SIZE = 1 << 16
result = scanner.scan_lists([path])
print(result.samples, result.problem_total)
"""


def test_a_list_truncated_while_it_is_read_never_kills_the_process(tmp_path):
    """A memory map would fault (SIGBUS, exit -7) at the first page past the new end; plain reads just end."""
    path = write(tmp_path, b"train/a.jpg 1\n" * 100_000)  # 1.4 MB: many blocks
    done = subprocess.run([sys.executable, "-c", TRUNCATE_WHILE_READING, str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr)
    samples, bad = map(int, done.stdout.split())
    assert 2 * (1 << 16) // 14 <= samples < 100_000  # the blocks read before the truncation, and no more
    assert bad <= 1  # at most the one line cut in the middle


def stats(*args: str):
    """`csce-config stats ARGS` in this process (so that monkeypatched limits hold): its exit code and output."""
    return CliRunner().invoke(cli, ["stats", *args])


def test_the_same_file_twice_is_an_error(tmp_path):
    path = write(tmp_path, b"a.jpg 0\n")
    link = tmp_path / "link.txt"
    link.symlink_to(path)
    os.link(path, tmp_path / "hard.txt")
    for second in (path, link, tmp_path / "hard.txt", tmp_path / "." / "train_list.txt"):
        done = stats("--train-list", str(path), "--train-list", str(second))
        assert (done.exit_code, done.stderr) == (
            1, f"{second}: error: the same file as {path}, given twice: every count would double [input]\n")
    other = write(tmp_path, b"a.jpg 0\n", name="other.txt")  # the same bytes, another file: counted twice
    assert scan_lists([path, other]).counts == {0: 2}


def test_a_line_without_end_is_bounded(tmp_path, monkeypatch):
    """/dev/zero (or any file without line ends) is refused after MAX_LINE bytes, in bounded memory."""
    monkeypatch.setattr(list_reader, "MAX_LINE", 1000)
    monkeypatch.setattr(scanner, "CHUNK_SIZE", 256)
    done = stats("--train-list", "/dev/zero")
    assert (done.exit_code, done.stderr) == (1, "/dev/zero:1: error: a line longer than 1,000 bytes: not a PaddleClas "
                                                "list file (`image_path label` per line) [input]\n")
    path = write(tmp_path, b"a.jpg 0\nb.jpg 1\n" + b"x" * 5000 + b" 2\n")
    with pytest.raises(CsceError) as caught:
        scan_lists([path])
    assert format_text(caught.value.problems).startswith(f"{path}:3: error: a line longer than 1,000 bytes")
    fine = write(tmp_path, b"a.jpg 0\n" + b"y" * 900 + b" 2\n")
    assert scan_lists([fine]).counts == {0: 1, 2: 1}


MEMORY_CAPPED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (500 << 20, 500 << 20))
from ppcls_csce.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="an address-space cap cannot run under AddressSanitizer (its shadow memory reserves "
                           "terabytes); the plain test run checks it")
@pytest.mark.parametrize("args, expected", [
    (["--train-list", "{list}"], (1, "{list}:2: error: label 9223372036854775807 is above the limit of 10,000,000 classes")),
    (["--train-list", "{small}", "--class-num", str(10**12)], (2, "'--class-num': 1000000000000 is not in the range 1<=x<=10000000")),
])
@pytest.mark.parametrize("command", ["gen", "stats"])
def test_huge_class_counts_are_errors_in_bounded_memory(tmp_path, command, args, expected):
    """A label or --class-num of 10**12 once built lists that long (3.9 GB at 10**8); now one error line."""
    listing = write(tmp_path, b"a.jpg 0\nb.jpg 9223372036854775807\n")
    small = write(tmp_path, b"a.jpg 0\nb.jpg 1\n", name="small.txt")
    argv = [arg.format(list=listing, small=small) for arg in args]
    done = subprocess.run([sys.executable, "-c", MEMORY_CAPPED, command, *argv], capture_output=True, text=True,
                          timeout=120)
    code, line = expected
    assert done.returncode == code, (done.stdout, done.stderr)
    assert line.format(list=listing) in done.stderr
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr


@pytest.mark.parametrize("line, shown", [
    (b"SECRET_TOKEN_abcdefghijklmnopqrstuvwxyz0123456789\n", "'SECRET_TOKEN_abcdefg'..."),
    (b"a\x1b[31mred\x07\x00" + b"z" * 50 + b"\n", "'a\\x1b[31mred\\x07\\x00zzzzzzzzz'..."),
    (("photo.jpg \u200b\x85" + "9" * 40 + "\n").encode(), "'\\u200b\\x85" + "9" * 18 + "'..."),
])
def test_messages_quote_only_a_short_escaped_excerpt(tmp_path, line, shown):
    result = scan_bytes(tmp_path, line)
    message = only_problem(result)[1]
    assert shown in message
    assert "0123456789" not in message and "zzzzzzzzzzzzzzzzzzzz" not in message
    assert all(char.isprintable() for char in message)
