"""`csce-config gen` on a big train list against what a user would run to count classes otherwise.

Whole processes, as a user runs them: `csce-config gen --train-list F` against `wc -l F` (the floor:
just reading the bytes), `awk '{c[$NF]++}'` and pandas `read_csv(...)[1].value_counts()` (when
pandas is installed). The list is ImageNet-like (bench/make_list.py: 1,000 classes, imbalance 100,
about 40 bytes a line) and is written once into a temporary folder. The tools run interleaved, one
after the other, for several rounds after a warm-up round; each figure is the median over the
rounds, and each child's peak memory comes from the kernel (os.wait4's ru_maxrss). One more row
times gen with the compiled pass switched off, on the smaller list: what an install without a C
compiler gets.
Targets (issue 2): gen at most 6x the wall time of `wc -l`, faster than awk and pandas, and a
peak RSS of at most 200 MB whatever the list's size.

    python bench/bench_scan.py [--quick]
"""

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_list  # noqa: E402  (bench/make_list.py, next to this file)
from ppcls_csce import scanner  # noqa: E402

CLASSES = 1000
IMBALANCE = 100.0
SEED = 0
DATA_DIR = Path(tempfile.gettempdir()) / "ppcls-csce-bench"
RSS_LIMIT_MB = 200.0
TIME_RATIO_LIMIT = 6.0

AWK_PROGRAM = "{c[$NF]++} END {for (k in c) print k, c[k]}"
# gen with the compiled pass switched off: what an install without a C compiler gets.
EXACT_ONLY_CODE = (
    "import sys; from ppcls_csce import scanner; scanner._plainscan = None; "
    "from ppcls_csce.cli import main; sys.exit(main(sys.argv[1:]))"
)
PANDAS_CODE = (
    "import sys, pandas as pd; "
    "print(pd.read_csv(sys.argv[1], sep=' ', header=None)[1].value_counts().sort_index().to_string())"
)


class Run(NamedTuple):
    wall: float  # seconds
    cpu: float  # user + system seconds
    rss_mb: float  # peak resident set size


def list_file(lines: int) -> Path:
    """The benchmark list, written once per size (deterministic, so a cached copy is the same bytes)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"train_list_{lines}_{CLASSES}_{IMBALANCE:g}_{SEED}.txt"
    if not path.is_file():
        partial = path.with_suffix(".partial")
        make_list.write_list(partial, lines, CLASSES, IMBALANCE, SEED)
        os.replace(partial, path)
    return path


def gen_command(path: Path) -> List[str]:
    """The console script installed beside this Python (what a venv puts first on PATH), else `python -m`.

    Not `shutil.which`: under pyenv that finds a shim, a bash wrapper that adds about 0.1 s to every call.
    """
    script = Path(sys.executable).with_name("csce-config")
    head = [str(script)] if script.is_file() else [sys.executable, "-m", "ppcls_csce"]
    return head + ["gen", "--train-list", str(path)]


# Runs one command and prints "wall cpu maxrss_kib exit_code". A small fresh process does the
# fork: Linux keeps a process's peak RSS across exec, so a child forked (or vforked) straight from
# this benchmark would inherit this big process's peak as its own. The floor left is the peak of a
# bare `python -S` (under 10 MB), which only tools smaller than that (wc, awk) can show.
_TIMER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
print(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


# The environment a user's shell gives the tools: Python writes bytecode caches by default, and a
# PYTHONDONTWRITEBYTECODE=1 left by a sandbox or CI image would make every run recompile the package.
USER_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def run_once(command: Sequence[str], codes: Tuple[int, ...] = (0,)) -> Run:
    """One whole process: wall time, CPU time and peak RSS from the kernel's accounting of that child.

    `codes`: the exit codes the command is expected to end with (a run measuring a failure expects 1).
    """
    timer = subprocess.run([sys.executable, "-S", "-c", _TIMER, *command], capture_output=True, check=True,
                           env=USER_ENV)
    wall, cpu, rss_kib, code = timer.stdout.split()
    if int(code) not in codes:
        raise RuntimeError(f"{' '.join(command)} exited {int(code)}: "
                           f"{timer.stderr.decode(errors='replace')[-500:]}")
    return Run(float(wall), float(cpu), int(rss_kib) / 1024)  # ru_maxrss is in KiB on Linux


def measure(commands: Dict[str, List[str]], rounds: int,
            codes: Optional[Dict[str, Tuple[int, ...]]] = None) -> Dict[str, Run]:
    """Medians over `rounds` interleaved rounds, after one warm-up round (page cache, imports).

    `codes`: expected exit codes per command name, where not 0.
    """
    samples: Dict[str, List[Run]] = {name: [] for name in commands}
    for round_number in range(rounds + 1):
        for name, command in commands.items():
            run = run_once(command, (codes or {}).get(name, (0,)))
            if round_number:
                samples[name].append(run)
    return {
        name: Run(*(statistics.median(getattr(run, field) for run in runs) for field in Run._fields))
        for name, runs in samples.items()
    }


def _pandas_available() -> bool:
    return importlib.util.find_spec("pandas") is not None


def _verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def report(quick: bool = False) -> str:
    lines = 1_000_000 if quick else 10_000_000
    rounds = 3 if quick else 5
    path = list_file(lines)
    commands: Dict[str, List[str]] = {
        "`csce-config gen`": gen_command(path),
        "`wc -l`": ["wc", "-l", str(path)],
        "`awk '{c[$NF]++}'`": ["awk", AWK_PROGRAM, str(path)],
    }
    if _pandas_available():
        commands["pandas `read_csv(...)[1].value_counts()`"] = [sys.executable, "-c", PANDAS_CODE, str(path)]
    if not quick:  # the same command on a 10x smaller list: peak memory must not follow the size
        small = list_file(lines // 10)
        commands[f"`csce-config gen`, {lines // 10:,} lines"] = gen_command(small)
        commands[f"`csce-config gen`, {lines // 10:,} lines, exact rule only (no C compiler at install)"] = [
            sys.executable, "-c", EXACT_ONLY_CODE, "gen", "--train-list", str(small)]
    results = measure(commands, rounds)

    floor = results["`wc -l`"].wall
    gen = results["`csce-config gen`"]
    size_mb = path.stat().st_size / 1e6
    out = [
        f"### Counting a {lines:,}-line train list ({CLASSES:,} classes, {size_mb:.0f} MB, page cache warm; "
        f"median of {rounds} interleaved rounds)",
        "",
        "| tool | wall s | CPU s | peak RSS MB | wall / `wc -l` |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, run in results.items():
        out.append(f"| {name} | {run.wall:.3f} | {run.cpu:.3f} | {run.rss_mb:.0f} | {run.wall / floor:.1f} |")
    out += ["", "Peak RSS comes from a small process that forks each tool; tools smaller than it (about 8 MB: "
            "wc, awk) show that floor. CPU s is user + system time of the whole process. The compiled "
            f"pass (`ppcls_csce/_plainscan.c`) is {'built' if scanner.COMPILED else '**not built**'} here.",
            ""]
    if quick:  # on a list 10x smaller, start-up dominates every tool: the targets would mislead
        out.append("The targets are set for the 10,000,000-line list: run without `--quick` to check them.")
        return "\n".join(out) + "\n"
    out += ["| target | holds |", "|---|---|"]
    out.append(f"| gen wall <= {TIME_RATIO_LIMIT:g} x `wc -l` ({gen.wall / floor:.1f} x) | "
               f"{_verdict(gen.wall <= TIME_RATIO_LIMIT * floor)} |")
    awk = results["`awk '{c[$NF]++}'`"]
    out.append(f"| gen faster than awk (awk / gen = {awk.wall / gen.wall:.1f}) | {_verdict(gen.wall < awk.wall)} |")
    pandas_name = "pandas `read_csv(...)[1].value_counts()`"
    if pandas_name in results:
        pandas = results[pandas_name]
        out.append(f"| gen faster than pandas (pandas / gen = {pandas.wall / gen.wall:.1f}) | "
                   f"{_verdict(gen.wall < pandas.wall)} |")
    else:
        out.append("| gen faster than pandas | not measured: pandas is not installed |")
    peaks = [run.rss_mb for name, run in results.items() if "gen" in name]
    out.append(f"| gen peak RSS <= {RSS_LIMIT_MB:g} MB ({max(peaks):.0f} MB) | "
               f"{_verdict(max(peaks) <= RSS_LIMIT_MB)} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 1,000,000-line list and 3 rounds")
    print(report(quick=parser.parse_args().quick))
