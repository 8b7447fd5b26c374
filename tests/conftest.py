"""Shared test data: a real PaddleClas checkout (when there is one) and list files shaped like PaddleClas's own.

The suite is self-contained: tests that need real PaddleClas files (its 91 configs, its tools/train.py) take a
checkout from the environment variable PPCLS_CSCE_PADDLECLAS, defaulting to ../shared/PaddleClas when that
exists; without one they are skipped with a reason that says how to enable them (`-rs` in pyproject's addopts
puts the reasons in pytest's summary). PPCLS_CSCE_PADDLECLAS="" turns the default off.

A test needs the checkout when it is marked `paddleclas` or `engine`, or when its code (or a module-level helper
it calls) names one of CHECKOUT_NAMES: the skip is added at collection, so no such test can fail for the want of
a checkout, and none is forgotten.

The same way, without paddle a test marked `paddle` or whose code names paddle is skipped, and on Windows a test whose code reaches a POSIX-only call (POSIX_NAMES: FIFOs, symlinks, owners,
mode bits, /dev/null) is skipped with the reason: the package guards them, its tests exercise them.
"""

import importlib.util
import os
import signal
import types
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set

import pytest

# A suite started in the background of a non-interactive shell (`nohup pytest &`, some CI runners) inherits SIGINT
# ignored, and so would every process it starts: the tests that press Ctrl-C (test_hostile, test_paddle_import)
# need it delivered. With Python's own handler here, the children start with the default disposition again.
if os.name == "posix" and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
ENV_VAR = "PPCLS_CSCE_PADDLECLAS"
_DEFAULT_CHECKOUT = REPO.parent / "shared" / "PaddleClas"
SKIP_REASON = (f"needs a PaddleClas checkout (its ppcls/ and tools/): set {ENV_VAR}=/path/to/PaddleClas "
               f"(default ../shared/PaddleClas when it exists)")


def _checkout() -> Optional[Path]:
    named = os.environ.get(ENV_VAR)
    if named is not None:
        folder = Path(named).expanduser().resolve() if named else None
    else:
        folder = _DEFAULT_CHECKOUT if _DEFAULT_CHECKOUT.is_dir() else None
    if folder is None or not (folder / "ppcls" / "configs").is_dir():
        return None
    return folder


PADDLECLAS: Optional[Path] = _checkout()
# The real configs (the 91 of ../shared/PaddleClas/ppcls/configs); a path that does not exist without a checkout.
SHARED_CONFIGS = (PADDLECLAS / "ppcls" / "configs") if PADDLECLAS else REPO / "tests" / "no-paddleclas-checkout"
# Module-level names that only make sense with a checkout: a test whose code reaches one of them is skipped without.
CHECKOUT_NAMES = frozenset({"SHARED_CONFIGS", "PADDLECLAS", "CONFIGS", "ROUND_TRIP", "PULC_CONFIG", "real_configs"})

needs_paddleclas = pytest.mark.skipif(PADDLECLAS is None, reason=SKIP_REASON)

# Attributes and calls that only POSIX has, or that mean something else on Windows (a mode is one read-only bit,
# a symlink needs a privilege, os.devnull is `nul`, not a character device).
POSIX_NAMES = frozenset({"mkfifo", "symlink_to", "symlink", "geteuid", "getuid", "getgid", "chown", "chmod",
                         "umask", "devnull", "getloadavg", "sched_getaffinity", "S_ISCHR", "S_ISFIFO"})
POSIX = os.name == "posix"
PADDLE = importlib.util.find_spec("paddle") is not None
PADDLE_REASON = "needs paddle: pip install -e '.[paddle]' (the README's test command installs it)"
POSIX_REASON = "POSIX only (FIFOs, symlinks, owners, mode bits or /dev/null): not on this platform"


def real_configs() -> List[Path]:
    """The real PaddleClas configs of the checkout (read-only), or [] without one (those tests are skipped)."""
    if PADDLECLAS is None:
        return []
    configs = sorted(SHARED_CONFIGS.rglob("*.yaml"))
    assert len(configs) >= 90, f"expected PaddleClas's configs in {SHARED_CONFIGS}"
    return configs


def _names_reached(function: types.FunctionType, seen: Set[int]) -> Set[str]:
    """Global names the function's code uses, and those of the module-level functions it calls (transitively)."""
    if id(function) in seen:
        return set()
    seen.add(id(function))
    names: Set[str] = set()
    codes = [function.__code__]
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes.extend(const for const in code.co_consts if isinstance(const, types.CodeType))
    for name in list(names):
        value = function.__globals__.get(name)
        if isinstance(value, types.FunctionType) and value.__module__ == function.__module__:
            names |= _names_reached(value, seen)
    return names


def _needs_checkout(item: pytest.Item) -> bool:
    if item.get_closest_marker("paddleclas") or item.get_closest_marker("engine"):
        return True
    function = getattr(item, "function", None)
    if not isinstance(function, types.FunctionType):
        return False
    if any(getattr(marker, "name", "") == "skip" and "empty parameter set" in str(marker.kwargs.get("reason", ""))
           for marker in item.iter_markers()):
        return True  # parametrized over the real configs, of which there are none here
    return bool(_names_reached(function, set()) & CHECKOUT_NAMES)


def needs_paddle(item: pytest.Item) -> bool:
    """Marked `paddle`, or its code (or a module-level helper it calls) names paddle (`import paddle` inside)."""
    if item.get_closest_marker("paddle"):
        return True
    function = getattr(item, "function", None)
    return isinstance(function, types.FunctionType) and "paddle" in _names_reached(function, set())


def needs_posix(item: pytest.Item) -> bool:
    """Whether the test's code (or a module-level helper it calls) reaches one of POSIX_NAMES."""
    function = getattr(item, "function", None)
    return isinstance(function, types.FunctionType) and bool(_names_reached(function, set()) & POSIX_NAMES)


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason=SKIP_REASON)
    posix_skip = pytest.mark.skip(reason=POSIX_REASON)
    paddle_skip = pytest.mark.skip(reason=PADDLE_REASON)
    for item in items:
        if PADDLECLAS is None and _needs_checkout(item):
            item.add_marker(skip, append=False)
        elif not PADDLE and needs_paddle(item):
            item.add_marker(paddle_skip, append=False)
        elif not POSIX and needs_posix(item):
            item.add_marker(posix_skip, append=False)


def list_lines(counts: Sequence[int], delimiter: str = " ") -> List[str]:
    """ImageNet-style lines: `train/<synset>/<synset>_<n>.JPEG<delimiter><label>`, classes interleaved."""
    lines = []
    for label, count in enumerate(counts):
        synset = f"n{1440764 + label * 7919:08d}"
        lines.extend(f"train/{synset}/{synset}_{i + 1}.JPEG{delimiter}{label}" for i in range(count))
    lines.sort(key=lambda line: zlib.crc32(line.encode()))  # mixed, and the same bytes every run
    return lines


def write_list(path: Path, counts: Sequence[int], delimiter: str = " ") -> Path:
    path.write_text("\n".join(list_lines(counts, delimiter)) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def long_tail_list(tmp_path: Path) -> Path:
    """A 10-class list with CIFAR-10-LT's shape scaled down (imbalance 100)."""
    return write_list(tmp_path / "train_list.txt", [500, 300, 180, 108, 65, 39, 23, 14, 8, 5])


def counts_of(counts: Sequence[int]) -> Dict[int, int]:
    return {label: count for label, count in enumerate(counts)}


def python_cli(*args: str) -> List[str]:
    """The real console entry as a subprocess command: this interpreter's `-m ppcls_csce` (no PATH needed)."""
    import sys

    return [sys.executable, "-m", "ppcls_csce", *args]


def repo_env() -> Dict[str, str]:
    """The environment of a subprocess (tools/train.py, a console command) that imports this checkout's
    ppcls_csce first, whatever is installed."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))


def shrink_transforms(loader: dict, size: int) -> None:
    """A PaddleClas DataLoader section's crops at `size` px (resize to size + 4 first): tiny CPU trainings."""
    for op in loader["dataset"]["transform_ops"]:
        for key, value in op.items():
            if key in ("RandCropImage", "CropImage"):
                value["size"] = size
            if key == "ResizeImage":
                value["resize_short"] = size + 4

