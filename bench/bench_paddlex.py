"""`csce-config validate` on a PaddleX module config, as a whole process: what resolving it costs.

validate on a module config reads the module config, finds and reads its template, applies PaddleX's rewrites as
text edits, reads DIR/label.txt and runs every rule on the result (with the stale-count check against
DIR/train.txt). Measured against validate on the PaddleClas config gen wrote (the same rules without the
module's work) and `python -c pass`, on this repository's example (tests/fixtures/paddlex, 59 images) and on an
ImageNet-LT-sized dataset (1,000 classes, 115,846 train lines). Each command runs interleaved with the others
for several rounds after a warm-up round; figures are medians (bench_scan's timer). Target (issue 24): at most
0.3 s wall for validate on one module config. Neither paddle nor paddlex is imported (tests/test_paddlex.py).

    python bench/bench_paddlex.py [--quick]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import bench_scan  # noqa: E402  (its fork-and-exec timer and interleaved medians: one measuring method for all)
import make_list  # noqa: E402

REPO = BENCH.parent
EXAMPLE = REPO / "tests" / "fixtures" / "paddlex"
DATA_DIR = Path(tempfile.gettempdir()) / "ppcls-csce-bench-paddlex"
LT_LINES, LT_CLASSES, LT_IMBALANCE = 115_846, 1000, 256.0
TARGET_S = 0.3
GEN = ["--drw-epoch", "2", "--sampler", "balanced", "--sampler-epoch", "2", "--metric", "--write"]


def prepare(name: str, classes: int, lines: int) -> Path:
    """A folder with the example's module config (dataset_dir pointing at its own dataset) after gen --write."""
    folder = DATA_DIR / name
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "dataset").mkdir(parents=True)
    if lines:
        make_list.write_list(folder / "dataset" / "train.txt", lines, classes, LT_IMBALANCE, seed=0)
        (folder / "dataset" / "label.txt").write_text("".join(f"{c} class_{c}\n" for c in range(classes)))
        (folder / "dataset" / "val.txt").write_text("".join(f"v/{c}.png {c}\n" for c in range(classes)))
    else:
        for part in ("train.txt", "label.txt", "val.txt"):
            shutil.copy(EXAMPLE / "dataset" / part, folder / "dataset" / part)
    text = (EXAMPLE / "PP-LCNet_x0_25.yaml").read_text(encoding="utf-8")
    text = re.sub(r"dataset_dir: .*", "dataset_dir: dataset", text)
    text = re.sub(r"num_classes: \d+", f"num_classes: {classes}", text)
    (folder / "m.yaml").write_text(text, encoding="utf-8")
    shutil.copy(EXAMPLE / "PP-LCNet_x0_25.template.yaml", folder / "template.yaml")
    subprocess.run([sys.executable, "-m", "ppcls_csce", "gen", "--config", "m.yaml", "--template", "template.yaml", *GEN],
                   cwd=folder, check=True, capture_output=True)
    module = (folder / "m.yaml").read_text(encoding="utf-8")  # absolute, so validate runs from any folder
    (folder / "m.yaml").write_text(module.replace("basic_config_path: m.paddleclas.yaml",
                                                  f"basic_config_path: {folder / 'm.paddleclas.yaml'}"))
    return folder


def report(quick: bool = False) -> str:
    rounds = 3 if quick else 11
    small, large = prepare("example", 3, 0), prepare("imagenet_lt", LT_CLASSES, LT_LINES)
    validate = [sys.executable, "-m", "ppcls_csce", "validate"]
    # bench_scan runs each command in the current folder: absolute paths, and the dataset folder given explicitly
    commands: Dict[str, List[str]] = {"`python -c pass` (interpreter start-up)": [sys.executable, "-c", "pass"]}
    for label, folder in (("example, 59 images", small), ("ImageNet-LT-sized, 115,846 lines", large)):
        module = [str(folder / "m.yaml"), "--dataset-dir", str(folder / "dataset")]
        commands[f"`validate MODULE.yaml`, {label}"] = validate + module
        commands[f"`validate` of the PaddleClas config gen wrote, {label}"] = validate + [
            "--world-size", "2", "--data-root", str(folder), str(folder / "m.paddleclas.yaml")]
    results = bench_scan.measure(commands, rounds)
    lines = [f"### `csce-config validate` on a PaddleX module config (median of {rounds} interleaved rounds; "
             f"`python -m ppcls_csce` on {os.cpu_count()} cores)", "",
             "| command | wall s | CPU s | peak RSS MB |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {run.wall:.3f} | {run.cpu:.3f} | {run.rss_mb:.0f} |" for name, run in results.items()]
    typical = results["`validate MODULE.yaml`, example, 59 images"]
    lines += ["", f"Target: validate on one module config <= {TARGET_S} s wall: {typical.wall:.3f} s wall, "
                  f"{typical.cpu:.3f} s CPU, {'holds' if typical.wall <= TARGET_S else '**does not hold**'} (load "
                  f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores while measuring: on a busy machine "
                  "the CPU seconds are the figure to read)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    print(report(quick=parser.parse_args().quick))
