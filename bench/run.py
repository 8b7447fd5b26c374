"""Run every benchmark and print one markdown document: the machine, then each bench's table.

Why: the README's Performance section is this output, so one command must reproduce it. Each
`bench/bench_<name>.py` has `report(quick) -> str` (a markdown table under a one-line heading); this
runner imports them in one process, one after another (they must not measure each other), and
says which are missing or failed instead of stopping.

    python bench/run.py [--quick] [--output FILE]
"""

import argparse
import datetime
import importlib
import importlib.metadata
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import List, Optional, Tuple

BENCH_DIR = Path(__file__).resolve().parent
# The ones the issues ask for, in the order the document shows them; any other bench_*.py follows.
EXPECTED = ("bench_scan", "bench_validate", "bench_loss")


def _version(distribution: str) -> Optional[str]:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _memory() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 ** 2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _paddle() -> Tuple[str, str]:
    """paddle's version and build, and the GPU the loss bench would use (if any)."""
    try:
        import paddle
    except ImportError:
        return "not installed", "none (no paddle)"
    cuda = str(paddle.version.cuda())
    build = "CPU build" if not paddle.is_compiled_with_cuda() else f"CUDA {cuda}, cuDNN {paddle.version.cudnn()}"
    count = paddle.device.cuda.device_count() if paddle.is_compiled_with_cuda() else 0
    gpu = f"{count} x {paddle.device.cuda.get_device_name(0)}" if count else "none"
    return f"{paddle.__version__} ({build})", gpu


def machine(command: str) -> str:
    """The markdown description of this machine and run."""
    try:  # smoke's own (one definition); the smoke package imports paddle, which a machine may lack
        from ppcls_csce.smoke.device import cpu_model
    except ImportError:
        def cpu_model() -> str:
            return platform.processor() or platform.machine() or "unknown CPU"

    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    paddle_version, gpu = _paddle()
    rows = [
        ("Date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("Command", f"`{command}`"),
        ("CPU", f"{cpu_model()}, {available} cores available ({os.cpu_count()} logical in the machine)"),
        ("Memory", _memory()),
        ("GPU", gpu),
        ("OS", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("Python", platform.python_version()),
        ("numpy", _version("numpy") or "not installed"),
        ("paddle", paddle_version),
        ("pandas", _version("pandas") or "not installed"),
    ]
    lines = ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def bench_names() -> List[str]:
    found = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    return list(EXPECTED) + [name for name in found if name not in EXPECTED]


def run_all(quick: bool, command: str) -> Tuple[str, bool]:
    """The whole document and whether every expected bench ran."""
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    sections = [f"# ppcls-csce benchmarks{' (quick)' if quick else ''}", "", machine(command)]
    complete = True
    for name in bench_names():
        if not (BENCH_DIR / f"{name}.py").is_file():
            sections += ["", f"_{name}.py: missing, not run._"]
            complete = False
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            table = importlib.import_module(name).report(quick=quick).strip()
        except Exception as error:  # noqa: BLE001 - one failing bench must not hide the others
            traceback.print_exc(file=sys.stderr)
            sections += ["", f"_{name}: failed: {type(error).__name__}: {error}_"]
            complete = False
            continue
        elapsed = time.perf_counter() - start
        print(f"  {name}: {elapsed:.1f} s", file=sys.stderr, flush=True)
        sections += ["", table, "", f"_{name}.py, {elapsed:.0f} s._"]
    return "\n".join(sections) + "\n", complete


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each bench's small, fast version")
    parser.add_argument("--output", metavar="FILE", help="also write the document to FILE (atomically)")
    args = parser.parse_args(argv)
    command = "python bench/run.py" + (" --quick" if args.quick else "")
    document, complete = run_all(args.quick, command)
    print(document, end="")
    if args.output:
        from ppcls_csce.atomic import write_atomic

        write_atomic(args.output, document.encode("utf-8"))
        print(f"wrote {args.output}", file=sys.stderr)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
