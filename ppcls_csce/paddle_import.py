"""The one guarded import of paddle (or of a module that imports it) for the commands that need it lazily.

Ctrl-C while paddle's C++ core is being loaded does not reach Python as KeyboardInterrupt: pybind11 turns the
interrupt raised inside the module's initialisation into `ImportError: initialization failed`, and a command that
reads every ImportError as "paddle is not installed" then exits 1 with the wrong advice. Here a SIGINT handler of
our own notes the interrupt before raising it, so an ImportError that follows one is given back as the
KeyboardInterrupt it was (exit 130 in the CLI), and only a real ImportError becomes the one-line "needs paddle".
"""

import importlib
import signal
import threading
import warnings
from types import FrameType, ModuleType
from typing import Any, List, Optional

from . import shell
from .errors import CsceError



def import_paddle(command: str, module: str = "paddle") -> ModuleType:
    """importlib.import_module(module) for `command`: Ctrl-C stays KeyboardInterrupt, a missing paddle is one line
    (CsceError: `COMMAND needs paddle (...)`); `module` may be one of ours that imports paddle (ppcls_csce.smoke)."""
    interrupted: List[bool] = []
    previous: Any = signal.getsignal(signal.SIGINT)
    # Only the main thread may set a handler; an ignored SIGINT (a job started with nohup ... &) stays ignored.
    ours = threading.current_thread() is threading.main_thread() and previous not in (signal.SIG_IGN, None)

    def note_interrupt(signum: int, frame: Optional[FrameType]) -> None:
        interrupted.append(True)
        raise KeyboardInterrupt

    if ours:
        signal.signal(signal.SIGINT, note_interrupt)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="No ccache found")  # paddle's import-time noise
            return importlib.import_module(module)
    except ImportError as error:
        if interrupted or isinstance(error.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        hint = shell.command("pip", "install", "ppcls-csce[paddle]")  # quoted for the user's shell
        raise CsceError(f"{command} needs paddle ({error}); {hint} (or [gpu])") from None
    finally:
        if ours:
            signal.signal(signal.SIGINT, previous)


def need(command: str, module: str, extra: str) -> None:
    """A module `command` imports later, asked for now: missing, it is one line with the install that brings it
    (before any file is read or written), not a traceback half-way through."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        hint = shell.command("pip", "install", extra)
        raise CsceError(f"{command} needs {module}; {hint}")

