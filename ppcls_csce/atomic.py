"""Safe file writes: a failed or interrupted run leaves the old file whole, and nothing but a regular file is
ever replaced.

Every file the tool writes (gen --write / -o, validate --fix, install, stats --plot) goes through here, so the
rules hold everywhere: the bytes go to a temporary file in the target's folder, then one rename puts them in
place; a symlink is followed and its target changes (the link stays a link); a FIFO, device (/dev/null),
socket or directory is refused before anything is written; the target's mode bits (and, run as root, its owner
and group) are kept; the same bytes are not written again ("unchanged"); and an error names the path the user
gave, never the temporary file. A command that changes several files (install, uninstall, validate --fix) runs
inside all_or_nothing: a failure or Ctrl-C at any moment puts every file back as it was.
"""

import errno
import io
import os
import signal
import stat
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple, Union

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


def write_output(target: PathLike, data: bytes) -> str:
    """Write `data` to `target` (`-` is standard output): WROTE, or UNCHANGED when the file already holds it."""
    if os.fspath(target) == STDOUT:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return WROTE
    return WROTE if write_atomic(target, data) else UNCHANGED


def refuse_inputs(outputs: Iterable[Tuple[str, Optional[PathLike]]], inputs: Iterable[Optional[PathLike]]) -> None:
    """Before any work: no output (option, path) may be one of the command's inputs, or another output, under any
    name (a symlink, a hard link, `./x`), so that a typo such as `stats --plot train.txt` never replaces the data
    it reads. `-` (standard output) and None are skipped."""
    seen: List[Tuple[str, str]] = []
    for path in inputs:
        if path is not None and os.fspath(path) != STDOUT:
            seen.append(("", os.fspath(path)))
    for option, path in outputs:
        if path is None or os.fspath(path) == STDOUT:
            continue
        for other_option, other in seen:
            if _same_file(os.fspath(path), other):
                what = f"the output of {other_option}" if other_option else f"an input ({other})"
                raise WriteError(path, f"{option} would replace {what}; give another path")
        seen.append((option, os.fspath(path)))


def _same_file(one: str, other: str) -> bool:
    if os.path.realpath(one) == os.path.realpath(other):
        return True
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False


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
    _record(target, info)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=_temporary_prefix(target.name), suffix=".tmp", dir=folder)
    except OSError as error:
        raise WriteError(path, f"cannot write into {folder}: {error.strerror or error}") from None
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        _keep_owner_and_mode(tmp_name, info)
        _rename(tmp_name, target)
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


# A file name is at most 255 bytes on every common file system; the temporary name is `.` + a prefix of the
# target's name + `.` + mkstemp's 8 characters + `.tmp`, so the prefix is cut to keep that within the limit.
_NAME_MAX = 255
_TEMP_EXTRA = len(".") + len(".") + 8 + len(".tmp")


def _temporary_prefix(name: str) -> str:
    """`.NAME.`, NAME cut on a character boundary so that the temporary name fits wherever NAME fits."""
    kept, size = [], 0
    for char in name:
        size += len(os.fsencode(char))
        if size > _NAME_MAX - _TEMP_EXTRA:
            break
        kept.append(char)
    return "." + "".join(kept) + "."


def _rename(tmp_name: str, target: Path) -> None:
    os.replace(tmp_name, target)


def remove(path: PathLike) -> None:
    """Delete a file (through a symlink, its target), recorded like a write so all_or_nothing can put it back."""
    target = Path(os.path.realpath(path))
    try:
        info = os.stat(target)
    except OSError as error:
        raise WriteError(path, f"cannot remove: {error.strerror or error}") from None
    _record(target, info)
    try:
        os.unlink(target)
    except OSError as error:
        raise WriteError(path, f"cannot remove: {error.strerror or error}") from None


# --- all or nothing: what a command changes, it changes completely or not at all --------------------------

# (file, its bytes before (None: it did not exist), its mode) for each file changed inside all_or_nothing
_Entry = Tuple[Path, Optional[bytes], int]
_journal: Optional[List[_Entry]] = None


def _record(target: Path, info: Optional[os.stat_result]) -> None:
    """Before a file changes inside all_or_nothing: what to put back (read before the first byte changes)."""
    if _journal is None or any(entry[0] == target for entry in _journal):
        return
    before = None
    if info is not None:
        try:
            before = target.read_bytes()
        except OSError as error:
            raise WriteError(target, f"cannot read it before changing it: {error.strerror or error}") from None
    _journal.append((target, before, info.st_mode if info is not None else 0))


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """Every file written (write_atomic) or removed (remove) inside the block is put back as it was when the
    block ends by any exception, Ctrl-C included, which is then re-raised: a command that edits several files
    (install, uninstall, validate --fix) never stops half done. Ctrl-C is ignored while the files are put back;
    one that cannot be put back is named (a WriteError) instead of claiming that nothing changed."""
    global _journal
    if _journal is not None:  # nested: the outermost block puts everything back
        yield
        return
    _journal = []
    try:
        yield
    except BaseException as error:
        journal, _journal = _journal, None
        stuck = _put_back(journal)
        if stuck:
            what = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
            raise WriteError(stuck[0], f"{what}, and could not be put back as it was: "
                             f"{', '.join(map(str, stuck))}") from error
        raise
    finally:
        _journal = None


def _put_back(journal: List[_Entry]) -> List[Path]:
    """Restore the journal's files, newest change first, with Ctrl-C ignored; the paths that failed."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
    stuck = []
    try:
        for target, before, mode in reversed(journal):
            try:
                if before is None:
                    if os.path.lexists(target):
                        os.unlink(target)
                elif not _holds(target, before):
                    write_atomic(target, before)
                    os.chmod(target, mode & 0o7777)
            except (OSError, CsceError):
                stuck.append(target)
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)
    return stuck


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
