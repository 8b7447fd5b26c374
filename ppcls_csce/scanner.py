"""Count the images per class in PaddleClas list files, reading them exactly as PaddleClas does.

PaddleClas's `ImageNetDataset._load_anno` opens the list as UTF-8 text (universal newlines: '\\n',
'\\r\\n' and a lone '\\r' each end a line), then for every line takes
`line.strip().split(delimiter)`: field 0 is the image path, field 1 the label through `np.int64`
(Python's `int()` limited to int64), further fields are ignored. This module applies exactly that
rule, reports every line PaddleClas would crash on or misread, and streams the file, so memory grows
with the number of classes, never with the number of lines.

Speed: a per-line Python loop manages a few million lines a second, far too slow for ImageNet-size
lists. So the file is memory-mapped and cut into blocks of whole lines; each block first goes
through a small compiled pass (`_plainscan.c`) that recognises "plain" lines (`path<d>digits`
ending in '\\n' or '\\r\\n', one single-byte delimiter, a first character `strip()` keeps) and
counts them; for plain lines that provably gives what `strip().split()` + `int()` gives. A block
holding any other line (or a label >= class_num, or text that is not UTF-8) is re-read with the
exact per-line rule instead, so both paths agree on every input (the tests check this with
Hypothesis). Two worker threads share the blocks: the compiled pass runs without the GIL. Where
the extension could not be built (no C compiler at install time), every block takes the exact
rule: the same counts, more slowly (bench/bench_scan.py times both).
"""

import mmap
import os
import stat
import threading
from array import array
from collections import deque
from dataclasses import dataclass, field
from itertools import compress
from pathlib import Path
from queue import SimpleQueue
from typing import Deque, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from .errors import CsceError
from .params import is_class_count
from .report import ERROR, Problem

try:
    from . import _plainscan
except ImportError:  # built without a C compiler: the exact rule reads every block
    _plainscan = None  # type: ignore[assignment]

COMPILED = _plainscan is not None

# Bytes per block: 1 MB scans the bench list a third faster than 256 KB and about as fast as 4 MB,
# which would keep four times as much of the file mapped (peak RSS). A module constant so the tests
# can make it tiny and cross block edges often.
CHUNK_SIZE = 1 << 20
# Worker threads for the compiled pass, and blocks in flight (bounds the memory to a few blocks).
WORKERS = 2
MAX_IN_FLIGHT = 4
# Problems shown by `raise_on_problems`.
SHOWN_PROBLEMS = 10

RULE = "list-line"
INT64_MAX = 2**63 - 1
_BOM = b"\xef\xbb\xbf"
# More than a page fault maps around itself (see _Source.release).
_FAULT_AROUND = 4 << 20
# Labels below this are tallied by the fast path (8 bytes each, per worker thread); larger ones
# (more than a million classes) by the exact rule.
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

    def raise_on_problems(self) -> None:
        """Fail with the first few bad lines, one per line, and how many there are in all."""
        if not self.problem_total:
            return
        lines = [f"{problem.location()}: {problem.message}" for problem in self.problems[:SHOWN_PROBLEMS]]
        noun = "bad line" if self.problem_total == 1 else "bad lines"
        lines.append(f"{self.problem_total} {noun} in total")
        raise CsceError("\n".join(lines))


def scan_lists(paths: Sequence[PathLike], delimiter: str = " ", class_num: Optional[int] = None,
               max_problems: Optional[int] = 20) -> ListCounts:
    """Count labels in each list file (counts add up across files); collect bad lines, never raise on them.

    Raises CsceError only when a file cannot be read at all, or for an unusable delimiter/class_num.
    """
    if not isinstance(delimiter, str) or not delimiter:
        raise CsceError(f"the delimiter must be a non-empty string, got {delimiter!r}")
    if class_num is not None and not is_class_count(class_num):
        raise CsceError(f"the class count must be an integer >= 1, got {class_num!r}")
    if max_problems is not None and max_problems < 0:
        raise ValueError("max_problems must be >= 0 or None")
    scan = _Scan(delimiter, class_num, max_problems)
    for path in paths:
        scan.file(Path(path))
    return scan.result()


# --- the exact rule, one line at a time -------------------------------------------------------

def _short(text: str, limit: int = 40) -> str:
    shown = text if len(text) <= limit else text[:limit] + "..."
    return repr(shown)


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
        return f"negative label {label}"
    if label > INT64_MAX:
        return f"label {label_text.strip()} does not fit in int64"
    if class_num is not None and label >= class_num:
        return f"label {label} is out of range for {class_num} classes"
    return label


@dataclass
class _Block:
    """What one block of whole lines gave; line numbers in `problems` count from 1 inside the block."""

    lines: int
    sparse: Optional[Dict[int, int]] = None  # label -> count (exact path; the fast path tallies by thread)
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
    """How far a thread's label tally may grow: labels past it go to the exact rule."""
    return min(class_num, DENSE_LIMIT) if class_num is not None else DENSE_LIMIT


def _tally_size(class_num: Optional[int]) -> int:
    """A first size for a thread's label tally: the class count if known, else small (it grows)."""
    return _tally_limit(class_num) if class_num is not None else 1 << 12


def _fast_block(src: "_Source", lo: int, hi: int, delim: int, class_num: Optional[int],
                tally: "array[int]") -> Optional[_Block]:
    """Add src[lo:hi] (whole lines) into `tally` (counts by label) if every line is plain, else None.

    `_plainscan.count_plain` says which lines are plain (see its C file); it runs without the GIL,
    so the worker threads scan in parallel. A label past the tally grows it (up to DENSE_LIMIT, or
    the class count); anything else it declines, or a label beyond that, goes to the exact rule.
    """
    if _plainscan is None:
        return None
    limit = _tally_limit(class_num)
    while True:
        lines, needed = _plainscan.count_plain(src.data, lo, hi, delim, tally)
        if lines >= 0:
            return _Block(lines=lines, samples=lines)
        if not 0 < needed <= limit:
            return None
        size = min(max(needed, 2 * len(tally)), limit)
        tally.frombytes(bytes(8 * (size - len(tally))))  # zeros; then the block again


def _block(src: "_Source", lo: int, hi: int, delimiter: str, delim: Optional[int],
           class_num: Optional[int], keep: Optional[int], tally: "array[int]") -> _Block:
    """One block of whole lines: the fast path when it applies, else the exact rule."""
    if delim is not None:
        result = _fast_block(src, lo, hi, delim, class_num, tally)
        if result is not None:
            return result
    return _exact_block(bytes(src.data[lo:hi]), delimiter, class_num, keep)


# --- reading files in blocks of whole lines -------------------------------------------------------

class _Source:
    """Bytes of one file (mmap for regular files: no copy), with `find` and page release."""

    def __init__(self, data: Union[bytes, bytearray, "mmap.mmap"]) -> None:
        self.data = data
        self.mapped = isinstance(data, mmap.mmap)

    def find(self, sub: bytes, start: int, end: int) -> int:
        return self.data.find(sub, start, end)

    def rfind(self, sub: bytes, start: int, end: int) -> int:
        return self.data.rfind(sub, start, end)

    def release(self, lo: int, hi: int) -> None:
        """Drop the pages of a finished block from memory (they stay in the page cache).

        The margin before `lo`: a page fault maps cached pages around it too (fault-around, and
        whole large folios of up to 2 MB on recent kernels), so reading a block maps the end of
        the block before it again. Without the margin the peak RSS grew with the file's size.
        """
        if self.mapped and hasattr(mmap, "MADV_DONTNEED"):
            start = max(0, lo - _FAULT_AROUND)
            start -= start % mmap.PAGESIZE
            if hi > start:
                self.data.madvise(mmap.MADV_DONTNEED, start, hi - start)


def _cut(src: _Source, pos: int, size: int, chunk_size: int, at_eof: bool) -> int:
    """Where the block starting at `pos` ends: after a line end, never inside a '\\r\\n' pair.

    Returns -1 when [pos, size) holds no safe cut yet (read more, unless at EOF).
    """
    limit = min(pos + chunk_size, size)
    if limit == size and at_eof:
        cut = src.rfind(b"\n", pos, size)
        if cut < 0 or cut == size - 1:
            return size  # the rest: whole lines, or one last line without a line end
        return cut + 1  # whole lines now, the unfinished last line as its own block
    cut = src.rfind(b"\n", pos, limit)
    if cut < 0:
        cut = src.rfind(b"\r", pos, limit - 1)  # no '\n' in the window: a '\r' not at its end
    if cut < 0:
        cut = src.find(b"\n", limit, size)  # a line longer than a block
    if cut < 0:
        return size if at_eof else -1
    return cut + 1


class _Reader:
    """One open list file as blocks of whole lines; owns the memory map until `close`."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.whole = _map_file(handle)

    def blocks(self, chunk_size: int) -> Iterator[Tuple[_Source, int, int]]:
        """Yield (source, lo, hi): source bytes [lo, hi) are whole lines, the file's BOM left out."""
        if self.whole is not None:
            src = _Source(self.whole)
            pos = len(_BOM) if self.whole[:len(_BOM)] == _BOM else 0
            total = len(self.whole)
            while pos < total:
                hi = _cut(src, pos, total, chunk_size, True)
                yield src, pos, hi
                pos = hi
            return
        yield from self._stream_blocks(chunk_size)

    def _stream_blocks(self, chunk_size: int) -> Iterator[Tuple[_Source, int, int]]:
        """Pipes and the like: read into fresh buffers, carrying the unfinished line over."""
        carry = b""
        first = True
        while True:
            buf = bytearray(len(carry) + max(chunk_size, len(_BOM)))  # the BOM is seen whole
            buf[:len(carry)] = carry
            filled = len(carry)
            with memoryview(buf) as view:
                while filled < len(buf):
                    got = self.handle.readinto(view[filled:])
                    if not got:
                        break
                    filled += got
            at_eof = filled < len(buf)
            del buf[filled:]
            if first:
                first = False
                if buf.startswith(_BOM):
                    del buf[:len(_BOM)]
            src = _Source(buf)
            pos = 0
            while pos < len(buf):
                hi = _cut(src, pos, len(buf), chunk_size, at_eof)
                if hi < 0:
                    break
                yield src, pos, hi
                pos = hi
            if at_eof:
                return
            carry = bytes(buf[pos:])

    def close(self) -> None:
        """Unmap (every block is finished by now; a still-living view just delays it to the GC)."""
        if self.whole is not None:
            try:
                self.whole.close()
            except BufferError:
                pass
            self.whole = None


def _map_file(handle) -> Optional[mmap.mmap]:
    """A read-only map of a non-empty regular file; None for pipes, empty files, or no mmap support."""
    try:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
            return None
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None


def _open(path: Path):
    """Open for binary reading, turning OS errors into one clean line."""
    try:
        if path.is_dir():
            raise CsceError(f"{path}: is a directory, not a list file")
        return open(path, "rb", buffering=0)
    except FileNotFoundError:
        raise CsceError(f"{path}: no such file") from None
    except PermissionError:
        raise CsceError(f"{path}: permission denied") from None
    except OSError as error:
        raise CsceError(f"{path}: cannot read ({error.strerror or error})") from None


class _Task:
    """One block's result, filled in by a worker thread."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Optional[_Block] = None
        self.error: Optional[BaseException] = None

    def result(self) -> _Block:
        self.done.wait()
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value


class _Workers:
    """A minimal thread pool (concurrent.futures would import logging: startup time counts here)."""

    def __init__(self, count: int) -> None:
        self.queue: "SimpleQueue[Optional[tuple]]" = SimpleQueue()
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(max(1, count))]

    def __enter__(self) -> "_Workers":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()

    def submit(self, function, *args) -> _Task:
        task = _Task()
        self.queue.put((task, function, args))
        return task

    def _work(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            task, function, args = item
            try:
                task.value = function(*args)
            except BaseException as error:  # handed to the caller by task.result()
                task.error = error
            finally:
                task.done.set()


class _Scan:
    """Adds blocks up in file order (line numbers are the running total of each block's lines)."""

    def __init__(self, delimiter: str, class_num: Optional[int], max_problems: Optional[int]) -> None:
        self.delimiter = delimiter
        self.delim = _fast_delimiter(delimiter)
        self.class_num = class_num
        self.max_problems = max_problems
        self.tallies: Dict[int, "array[int]"] = {}  # the fast path's counts by label, one per thread
        self.sparse: Dict[int, int] = {}
        self.samples = 0
        self.problems: List[Problem] = []
        self.problem_total = 0

    def file(self, path: Path) -> None:
        with _open(path) as handle:
            reader = _Reader(handle)
            try:
                self._blocks(path, reader)
            except OSError as error:
                raise CsceError(f"{path}: cannot read ({error.strerror or error})") from None
            finally:
                reader.close()

    def _blocks(self, path: Path, reader: _Reader) -> None:
        """Blocks go to the worker threads; results are added in file order, for the line numbers."""
        offset = 0
        pending: Deque[Tuple[_Task, _Source, int, int]] = deque()
        with _Workers(WORKERS) as workers:
            for src, lo, hi in reader.blocks(CHUNK_SIZE):
                task = workers.submit(self._scan_block, src, lo, hi)
                pending.append((task, src, lo, hi))
                while len(pending) >= MAX_IN_FLIGHT:
                    offset = self._add(path, offset, *pending.popleft())
            while pending:
                offset = self._add(path, offset, *pending.popleft())

    def _scan_block(self, src: _Source, lo: int, hi: int) -> _Block:
        """Runs in a worker thread, with that thread's own tally: no locks around the counting."""
        tally = self.tallies.get(threading.get_ident())
        if tally is None:
            tally = self.tallies[threading.get_ident()] = array("q", bytes(8 * _tally_size(self.class_num)))
        return _block(src, lo, hi, self.delimiter, self.delim, self.class_num, self.max_problems, tally)

    def _add(self, path: Path, offset: int, task: "_Task", src: _Source, lo: int, hi: int) -> int:
        block = task.result()
        src.release(lo, hi)
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
        for tally in self.tallies.values():
            for label in compress(range(len(tally)), tally):  # the labels that occur, at C speed
                counts[label] = counts.get(label, 0) + tally[label]
        return ListCounts(dict(sorted(counts.items())), self.samples, self.problems, self.problem_total)
