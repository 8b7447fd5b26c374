"""Count the images per class in PaddleClas list files, reading them exactly as PaddleClas does.

PaddleClas's `ImageNetDataset._load_anno` opens the list as UTF-8 text (universal newlines: '\\n',
'\\r\\n' and a lone '\\r' each end a line), then for every line takes
`line.strip().split(delimiter)`: field 0 is the image path, field 1 the label through `np.int64`
(Python's `int()` limited to int64), further fields are ignored. This module applies exactly that
rule, reports every line PaddleClas would crash on or misread, and streams the file, so memory grows
with the number of classes, never with the number of lines.

Speed: a per-line Python loop manages a few million lines a second, far too slow for ImageNet-size
lists. So `list_reader` reads the file (plain reads, never a memory map: see there) in blocks of
whole lines; each block first goes through a small compiled pass (`_plainscan.c`) that recognises
"plain" lines (`path<d>digits` ending in '\n' or '\r\n', one single-byte delimiter, a first
character `strip()` keeps) and counts them; for plain lines that provably gives what
`strip().split()` + `int()` gives. A block holding any other line (or a label >= class_num, or
text that is not UTF-8) is re-read with the exact per-line rule instead, so both paths agree on
every input (the tests check this with Hypothesis). Where the extension could not be built (no C
compiler at install time), every block takes the exact rule: the same counts, more slowly
(bench/bench_scan.py times both). One thread: on the 10M-line bench list (9 interleaved rounds, one
process) the old memory map with two worker threads took 0.215 s (median), with one worker 0.216 s, these
plain reads in one thread 0.215 s, so the thread pool did not pay and is gone. A label at or above
params.MAX_CLASSES is a bad line, so nothing sized by the largest label can grow past that limit.
"""

from array import array
from dataclasses import dataclass, field
from itertools import compress
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from .errors import CsceError, ProblemsError
from .list_reader import LineTooLong, blocks, identity, open_list
from .params import MAX_CLASSES, class_count_problem
from .report import ERROR, Problem

try:
    from . import _plainscan  # type: ignore[attr-defined]
except ImportError:  # built without a C compiler: the exact rule reads every block
    _plainscan = None  # type: ignore[assignment]

COMPILED = _plainscan is not None

# Bytes per block: 1 MB scans the bench list a third faster than 256 KB and about as fast as 4 MB.
# A module constant so the tests can make it tiny and cross block edges often.
CHUNK_SIZE = 1 << 20
# Bad lines shown of a list before `... and N more` (weights.table_from_lists).
SHOWN_PROBLEMS = 10

RULE = "list-line"
INT64_MAX = 2**63 - 1
# Excerpts of a list's text in messages: short, escaped (a list may be anything, even /proc/self/environ).
EXCERPT = 20
# Labels below this are tallied by the fast path (8 bytes each); larger ones (more than a million
# classes) by the exact rule.
DENSE_LIMIT = 1 << 20

PathLike = Union[str, Path]


@dataclass
class ListCounts:
    """Images per label over one or more list files, and the lines PaddleClas would trip on."""

    counts: Dict[int, int] = field(default_factory=dict)
    samples: int = 0
    problems: List[Problem] = field(default_factory=list)
    problem_total: int = 0

    def num_class_list(self, class_num: int) -> List[int]:
        """Counts for classes 0..class_num-1 in order, 0 where a class has no line."""
        return [self.counts.get(label, 0) for label in range(class_num)]


def scan_lists(paths: Sequence[PathLike], delimiter: str = " ", class_num: Optional[int] = None,
               max_problems: Optional[int] = 20) -> ListCounts:
    """Count labels in each list file (counts add up across files); collect bad lines, never raise on them.

    Raises CsceError only when a file cannot be read at all, is given twice, or for an unusable delimiter or
    class_num.
    """
    if not isinstance(delimiter, str) or not delimiter:
        raise CsceError(f"the delimiter must be a non-empty string, got {delimiter!r}")
    why = None if class_num is None else class_count_problem(class_num)
    if why is not None:
        raise CsceError(f"the class count {why}")
    if max_problems is not None and max_problems < 0:
        raise ValueError("max_problems must be >= 0 or None")
    scan = _Scan(delimiter, class_num, max_problems)
    for path in paths:
        scan.file(Path(path))
    return scan.result()


# --- the exact rule, one line at a time -------------------------------------------------------

def _short(text: str, limit: int = EXCERPT) -> str:
    """At most `limit` characters of a list's text, quoted and escaped (control and non-printable characters
    as \\x.. escapes): never a whole line, which could be anything (a token from /proc/self/environ)."""
    shown = text if len(text) <= limit else text[:limit]
    return repr(shown) + ("..." if len(text) > limit else "")


def _number(value: int) -> str:
    """An integer as digits, or its first digits when it is long (int() reads up to 4300 of them)."""
    text = str(value)
    return text if len(text) <= EXCERPT else f"{text[:EXCERPT]}... ({len(text)} digits)"


def parse_line(line: str, delimiter: str, class_num: Optional[int]) -> Union[int, str]:
    """The label PaddleClas reads from one decoded line (no line end), or why the line is bad."""
    fields = line.strip().split(delimiter)
    if len(fields) == 1:
        if not fields[0]:
            return "blank line"
        hint = ""
        if delimiter != "\t" and "\t" in fields[0]:
            hint = " (the line has a tab: is the delimiter '\\t'?)"
        elif delimiter != " " and " " in fields[0]:
            hint = " (the line has a space: is the delimiter ' '?)"
        return f"missing label: no delimiter {delimiter!r} in {_short(fields[0])}{hint}"
    path, label_text = fields[0], fields[1]
    if not label_text:
        return f"empty label field: doubled delimiter {delimiter!r}"
    if not path:
        return f"empty image path: the line starts with the delimiter {delimiter!r}"
    try:
        label = int(label_text)
    except ValueError:
        hint = ""
        if len(fields) > 2 and delimiter == " ":
            hint = " (a space in the image path? use a tab delimiter)"
        return f"label {_short(label_text)} is not an integer{hint}"
    if label < 0:
        return f"negative label {_number(label)}"
    if label > INT64_MAX:
        return f"label {_number(label)} does not fit in int64"
    if label >= MAX_CLASSES:
        return f"label {label} is above the limit of {MAX_CLASSES:,} classes (no classifier head is that wide)"
    if class_num is not None and label >= class_num:
        return f"label {label} is out of range for {class_num} classes"
    return label


@dataclass
class _Block:
    """What one block of whole lines gave; line numbers in `problems` count from 1 inside the block."""

    lines: int
    sparse: Optional[Dict[int, int]] = None  # label -> count (exact path; the fast path adds into the tally)
    samples: int = 0
    problems: List[Tuple[int, str]] = field(default_factory=list)
    problem_total: int = 0


def _exact_block(data: bytes, delimiter: str, class_num: Optional[int], keep: Optional[int]) -> _Block:
    """The per-line rule on decoded text: slow but exactly PaddleClas's reading."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raw_lines = data.splitlines()  # bytes.splitlines breaks only at CR, LF and CRLF, as text mode does
        lines: List[Union[str, UnicodeDecodeError]] = []
        for raw in raw_lines:
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                lines.append(error)
    else:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # type: ignore[assignment]
        if lines[-1] == "":
            lines.pop()  # the text ends with a line end (or is empty): no line after it
    block = _Block(lines=len(lines), sparse={})
    counts = block.sparse
    assert counts is not None
    for number, line in enumerate(lines, 1):
        if isinstance(line, UnicodeDecodeError):
            bad = line.object[line.start]
            outcome: Union[int, str] = f"not UTF-8 text (byte 0x{bad:02x} at byte {line.start + 1} of the line)"
        else:
            outcome = parse_line(line, delimiter, class_num)
        if isinstance(outcome, int):
            counts[outcome] = counts.get(outcome, 0) + 1
            block.samples += 1
        else:
            block.problem_total += 1
            if keep is None or len(block.problems) < keep:
                block.problems.append((number, outcome))
    return block


# --- the compiled pass for plain lines ---------------------------------------------------------

def _fast_delimiter(delimiter: str) -> Optional[int]:
    """The delimiter's byte when the fast path can use it: one ASCII char, not a digit or line end."""
    if len(delimiter) == 1 and ord(delimiter) < 128 and delimiter not in "0123456789\r\n":
        return ord(delimiter)
    return None


def _tally_limit(class_num: Optional[int]) -> int:
    """How far the label tally may grow: labels past it go to the exact rule."""
    return min(class_num, DENSE_LIMIT) if class_num is not None else DENSE_LIMIT


def _tally_size(class_num: Optional[int]) -> int:
    """A first size for the label tally: the class count if known, else small (it grows)."""
    return _tally_limit(class_num) if class_num is not None else 1 << 12


def _fast_block(buf: bytearray, lo: int, hi: int, delim: int, class_num: Optional[int],
                tally: "array[int]") -> Optional[_Block]:
    """Add buf[lo:hi] (whole lines) into `tally` (counts by label) if every line is plain, else None.

    `_plainscan.count_plain` says which lines are plain (see its C file). A label past the tally grows it (up to DENSE_LIMIT, or
    the class count); anything else it declines, or a label beyond that, goes to the exact rule.
    """
    if _plainscan is None:
        return None
    limit = _tally_limit(class_num)
    while True:
        lines, needed = _plainscan.count_plain(buf, lo, hi, delim, tally)
        if lines >= 0:
            return _Block(lines=lines, samples=lines)
        if not 0 < needed <= limit:
            return None
        size = min(max(needed, 2 * len(tally)), limit)
        tally.frombytes(bytes(8 * (size - len(tally))))  # zeros; then the block again


def _block(buf: bytearray, lo: int, hi: int, delimiter: str, delim: Optional[int],
           class_num: Optional[int], keep: Optional[int], tally: "array[int]") -> _Block:
    """One block of whole lines: the fast path when it applies, else the exact rule."""
    if delim is not None:
        result = _fast_block(buf, lo, hi, delim, class_num, tally)
        if result is not None:
            return result
    return _exact_block(bytes(buf[lo:hi]), delimiter, class_num, keep)


# --- adding blocks up, in file order ------------------------------------------------------------

class _Scan:
    """Adds blocks up in file order (line numbers are the running total of each block's lines)."""

    def __init__(self, delimiter: str, class_num: Optional[int], max_problems: Optional[int]) -> None:
        self.delimiter = delimiter
        self.delim = _fast_delimiter(delimiter)
        self.class_num = class_num
        self.max_problems = max_problems
        self.tally: "array[int]" = array("q", bytes(8 * _tally_size(class_num)))  # the fast path's counts by label
        self.sparse: Dict[int, int] = {}
        self.samples = 0
        self.problems: List[Problem] = []
        self.problem_total = 0
        self.seen: Dict[Tuple[int, int], Path] = {}

    def file(self, path: Path) -> None:
        with open_list(path) as handle:
            key = identity(handle)
            same = path if key is None else self.seen.setdefault(key, path)
            if same is not path:
                raise CsceError(f"the same file as {same}, given twice: every count would double", path)
            lines = 0
            try:
                for buf, lo, hi in blocks(handle, CHUNK_SIZE):
                    lines = self._add(path, lines, _block(buf, lo, hi, self.delimiter, self.delim, self.class_num,
                                                          self.max_problems, self.tally))
            except LineTooLong as error:
                raise CsceError(error.message, path, lines + 1) from None
            except OSError as error:
                raise CsceError(f"cannot read ({error.strerror or error})", path) from None

    def _add(self, path: Path, offset: int, block: _Block) -> int:
        self.samples += block.samples
        if block.sparse:
            for label, count in block.sparse.items():
                self.sparse[label] = self.sparse.get(label, 0) + count
        self.problem_total += block.problem_total
        for line, message in block.problems:
            if self.max_problems is not None and len(self.problems) >= self.max_problems:
                break
            self.problems.append(Problem(str(path), offset + line, None, ERROR, RULE, message))
        return offset + block.lines

    def result(self) -> ListCounts:
        counts = dict(self.sparse)
        tally = self.tally
        for label in compress(range(len(tally)), tally):  # the labels that occur, at C speed
            counts[label] = counts.get(label, 0) + tally[label]
        return ListCounts(dict(sorted(counts.items())), self.samples, self.problems, self.problem_total)
