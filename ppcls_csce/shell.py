"""Commands shown in messages, quoted for the shell the user will paste them into.

Why: a `fix:` line is meant to be copied as it is; a path with a space, a quote or `$` must survive the paste.
POSIX shells take shlex.quote's single quotes; Windows' cmd.exe does not, so there the quoting is
subprocess.list2cmdline's (double quotes, as the C runtime splits a command line). One place decides.
"""

import os
import shlex
import subprocess
from typing import Union

Arg = Union[str, "os.PathLike[str]", int]


def quote(arg: Arg, windows: bool = os.name == "nt") -> str:
    """One argument, quoted only when it needs to be."""
    text = str(os.fspath(arg)) if not isinstance(arg, int) else str(arg)
    return subprocess.list2cmdline([text]) if windows else shlex.quote(text)


def command(*args: Arg, windows: bool = os.name == "nt") -> str:
    """A whole command line: each argument quoted for the user's shell."""
    return " ".join(quote(arg, windows) for arg in args)
