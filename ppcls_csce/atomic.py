"""Safe file writes: a failed or interrupted run leaves the old file whole, and nothing but a regular file is
ever replaced.

Every file the tool writes (gen --write / -o, validate --fix, install, stats --plot) goes through here, so the
rules hold everywhere: the bytes go to a temporary file in the target's folder, then one rename puts them in
place; a symlink is followed and its target changes (the link stays a link); a FIFO, device (/dev/null),
socket or directory is refused before anything is written; the target's mode bits (and, run as root, its owner
and group) are kept; the same bytes are not written again ("unchanged"); and an error names the path the user
gave, never the temporary file.
"""

import errno
import io
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Optional, Union

from .errors import CsceError

PathLike = Union[str, "os.PathLike[str]"]
STDOUT = "-"  # `-o -`: the bytes go to standard output
WROTE = "wrote"
UNCHANGED = "unchanged"
RULE = "file"

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class WriteError(CsceError):
    """A file could not be written (or must not be): `path` as the user gave it, `reason` without it."""

    def __init__(self, path: PathLike, reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(reason, path=self.path, rule=RULE)

    def __str__(self) -> str:
        return self.problems[0].as_text()


def write_output(target: PathLike, data: bytes) -> str:
    """Write `data` to `target` (`-` is standard output): WROTE, or UNCHANGED when the file already holds it."""
    if os.fspath(target) == STDOUT:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return WROTE
    return WROTE if write_atomic(target, data) else UNCHANGED


def _kind(mode: int) -> Optional[str]:
    """What a non-regular file is, for the message; None for a regular file."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def write_atomic(path: PathLike, data: bytes) -> bool:
    """Replace the file at `path` (through symlinks) by `data` in one rename; False when it already held `data`
    (then it is not touched at all). Raises WriteError, naming `path`, when it cannot or must not be written."""
    target = Path(os.path.realpath(path))  # a symlink's target changes; the link stays
    try:
        info: Optional[os.stat_result] = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise WriteError(path, f"cannot write: {error.strerror or error}") from None
    if info is not None:
        kind = _kind(info.st_mode)
        if kind is not None:
            raise WriteError(path, f"is {kind}, not a regular file; nothing written")
        if info.st_size == len(data) and _holds(target, data):
            return False
    folder = target.parent
    if not folder.is_dir():
        raise WriteError(path, f"cannot write: the folder {folder} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise WriteError(path, f"cannot write into {folder}: {error.strerror or error}") from None
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        _keep_owner_and_mode(tmp_name, info)
        os.replace(tmp_name, target)
    except BaseException as error:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        except PermissionError:  # Windows cannot remove a read-only file (the kept mode of a read-only target)
            os.chmod(tmp_name, stat.S_IWRITE)
            os.unlink(tmp_name)
        if isinstance(error, OSError):
            why = "the disk is full" if error.errno == errno.ENOSPC else (error.strerror or str(error))
            raise WriteError(path, f"cannot write: {why}; the file is unchanged") from None
        raise
    return True


def _holds(target: Path, data: bytes) -> bool:
    try:
        with open(target, "rb") as handle:
            return handle.read(len(data) + 1) == data
    except OSError:
        return False


def _write_all(fd: int, data: bytes) -> None:
    with memoryview(data) as view:
        done = 0
        while done < len(view):
            done += os.write(fd, view[done:])


def _keep_owner_and_mode(tmp_name: str, info: Optional[os.stat_result]) -> None:
    """The old file's owner and group (when allowed: as root, or a group the user is in), then its mode bits
    (after chown, which clears set-id bits); a new file gets the usual 0o666 less the umask."""
    if info is None:
        os.chmod(tmp_name, 0o666 & ~_umask())
        return
    mine = os.stat(tmp_name)
    if (mine.st_uid, mine.st_gid) != (info.st_uid, info.st_gid) and hasattr(os, "chown"):
        try:
            os.chown(tmp_name, info.st_uid, info.st_gid)
        except PermissionError:
            if mine.st_gid != info.st_gid:
                try:
                    os.chown(tmp_name, -1, info.st_gid)
                except PermissionError:
                    pass
    os.chmod(tmp_name, info.st_mode & 0o7777)


def write_png(figure: object, path: PathLike, dpi: int = 110) -> None:
    """A matplotlib figure as a PNG file, written like every other file the tool writes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)  # type: ignore[attr-defined]
    write_atomic(path, buffer.getvalue())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
