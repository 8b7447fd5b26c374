"""Atomic file writes: a failed or interrupted run leaves the old file whole."""

import io
import os
import tempfile
from pathlib import Path
from typing import Union


def write_atomic(path: Union[str, "os.PathLike[str]"], data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename over `path` (keeping its mode)."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.chmod(tmp_name, target.stat().st_mode & 0o7777)
        except FileNotFoundError:
            os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def write_png(figure: object, path: Union[str, "os.PathLike[str]"], dpi: int = 110) -> None:
    """A matplotlib figure as a PNG file, written atomically like every other file the tool writes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)  # type: ignore[attr-defined]
    write_atomic(path, buffer.getvalue())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
