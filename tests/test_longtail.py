"""The long-tail experiment (examples/longtail/run.py) in a tiny configuration, end to end.

The full run (10 seeds, 60 epochs) is not part of CI; this runs the same code path with 2 seeds and
2 epochs: list files, `csce-config gen`, the paddle loss, the table, the JSON and the plot.
"""

import importlib.util
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Tuple

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "longtail" / "run.py"
RATIOS = (10, 100)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CELL = re.compile(r"^(\d+\.\d) ± (\d+\.\d)$")


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("longtail_run", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(out: Path, *flags: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(SCRIPT), "--out", str(out), *flags]
    return subprocess.run(command, capture_output=True, text=True, cwd=out.parent, timeout=300)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("longtail") / "out"
    done = run(out, "--seeds", "2", "--epochs", "2", "--ratios", *map(str, RATIOS), "--keep-lists")
    assert done.returncode == 0, done.stderr
    return out


def main_table(markdown: str, which: int = 0) -> Tuple[List[str], List[List[str]]]:
    """Table number `which` of results.md (0: accuracies, 1: paired differences): header and rows."""
    lines = markdown.splitlines()
    start = [i for i, line in enumerate(lines) if line.startswith("| imbalance | method |")][which]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    return header, rows


def test_table_has_every_ratio_method_and_column_with_finite_accuracies(tiny: Path) -> None:
    module = load_script()
    header, rows = main_table((tiny / "results.md").read_text())
    assert header == ["imbalance", "method", "overall", "balanced", "many", "medium", "few"]
    expected = [(str(ratio), method.name) for ratio in RATIOS for method in module.METHODS]
    assert [(row[0], row[1]) for row in rows] == expected
    for row in rows:
        assert len(row) == len(header), row
        values: Dict[str, float] = {}
        for column, cell in zip(header[2:], row[2:]):
            match = CELL.match(cell)
            assert match, f"{row[:2]} {column}: {cell!r} is not 'mean ± std'"
            mean, std = float(match.group(1)), float(match.group(2))
            assert math.isfinite(mean) and 0.0 <= mean <= 100.0, (row[:2], column, cell)
            assert math.isfinite(std) and 0.0 <= std <= 100.0, (row[:2], column, cell)
            values[column] = mean
        # The test split has the same number of images per class, so the two must agree.
        assert values["overall"] == values["balanced"], row


def test_paired_table_compares_every_method_with_ce(tiny: Path) -> None:
    module = load_script()
    header, rows = main_table((tiny / "results.md").read_text(), which=1)
    assert header == ["imbalance", "method", "Δ balanced", "balanced wins", "Δ few", "few wins"]
    assert [(row[0], row[1]) for row in rows] == [
        (str(ratio), method.name) for ratio in RATIOS for method in module.METHODS[1:]
    ]
    for row in rows:
        for delta, wins in ((row[2], row[3]), (row[4], row[5])):
            match = re.match(r"^([+-]\d+\.\d) ± (\d+\.\d)$", delta)
            assert match and -100.0 <= float(match.group(1)) <= 100.0, row
            assert re.match(r"^[0-2]/2$", wins), row


def test_json_holds_every_seed_and_agrees_with_the_table(tiny: Path) -> None:
    module = load_script()
    data = json.loads((tiny / "results.json").read_text())
    _, rows = main_table((tiny / "results.md").read_text())
    table = {(row[0], row[1]): row[2:] for row in rows}
    for ratio in RATIOS:
        assert data["counts"][str(ratio)] == module.long_tail_counts(100, ratio, 10)
        for method in module.METHODS:
            seeds = data["runs"][str(ratio)][method.name]
            assert len(seeds) == 2
            for result in seeds:
                per_class = result["per_class"]
                assert len(per_class) == 10 and all(0.0 <= value <= 1.0 for value in per_class)
                assert result["balanced"] == pytest.approx(sum(per_class) / 10, abs=1e-5)
                assert result["few"] == pytest.approx(sum(per_class[7:]) / 3, abs=1e-5)
            mean_balanced = 100 * sum(result["balanced"] for result in seeds) / 2
            shown = float(CELL.match(table[(str(ratio), method.name)][1]).group(1))  # type: ignore[union-attr]
            assert shown == pytest.approx(mean_balanced, abs=0.051)


def test_drw_switches_from_ce_to_cs_ce(tiny: Path) -> None:
    """Same split, init and batches: DRW equals CE if it never switches, CS_CE if it switches at once."""
    data = json.loads((tiny / "results.json").read_text())
    for ratio in RATIOS:
        runs = data["runs"][str(ratio)]
        for seed in (0, 1):
            drw = runs["DRW (CE, then CS_CE gamma 1)"][seed]["per_class"]
            assert drw != runs["CE"][seed]["per_class"], (ratio, seed)
            assert drw != runs["CS_CE (gamma 1)"][seed]["per_class"], (ratio, seed)


def test_list_files_are_a_balanced_test_split_and_the_long_tailed_profile(tiny: Path) -> None:
    module = load_script()
    for ratio in RATIOS:
        for seed in (0, 1):
            folder = tiny / "lists" / f"ratio{ratio}" / f"seed{seed}"
            train = [line.split(" ") for line in (folder / "train_list.txt").read_text().splitlines()]
            test = [line.split(" ") for line in (folder / "test_list.txt").read_text().splitlines()]
            train_counts = [sum(1 for _, label in train if int(label) == c) for c in range(10)]
            test_counts = [sum(1 for _, label in test if int(label) == c) for c in range(10)]
            assert train_counts == module.long_tail_counts(100, ratio, 10)
            assert max(train_counts) / min(train_counts) == ratio
            assert test_counts == [70] * 10
            assert not {path for path, _ in train} & {path for path, _ in test}


def test_plot_is_a_png(tiny: Path) -> None:
    data = (tiny / "per_class_accuracy.png").read_bytes()
    assert data[:8] == PNG_MAGIC
    # IHDR: width and height; two panels side by side make it wider than tall.
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > height > 100


def test_same_seed_gives_the_same_numbers(tiny: Path, tmp_path: Path) -> None:
    done = run(tmp_path / "again", "--seeds", "1", "--epochs", "2", "--ratios", "10")
    assert done.returncode == 0, done.stderr
    first = json.loads((tiny / "results.json").read_text())["runs"]["10"]
    again = json.loads((tmp_path / "again" / "results.json").read_text())["runs"]["10"]
    for method, seeds in again.items():
        assert seeds[0] == first[method][0], method
    assert not (tmp_path / "again" / "lists").exists()


def test_long_tail_counts_follow_the_exponential_profile() -> None:
    module = load_script()
    assert module.long_tail_counts(100, 100, 10) == [100, 60, 36, 22, 13, 8, 5, 3, 2, 1]
    assert module.long_tail_counts(100, 10, 10) == [100, 77, 60, 46, 36, 28, 22, 17, 13, 10]


def test_bad_usage_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = run(tmp_path / "out", "--seeds", "0")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith("must be >= 1")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
