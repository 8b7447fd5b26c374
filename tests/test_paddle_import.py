"""Ctrl-C while paddle is being imported is an interrupt (exit 130), not "needs paddle" (exit 1)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ppcls_csce.errors import CsceError
from ppcls_csce.paddle_import import import_paddle

from conftest import REPO

# What pybind11 does with a KeyboardInterrupt raised while a C++ module initialises: an ImportError.
PYBIND_LIKE = """
import os, signal, time
try:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)
except KeyboardInterrupt as error:
    raise ImportError("initialization failed") from error
"""


def test_an_interrupt_turned_into_import_error_stays_an_interrupt(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fake_core.py").write_text(PYBIND_LIKE)
    (tmp_path / "no_core.py").write_text("raise ImportError('libpaddle.so: cannot open shared object file')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        import_paddle("adjust", "fake_core")
    with pytest.raises(CsceError, match=r"adjust needs paddle \(libpaddle.so: cannot open shared object file\); "
                                        r"pip install 'ppcls-csce\[paddle\]'"):
        import_paddle("adjust", "no_core")
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back


@pytest.mark.parametrize("core, code, text", [(PYBIND_LIKE, 130, "csce-config: interrupted"),
                                              ("raise ImportError('no libpaddle')\n", 1, "smoke needs paddle")])
def test_smoke_exits_130_when_paddle_import_is_interrupted(tmp_path: Path, core: str, code: int, text: str) -> None:
    (tmp_path / "paddle").mkdir()
    (tmp_path / "paddle" / "__init__.py").write_text(core)  # a stand-in paddle, first on the path
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    done = subprocess.run([sys.executable, "-m", "ppcls_csce", "smoke", "--class-num", "3"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == code, done.stderr
    lines = [line for line in done.stderr.splitlines() if line]
    assert len(lines) == 1 and text in lines[0] and "Traceback" not in done.stderr


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="watches /proc/PID/maps (Linux only)")
def test_ctrl_c_during_the_real_paddle_import(tmp_path: Path) -> None:
    """SIGINT as soon as paddle's C++ core is mapped into the process, i.e. while its import runs."""
    pytest.importorskip("paddle", reason="needs paddle")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen([sys.executable, "-m", "ppcls_csce", "smoke", "--class-num", "3", "--steps", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    maps = Path(f"/proc/{process.pid}/maps")
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if "libpaddle" in maps.read_text():
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in err and "needs paddle" not in err and "Traceback" not in err and out == ""
