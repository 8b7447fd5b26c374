"""A list file as blocks of whole lines, read with plain reads into buffers (the scanner's input).

Why plain reads and not a memory map: a mapped file that is truncated while it is read (the list being
rewritten during `gen`) kills the process with SIGBUS at the first access past the new end, with no message.
`readinto` cannot fault: a truncation only makes the file end sooner. One bytearray is read into again and
again (`blocks`), and the compiled pass scans each block of it in place (buffer + lo/hi), so nothing is copied
twice; the unfinished last line of a read is moved to the buffer's start and completed by the next read. A line longer than MAX_LINE bytes is refused (a list line is an image path and a
label), so no input, not even /dev/zero, makes a buffer grow without limit.
"""

import os
from pathlib import Path
from io import FileIO
from typing import Iterator, Optional, Tuple

from .errors import CsceError

BOM = b"\xef\xbb\xbf"
MAX_LINE = 1 << 20  # bytes; real list lines are under 300


def open_list(path: Path) -> FileIO:
    """Open for binary reading, turning OS errors into one clean line."""
    try:
        if path.is_dir():
            raise CsceError("is a directory, not a list file", path)
        return open(path, "rb", buffering=0)
    except FileNotFoundError:
        raise CsceError("no such file", path) from None
    except PermissionError:
        raise CsceError("permission denied", path) from None
    except OSError as error:
        raise CsceError(f"cannot read ({error.strerror or error})", path) from None


def identity(handle: FileIO) -> Optional[Tuple[int, int]]:
    """(device, inode) of an open file: the same file under two names (or through a link) has one identity."""
    try:
        info = os.fstat(handle.fileno())
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def cut(buf: bytearray, pos: int, size: int, chunk_size: int, at_eof: bool) -> int:
    """Where the block starting at `pos` ends: after a line end, never inside a '\\r\\n' pair.

    Returns -1 when [pos, size) holds no safe cut yet (read more, unless at EOF).
    """
    limit = min(pos + chunk_size, size)
    if limit == size and at_eof:
        end = buf.rfind(b"\n", pos, size)
        if end < 0 or end == size - 1:
            return size  # the rest: whole lines, or one last line without a line end
        return end + 1  # whole lines now, the unfinished last line as its own block
    end = buf.rfind(b"\n", pos, limit)
    if end < 0:
        end = buf.rfind(b"\r", pos, limit - 1)  # no '\n' in the window: a '\r' not at its end
    if end < 0:
        end = buf.find(b"\n", limit, size)  # a line longer than a block
    if end < 0:
        return size if at_eof else -1
    return end + 1


class LineTooLong(CsceError):
    """A line past MAX_LINE bytes; the scanner, which counts the lines, says which."""


def blocks(handle: FileIO, chunk_size: int) -> Iterator[Tuple[bytearray, int, int]]:
    """Yield (buffer, lo, hi): buffer[lo:hi] is whole lines, the file's BOM left out. Raises LineTooLong.

    One buffer serves the whole file (read into again once the caller has scanned a block, so it stays in the
    CPU cache: a fresh buffer per block measured twice as slow); the caller must not keep it between blocks.
    """
    buf = bytearray(max(chunk_size, len(BOM)))
    kept = 0  # buf[:kept]: the unfinished last line of the previous read
    first = True
    while True:
        if len(buf) - kept < chunk_size:  # a line longer than a block: make room
            if kept > MAX_LINE:
                raise LineTooLong(f"a line longer than {MAX_LINE:,} bytes: not a PaddleClas list file "
                                  "(`image_path label` per line)")
            buf.extend(bytes(chunk_size))
        filled = kept
        with memoryview(buf) as view:
            while filled < len(buf):
                got = handle.readinto(view[filled:])
                if not got:
                    break
                filled += got
        at_eof = filled < len(buf)
        pos = 0
        if first:
            first = False
            if filled >= len(BOM) and buf[:len(BOM)] == BOM:
                pos = len(BOM)
        while pos < filled:
            hi = cut(buf, pos, filled, chunk_size, at_eof)
            if hi < 0:
                break
            yield buf, pos, hi
            pos = hi
        if at_eof:
            return
        kept = filled - pos
        buf[:kept] = buf[pos:filled]  # same length: the buffer is not resized
