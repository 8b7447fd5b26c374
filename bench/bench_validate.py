"""`csce-config validate` as a whole process, against what a user would otherwise run: `yaml.safe_load`.

A check that runs at every commit has to cost about as much as loading the file. Measured: one typical
config (PaddleClas's ImageNet ResNet50.yaml after `gen` with a 1,000-class list), the same with the
stale-count check against an ImageNet-LT-sized train list (115,846 lines), a config whose CostSensitiveCE
parameters are wrong (the only case that imports pydantic, to explain them), and all 91 real PaddleClas
configs in one process (what pre-commit does). Baselines: `python -c pass` (the interpreter's start-up)
and `python -c "import yaml; yaml.safe_load(...)"` on the same files. Each command runs interleaved with
the others for several rounds after a warm-up round; figures are medians. Target (issue 3): validate on
one typical config at most 0.3 s wall.

    python bench/bench_validate.py [--quick]
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Tuple

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import bench_scan  # noqa: E402  (its fork-and-exec timer and interleaved medians: one measuring method for all)
import make_list  # noqa: E402

REPO = BENCH.parent
# The 91 real configs: the PaddleClas checkout the tests use (PPCLS_CSCE_PADDLECLAS), else ../shared's copy.
CONFIGS = (Path(os.environ["PPCLS_CSCE_PADDLECLAS"]) / "ppcls" / "configs" if os.environ.get("PPCLS_CSCE_PADDLECLAS")
           else REPO.parent / "shared" / "paddleclas-configs")
TYPICAL = CONFIGS / "ImageNet" / "ResNet" / "ResNet50.yaml"
BAD_PARAMS = REPO / "tests" / "fixtures" / "validate" / "csce-params.bad.yaml"
DATA_DIR = Path(tempfile.gettempdir()) / "ppcls-csce-bench"
LT_LINES, LT_CLASSES, LT_IMBALANCE = 115_846, 1000, 256.0  # ImageNet-LT's train list: 1280 down to 5 images
TARGET_S = 0.3
SAFE_LOAD = "import sys, yaml\nfor name in sys.argv[1:]:\n    with open(name, encoding='utf-8') as f:\n        yaml.safe_load(f)"


def prepare() -> Tuple[Path, Path]:
    """The typical config (ResNet50 after gen) and its ImageNet-LT-sized list, written once."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    listing = DATA_DIR / f"imagenet_lt_{LT_LINES}_{LT_CLASSES}.txt"
    if not listing.is_file():
        make_list.write_list(listing, LT_LINES, LT_CLASSES, LT_IMBALANCE, seed=0)
    config = DATA_DIR / "ResNet50_csce.yaml"
    subprocess.run([sys.executable, "-m", "ppcls_csce", "gen", "--train-list", str(listing), "--config", str(TYPICAL),
                    "-o", str(config)], check=True, capture_output=True)
    return config, listing


def report(quick: bool = False) -> str:
    rounds = 3 if quick else 11
    config, listing = prepare()
    everything = [str(path) for path in sorted(CONFIGS.rglob("*.yaml"))]
    python, validate = [sys.executable], [sys.executable, "-m", "ppcls_csce", "validate"]
    wrong = "`csce-config validate`, wrong parameters (pydantic explains)"
    commands = {
        "`python -c pass` (interpreter start-up)": python + ["-c", "pass"],
        "`yaml.safe_load`, typical config": python + ["-c", SAFE_LOAD, str(config)],
        "`csce-config validate`, typical config": validate + [str(config)],
        "`csce-config validate --train-list` (115,846 lines)": validate + ["--train-list", str(listing), str(config)],
        wrong: validate + [str(BAD_PARAMS)],
        f"`yaml.safe_load`, all {len(everything)} real configs": python + ["-c", SAFE_LOAD, *everything],
        f"`csce-config validate`, all {len(everything)} real configs": validate + everything,
    }
    results = bench_scan.measure(commands, rounds, codes={wrong: (1,)})
    one = results["`yaml.safe_load`, typical config"].wall
    many = results[f"`yaml.safe_load`, all {len(everything)} real configs"].wall
    lines = [
        f"### `csce-config validate`, whole process, against `yaml.safe_load` (median of {rounds} interleaved rounds; "
        f"`python -m ppcls_csce` on {os.cpu_count()} cores)",
        "",
        "| command | wall s | CPU s | peak RSS MB | wall / `yaml.safe_load` of the same files |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, run in results.items():
        base = many if "all" in name else one
        ratio = "" if "start-up" in name or "wrong" in name else f"{run.wall / base:.2f}"
        lines.append(f"| {name} | {run.wall:.3f} | {run.cpu:.3f} | {run.rss_mb:.0f} | {ratio} |")
    typical = results["`csce-config validate`, typical config"].wall
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")  # POSIX only
    lines += ["", f"Target: validate on one typical config <= {TARGET_S} s wall: {typical:.3f} s, "
                  f"{'holds' if typical <= TARGET_S else '**does not hold**'} (load average {load:.1f} on "
                  f"{os.cpu_count()} cores while measuring)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    print(report(quick=parser.parse_args().quick))
