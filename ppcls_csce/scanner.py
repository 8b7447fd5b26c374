"""Count the images per class in PaddleClas list files, reading them exactly as PaddleClas does.

PaddleClas's `ImageNetDataset._load_anno` opens the list as UTF-8 text (universal newlines: '\\n',
'\\r\\n' and a lone '\\r' each end a line), then for every line takes
`line.strip().split(delimiter)`: field 0 is the image path, field 1 the label through `np.int64`
(Python's `int()` limited to int64), further fields are ignored. This module applies exactly that
rule, reports every line PaddleClas would crash on or misread, and streams the file, so memory grows
with the number of classes, never with the number of lines.

Speed: a per-line Python loop manages a few million lines a second, far too slow for ImageNet-size
lists. So the file is memory-mapped and cut into blocks of whole lines; each block first goes
through a vectorised numpy pass that recognises "plain" lines (`path<d>digits` ending in '\\n' or
'\\r\\n', one single-byte delimiter, a first byte `strip()` cannot remove) and counts them in
bulk; for plain lines that provably gives what `strip().split()` + `int()` gives. A block holding
any other line (or a label >= class_num, or text that is not UTF-8) is re-read with the exact
per-line rule instead, so both paths agree on every input (the tests check this with Hypothesis).
Two worker threads share the blocks: numpy releases the GIL in its loops.
"""

import codecs
import mmap
import os
import stat
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from queue import SimpleQueue
from typing import TYPE_CHECKING, Deque, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from .errors import CsceError
from .report import ERROR, Problem

if TYPE_CHECKING:  # numpy is imported lazily: `import ppcls_csce.scanner` stays cheap
    import numpy as np

# Bytes per block: 1 MB keeps a block and its scratch arrays in the CPU caches (measured faster than
# 256 KB or 4 MB). A module constant so the tests can make it tiny and cross block edges often.
CHUNK_SIZE = 1 << 20
# Worker threads for the vectorised pass, and blocks in flight (bounds the memory to a few blocks).
WORKERS = 2
MAX_IN_FLIGHT = 4
# Problems shown by `raise_on_problems`.
SHOWN_PROBLEMS = 10

RULE = "list-line"
INT64_MAX = 2**63 - 1
_BOM = codecs.BOM_UTF8
# Longest all-digit label the fast path parses (10**18 - 1 < 2**63: no overflow possible).
_MAX_DIGITS = 18
# More than a page fault maps around itself (see _Source.release).
_FAULT_AROUND = 4 << 20
# Labels below this are counted with np.bincount; rarer huge labels with np.unique.
_BINCOUNT_LIMIT = 1 << 16

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
    if class_num is not None and (isinstance(class_num, bool) or not isinstance(class_num, int) or class_num < 1):
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
    dense: "Optional[np.ndarray]" = None  # counts by label (fast path)
    sparse: Optional[Dict[int, int]] = None  # label -> count (exact path, or huge labels)
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


# --- the vectorised pass for plain lines --------------------------------------------------------

def _fast_delimiter(delimiter: str) -> Optional[int]:
    """The delimiter's byte when the fast path can use it: one ASCII char, not a digit or line end."""
    if len(delimiter) == 1 and ord(delimiter) < 128 and delimiter not in "0123456789\r\n":
        return ord(delimiter)
    return None


_scratch = threading.local()


def _scratch_array(name: str, size: int, dtype: str) -> "np.ndarray":
    """A per-thread scratch array, reused from block to block.

    Fresh arrays of a few hundred KB each would be mmap-ed, page-faulted and unmapped by malloc
    for every block: that churn cost more system time than the scan itself.
    """
    import numpy as np

    array = getattr(_scratch, name, None)
    if array is None or len(array) < size:
        array = np.empty(max(size, CHUNK_SIZE if dtype == "bool" else 1 << 15), dtype=dtype)
        setattr(_scratch, name, array)
    return array[:size]


def _fast_block(src: "_Source", lo: int, hi: int, delim: int, class_num: Optional[int]) -> Optional[_Block]:
    """Count src[lo:hi] (whole lines, ending with b'\\n') in bulk, or None if any line is not plain.

    A line is plain when: it ends with '\\n' or '\\r\\n' and has no other '\\r'; its first byte is
    printable ASCII other than the delimiter (so `strip()` leaves the start alone and the path is not
    empty); it holds the delimiter exactly once; after it come 1.._MAX_DIGITS ASCII digits and the
    line end (so `strip()` leaves the end alone). For such a line `strip().split(d)` is
    [path, digits], and `int(digits)` is the digits' value: no sign, space or underscore, no
    overflow, never negative. The block must also be valid UTF-8 (ASCII bytes never occur inside a
    multi-byte character, so these byte positions are character positions too).
    """
    import numpy as np

    arr = src.array
    body = arr[lo:hi]
    if hi <= lo or body[-1] != 10:
        return None
    ascii_only = int(body.max()) < 128
    if not ascii_only:
        try:
            codecs.utf_8_decode(body, "strict", True)
        except UnicodeDecodeError:
            return None
    mask = _scratch_array("mask", hi - lo, "bool")
    np.equal(body, 10, out=mask)
    newlines = np.flatnonzero(mask)
    newlines += lo
    n = len(newlines)
    np.equal(body, delim, out=mask)
    if int(np.count_nonzero(mask)) != n:
        return None  # some line has no delimiter, or more than one
    # First bytes: arr[lo], then the byte after each line end but the last.
    first = arr[1:].take(newlines[:-1])
    if not 32 < int(arr[lo]) < 128 or arr[lo] == delim or (n > 1 and int(first.min()) <= 32):
        return None  # the line starts with a space or a control byte (strip() would eat it)
    if n > 1 and (not ascii_only and int(first.max()) >= 128 or delim > 32 and bool((first == delim).any())):
        return None  # ... or with non-ASCII (maybe Unicode whitespace), or with the delimiter
    pos = newlines  # from here on: the byte of each line that the walk below is at
    pos -= 1  # the last byte of each label
    if src.find(b"\r", lo, hi) >= 0:
        has_cr = arr.take(pos, mode="clip") == 13
        np.equal(body, 13, out=mask)
        if int(np.count_nonzero(mask)) != int(np.count_nonzero(has_cr)):
            return None  # a lone '\r' (a line end for PaddleClas) or a '\r' inside a line
        pos -= has_cr
    # Walk back from each label end over the digits: the first non-digit must be the delimiter.
    # (mode="clip": only a line at the very start of the data that is empty or all digits can
    # step below 0; clipped, it reads its own first byte again: not '\r', and a digit until
    # _MAX_DIGITS gives up. So clipping never makes a bad line look good.)
    digit = arr.take(pos, mode="clip", out=_scratch_array("digit", n, "uint8"))
    digit -= 48  # bytes below '0' wrap round to >= 208
    if int(digit.max()) >= 10:
        return None  # an empty or non-numeric label
    values = _scratch_array("values", n, "int64")
    np.copyto(values, digit)
    term = _scratch_array("term", n, "int64")
    delim_digit = (delim - 48) % 256  # the delimiter byte as `digit` holds it
    rows: "Optional[np.ndarray]" = None  # lines still inside their digits (None: all of them)
    for step in range(1, _MAX_DIGITS + 1):
        pos -= 1
        digit = arr.take(pos, mode="clip", out=digit[:len(pos)])
        digit -= 48
        if int(digit.max()) >= 10:  # some lines reach the start of their label here
            if int(digit.min()) >= 10:  # ... all of them
                if bool((digit != delim_digit).any()):
                    return None  # a sign, space, underscore, letter... right before the digits
                break
            more = digit < 10
            if bool((digit[~more] != delim_digit).any()):
                return None
            keep = np.flatnonzero(more)
            rows = keep if rows is None else rows[keep]
            pos, digit = pos[keep], digit[keep]
        part = np.multiply(digit, np.int64(10**step), out=term[:len(digit)])
        if rows is None:
            values += part
        else:
            values[rows] += part
    else:
        return None  # more digits than an int64 surely holds: let the exact rule judge
    top = int(values.max())
    if class_num is not None and top >= class_num:
        return None  # the exact rule names the lines
    block = _Block(lines=n, samples=n)
    if top < _BINCOUNT_LIMIT:
        block.dense = np.bincount(values)
    else:
        labels, counts = np.unique(values, return_counts=True)
        block.sparse = dict(zip(labels.tolist(), counts.tolist()))
    return block


def _block(src: "_Source", lo: int, hi: int, delimiter: str, delim: Optional[int],
           class_num: Optional[int], keep: Optional[int]) -> _Block:
    """One block of whole lines: the fast path when it applies, else the exact rule."""
    if delim is not None:
        result = _fast_block(src, lo, hi, delim, class_num)
        if result is not None:
            return result
    return _exact_block(src.array[lo:hi].tobytes(), delimiter, class_num, keep)


# --- reading files in blocks of whole lines -------------------------------------------------------

class _Source:
    """Bytes of one file as a numpy array (mmap for regular files: no copy), plus a fast `find`."""

    def __init__(self, data: Union[bytes, bytearray, "mmap.mmap"]) -> None:
        import numpy as np

        self.data = data
        self.mapped = isinstance(data, mmap.mmap)
        self.array = np.frombuffer(data, dtype=np.uint8) if len(data) else np.zeros(0, dtype=np.uint8)

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
        self.dense: "Optional[np.ndarray]" = None
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
                task = workers.submit(_block, src, lo, hi, self.delimiter, self.delim, self.class_num,
                                      self.max_problems)
                pending.append((task, src, lo, hi))
                while len(pending) >= MAX_IN_FLIGHT:
                    offset = self._add(path, offset, *pending.popleft())
            while pending:
                offset = self._add(path, offset, *pending.popleft())

    def _add(self, path: Path, offset: int, task: "_Task", src: _Source, lo: int, hi: int) -> int:
        block = task.result()
        src.release(lo, hi)
        self.samples += block.samples
        if block.dense is not None:
            if self.dense is None or len(self.dense) < len(block.dense):
                import numpy as np

                grown = np.zeros(len(block.dense), dtype=np.int64)
                if self.dense is not None:
                    grown[:len(self.dense)] = self.dense
                self.dense = grown
            self.dense[:len(block.dense)] += block.dense
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
        if self.dense is not None:
            for label in self.dense.nonzero()[0].tolist():
                counts[label] = counts.get(label, 0) + int(self.dense[label])
        return ListCounts(dict(sorted(counts.items())), self.samples, self.problems, self.problem_total)
