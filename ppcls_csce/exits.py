"""How a `csce-config` run ends when the world around it does: Ctrl-C (exit 130), and a standard output that
is closed (`>&-`) or whose reader went away (`| head -c1`): one line on stderr and exit 1, never a traceback,
never Python's "Exception ignored" at shutdown, and never a silent exit 0 with the output lost.

Why standard output is wrapped: Python starts with sys.stdout None when file descriptor 1 is closed, and
click.echo then drops the output silently; and click turns a broken pipe into a silent exit 1. Writes go
through `_Guarded`, which raises OutputGone (no OSError, so nothing on the way catches it) exactly once.
"""

import errno
import io
import os
import sys
from typing import Callable, Optional

from .report import ERROR, Problem, format_text

INTERRUPTED = 130
OUTPUT_RULE = "file"  # rules/yaml_file.py's FILE: a file (here standard output) that cannot be used


class OutputGone(Exception):
    """Standard output cannot be written: it was closed at start, or the reader closed the pipe."""


class _Guarded(io.RawIOBase):
    """File descriptor 1 (None: it was closed at start); a failed write raises OutputGone once, and every
    write after it is dropped, so the interpreter's flush at exit stays quiet."""

    def __init__(self, fd: Optional[int]) -> None:
        super().__init__()
        self.fd = fd
        self.gone = False

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.fd is not None and os.isatty(self.fd)

    def fileno(self) -> int:
        if self.fd is None:
            raise io.UnsupportedOperation("standard output is closed")
        return self.fd

    def write(self, data) -> int:  # type: ignore[override]
        if self.gone:
            return len(data)
        if self.fd is None:
            self.gone = True
            raise OutputGone("it is closed")
        try:
            return os.write(self.fd, data)
        except OSError as error:
            if error.errno not in (errno.EPIPE, errno.EBADF, errno.EINVAL):
                raise
            self.gone = True
            raise OutputGone("it is closed" if error.errno == errno.EBADF else "the reader closed the pipe") from None


def guard_stdout() -> None:
    """Before anything is printed: the process's real standard output (not a test's capture) goes through
    _Guarded, with its encoding and line buffering kept."""
    stdout = sys.stdout
    if stdout is None:
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(_Guarded(None)), encoding="utf-8")
        return
    if stdout is not sys.__stdout__ or isinstance(getattr(stdout, "buffer", None), io.BufferedWriter) and \
            isinstance(stdout.buffer.raw, _Guarded):
        return
    try:
        fd = stdout.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return
    if os.isatty(fd):  # a terminal does not close under a running program
        return
    stdout.flush()
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(_Guarded(fd)), encoding=stdout.encoding, errors=stdout.errors,
                                  line_buffering=stdout.line_buffering)


def _say(line: str) -> None:
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # stderr is gone too: the exit code is all that is left
        pass


def output_gone(error: OutputGone) -> int:
    _say(format_text([Problem("", None, None, ERROR, OUTPUT_RULE,
                              f"cannot write to standard output ({error}); the output is incomplete")]))
    return 1


def interrupted() -> int:
    _say("csce-config: interrupted\n")
    return INTERRUPTED


def run(body: Callable[[], int]) -> int:
    """Run the command line, then flush standard output inside the same guard (a pipe closed during the
    last write shows only there)."""
    guard_stdout()
    try:
        code = body()
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        return interrupted()
    except OutputGone as error:
        return output_gone(error)
