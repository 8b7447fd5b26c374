"""The long-tail experiments of examples/longtail/, each in a tiny configuration, end to end.

1. Fashion-MNIST through PaddleClas's own tools/train.py (fashion_mnist.py): its --quick run (300
   images, 2 epochs, 2 seeds), marked `engine`; skipped with the reason when there is no PaddleClas
   checkout (PPCLS_CSCE_PADDLECLAS, default ../shared/PaddleClas) or no Fashion-MNIST files
   (apt-get install dataset-fashion-mnist). The split helpers are tested without paddle.
2. The secondary digits experiment (digits/run.py: an MLP trained outside PaddleClas) with 2 seeds
   and 2 epochs: list files, `csce-config gen`, the paddle loss, the table, the JSON and the plot.
"""

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional, Tuple

import numpy as np
import pytest

from ppcls_csce.counts import shot_groups

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "longtail" / "digits" / "run.py"
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
    pytest.importorskip("paddle", reason="the digits example trains with paddle: pip install -e '.[paddle]'")
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


# ---------------------------------------------------------------- Fashion-MNIST in PaddleClas

LONGTAIL = REPO / "examples" / "longtail"
FM_SCRIPT = LONGTAIL / "fashion_mnist.py"
FM_ARMS = ("ce", "cs_ce", "drw")  # the arms that need nothing beyond main
HEX40 = re.compile(r"^[0-9a-f]{40}$")
Quick = Tuple[Path, subprocess.CompletedProcess]


def load_module(name: str) -> ModuleType:
    sys.path.insert(0, str(LONGTAIL))
    try:
        spec = importlib.util.spec_from_file_location(name, LONGTAIL / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(LONGTAIL))


def paddleclas_checkout() -> Optional[Path]:
    """The checkout the script would take: PPCLS_CSCE_PADDLECLAS ("" for none), else ../shared/PaddleClas."""
    named = os.environ.get("PPCLS_CSCE_PADDLECLAS")
    folder = (Path(named) if named else None) if named is not None else REPO.parent / "shared" / "PaddleClas"
    return folder if folder is not None and (folder / "tools" / "train.py").is_file() else None


def engine_skip_reason() -> str:
    if paddleclas_checkout() is None:
        return ("needs a PaddleClas checkout (its ppcls/ and tools/): set PPCLS_CSCE_PADDLECLAS=/path/to/PaddleClas "
                "(default ../shared/PaddleClas when it exists)")
    problem = load_module("ltdata").missing_data(load_module("ltdata").DEFAULT_DATA)
    return f"needs Fashion-MNIST: {problem}" if problem else ""


needs_engine = pytest.mark.skipif(bool(engine_skip_reason()), reason=engine_skip_reason() or "-")


def fm_run(out: Path, *flags: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, str(FM_SCRIPT), "--quick", "--out", str(out), *flags]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Quick:
    out = tmp_path_factory.mktemp("fashion") / "out"
    done = fm_run(out, "--paddleclas", str(paddleclas_checkout()), "--jobs", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


def train_losses(logs: Path) -> Dict[str, List[float]]:
    """Per run (e.g. drw_seed0), the mean training loss of every epoch, from its tools/train.py log."""
    losses: Dict[str, List[float]] = {}
    for log in logs.glob("*_seed*.log"):
        first, *lines = log.read_text().splitlines()
        assert first.startswith("$ cd ") and re.search(rf"-c \S*/{log.stem}\.yaml ", first), first
        losses[log.stem] = [float(re.search(r" loss: ([0-9.]+)", line).group(1))  # type: ignore[union-attr]
                            for line in lines if "][Avg]" in line and "[Train]" in line]
    return losses


@pytest.mark.engine
@needs_engine
def test_quick_run_trains_every_available_arm_and_seed_in_paddleclas(quick: Quick) -> None:
    out, done = quick
    data = json.loads((out / "results.json").read_text())
    ltdata = load_module("ltdata")
    arms = {record["arm"] for record in data["runs"]}
    assert set(FM_ARMS) <= arms
    # Arms whose feature is missing are skipped with the reason printed, never silently.
    for key, reason in data["skipped_arms"].items():
        assert f"skipping arm {key}: {reason}" in done.stdout
    assert arms | set(data["skipped_arms"]) == {arm.key for arm in load_module("fashion_mnist").ARMS}
    counts = ltdata.scaled_counts(300)
    for record in data["runs"]:
        assert record["seed"] in (0, 1)
        assert record["counts"] == ltdata.class_counts(record["seed"], counts)
        per_class = record["per_class"]
        assert len(per_class) == 10 and all(0.0 <= value <= 1.0 for value in per_class)
        assert record["test_images"] == 300
        assert record["metrics"]["balanced"] == pytest.approx(sum(per_class) / 10)
        # A balanced test set: top-1 (counted by lteval over images) equals the mean per-class recall.
        assert record["top1"] == pytest.approx(record["metrics"]["balanced"], abs=1e-9)
        few = shot_groups(record["counts"])["few"]  # the one rule, as LongTailAcc and stats group the classes
        assert record["metrics"]["few"] == pytest.approx(sum(per_class[c] for c in few) / len(few))
        assert record["wall_seconds"] > 0 and record["paddle"]
    assert HEX40.match(data["engine"]["paddleclas_commit"])
    assert data["engine"]["trainer"] == "PaddleClas tools/train.py"


@pytest.mark.engine
@needs_engine
def test_configs_come_from_gen_and_drw_switches_after_identical_ce_epochs(quick: Quick) -> None:
    import yaml

    out, _ = quick
    records = {(r["arm"], r["seed"]): r for r in json.loads((out / "results.json").read_text())["runs"]}
    for seed in (0, 1):
        counts = records[("ce", seed)]["counts"]
        for arm, gamma in (("ce", 0.0), ("cs_ce", 1.0), ("drw", 1.0)):
            config = yaml.safe_load((out / "work" / "configs" / f"{arm}_seed{seed}.yaml").read_text())
            (entry,) = config["Loss"]["Train"]
            params = entry["CostSensitiveCE"]
            assert params["num_class_list"] == counts and params["gamma"] == gamma
            assert params.get("drw_start_epoch") == (2 if arm == "drw" else None)
        # the base config's label smoothing, kept by gen, except in the arms that take it out
        for arm, epsilon in (("balanced_softmax", 0.1), ("ce_plain", None), ("balanced_softmax_plain", None)):
            config = yaml.safe_load((out / "work" / "configs" / f"{arm}_seed{seed}.yaml").read_text())
            (entry,) = config["Loss"]["Train"]
            assert next(iter(entry.values())).get("epsilon") == epsilon, arm
    losses = train_losses(out / "work" / "logs")
    for seed in (0, 1):
        ce, cs_ce, drw = (losses[f"{arm}_seed{seed}"] for arm in FM_ARMS)
        assert len(ce) == len(cs_ce) == len(drw) == 2
        # Same split, initial weights and batches: DRW's plain epoch 1 is CE's epoch 1, to the last digit ...
        assert drw[0] == ce[0] and drw[0] != cs_ce[0]
        # ... and from epoch 2 on it is weighted, so it parts from CE.
        assert drw[1] != ce[1]


@pytest.mark.engine
@needs_engine
def test_quick_runs_two_trainings_at_once(quick: Quick) -> None:
    """--jobs 2: some two tools/train.py logs overlap in time (by PaddleClas's own timestamps), and the numbers
    are those of one run at a time (CE and DRW share epoch 1 to the last digit, checked above)."""
    out, done = quick
    assert "runs to do, 2 at once" in done.stdout
    spans = []
    for log in (out / "work" / "logs").glob("*_seed*.log"):
        stamps = re.findall(r"^\[(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)\]", log.read_text(), re.M)
        spans.append((min(stamps), max(stamps)))
    assert len(spans) == 2 * sum(arm.trained for arm in load_module("fashion_mnist").ARMS)
    assert any(a[0] < b[1] and b[0] < a[1] for i, a in enumerate(spans) for b in spans[i + 1:])


@pytest.mark.engine
@needs_engine
def test_quick_results_table_and_plot(quick: Quick) -> None:
    out, _ = quick
    markdown = (out / "results.md").read_text()
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    labels = {arm.key: arm.label for arm in load_module("fashion_mnist").ARMS}
    for key in FM_ARMS:
        main_row = [row for row in rows if row.startswith(f"| {labels[key]} | 2 | ") and row.count("|") == 9]
        assert len(main_row) == 1, key
        assert all(CELL.match(cell.strip()) for cell in main_row[0].strip("|").split("|")[2:7]), main_row
    paired = [row for row in rows if re.match(r"^\| .* \| 2 \| [+-]\d+\.\d ± \d+\.\d \| [0-2]/2 \|", row)]
    ran = {record["arm"] for record in json.loads((out / "results.json").read_text())["runs"]}
    assert {row.split(" | ")[0][2:] for row in paired} == {labels[key] for key in ran - {"ce", "ce_plain"}}
    against = {row.split(" | ")[0][2:]: row.split(" | ")[1] for row in paired}  # each with the CE of its smoothing
    assert against[labels["balanced_softmax"]] == labels["ce"]
    assert against[labels["balanced_softmax_plain"]] == against[labels["ce_plain_posthoc"]] == labels["ce_plain"]
    schedule = json.loads((out / "results.json").read_text())["schedule"]
    # the epoch the drw arm's weights start (not CE's --drw-epoch 1)
    drw = min(schedule["epochs"], round(0.8 * schedule["epochs"]) + 1)
    assert f"DRW is plain CE, then gamma 1 from epoch {drw}." in markdown
    data = (out / "per_class_accuracy.png").read_bytes()
    assert data[:8] == PNG_MAGIC


@pytest.mark.engine
@needs_engine
def test_a_second_run_trains_nothing_and_keeps_the_numbers(quick: Quick) -> None:
    out, _ = quick
    logs = {log: log.read_text() for log in (out / "work" / "logs").iterdir()}
    before = json.loads((out / "results.json").read_text())["runs"]
    done = fm_run(out, "--paddleclas", str(paddleclas_checkout()))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("done before, kept") == len(before) and "running" not in done.stdout
    assert {log: log.read_text() for log in (out / "work" / "logs").iterdir()} == logs
    assert json.loads((out / "results.json").read_text())["runs"] == before


@pytest.mark.engine
@needs_engine
def test_a_new_work_folder_trains_ce_again_for_the_derived_arms(quick: Quick, tmp_path: Path) -> None:
    """Resuming on another machine: the finished records are there, the CE model is not. A derived run still to do
    trains CE again first and redoes every derived arm of that seed from it (paddle's CPU training is not bit-for-bit
    repeatable, so a derived arm and its CE must come from one model)."""
    out, _ = quick
    (tmp_path / "runs").mkdir()
    for record in (out / "runs").glob("*_seed0.json"):
        if record.name != "ce_posthoc_half_seed0.json":  # marked, to see which get written again
            (tmp_path / "runs" / record.name).write_text(json.dumps({**json.loads(record.read_text()), "old": 1}))
    done = fm_run(tmp_path, "--paddleclas", str(paddleclas_checkout()), "--work", str(tmp_path / "new_work"),
                  "--arms", "ce,ce_posthoc,ce_posthoc_half", "--seeds", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("ce seed 0: its model is not in") == 1
    for key in ("ce", "ce_posthoc", "ce_posthoc_half"):
        record = json.loads((tmp_path / "runs" / f"{key}_seed0.json").read_text())
        assert "old" not in record and len(record["per_class"]) == 10, key  # each was really done again
    ce_record = json.loads((tmp_path / "runs" / "ce_seed0.json").read_text())
    assert f"Global.output_dir={tmp_path / 'new_work' / 'runs' / 'ce_seed0'}" in ce_record["overrides"]
    assert "old" in json.loads((tmp_path / "runs" / "drw_seed0.json").read_text())  # a trained arm is kept
    assert (tmp_path / "new_work" / "runs" / "ce_seed0").is_dir()


def test_two_runs_at_once_by_default_one_on_a_single_core(monkeypatch: pytest.MonkeyPatch) -> None:
    fashion_mnist = load_module("fashion_mnist")
    for cores, jobs in ((1, 1), (2, 2), (64, 2), (None, 1)):
        monkeypatch.setattr(os, "cpu_count", lambda: cores)
        assert fashion_mnist.parse_args([]).jobs == jobs
    assert fashion_mnist.parse_args(["--jobs", "5"]).jobs == 5
    done = fm_run(Path("unused"), "--jobs", "0")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith("--seeds, --jobs and --epochs must be >= 1")


def test_split_follows_cifar10_lt_and_the_seed_picks_the_rare_class() -> None:
    ltdata = load_module("ltdata")
    assert list(ltdata.LT_COUNTS) == [int(5000 * 0.01 ** (i / 9)) for i in range(10)]
    assert sum(ltdata.LT_COUNTS) == 12406
    per_seed = [ltdata.class_counts(seed, ltdata.LT_COUNTS) for seed in range(3)]
    for counts in per_seed:
        assert sorted(counts, reverse=True) == list(ltdata.LT_COUNTS)
    assert len({counts.index(50) for counts in per_seed}) > 1
    labels = np.repeat(np.arange(10), 6000)
    kept = ltdata.long_tail_indices(labels, per_seed[0], 0)
    assert len(set(kept.tolist())) == len(kept) == 12406
    assert np.bincount(labels[kept], minlength=10).tolist() == per_seed[0]
    test = ltdata.balanced_test_indices(np.tile(np.arange(10), 1000), 30)
    assert np.bincount(np.tile(np.arange(10), 1000)[test]).tolist() == [30] * 10


def test_validation_split_is_balanced_and_outside_the_long_tailed_split() -> None:
    ltdata = load_module("ltdata")
    labels = np.repeat(np.arange(10), 6000)[np.random.RandomState(5).permutation(60000)]
    for seed in range(3):
        per_class = ltdata.class_counts(seed, ltdata.LT_COUNTS)
        used = ltdata.long_tail_indices(labels, per_class, seed)
        val = ltdata.validation_indices(labels, 500, used, seed)
        assert np.bincount(labels[val], minlength=10).tolist() == [500] * 10
        assert len(set(val.tolist())) == 5000 and not set(val.tolist()) & set(used.tolist())
        # the train split is what it was before the validation split existed (runs made before stay valid)
        assert ltdata.long_tail_indices(labels, per_class, seed).tolist() == used.tolist()
        assert ltdata.validation_indices(labels, 500, used, seed).tolist() == val.tolist()


@pytest.mark.engine
@needs_engine
def test_tau_auto_arms_choose_on_the_validation_split_and_report_the_test_set(quick: Quick) -> None:
    out, _ = quick
    records = {(r["arm"], r["seed"]): r for r in json.loads((out / "results.json").read_text())["runs"]}
    markdown = (out / "results.md").read_text()
    grid = [round(0.05 * i, 2) for i in range(41)]
    for seed in (0, 1):
        train = set((out / "work" / "data" / f"train_seed{seed}.txt").read_text().splitlines())
        test = set((out / "work" / "data" / "test_list.txt").read_text().splitlines())
        for arm, method in (("ce_posthoc_auto", "logit-adjust"), ("ce_taunorm_auto", "tau-norm")):
            record = records[(arm, seed)]
            val = set(Path(record["val_list"]).read_text().splitlines())
            assert len(val) == record["val_images"] == 200 and not val & train and not val & test
            assert all(line.startswith("train/") for line in val)  # Fashion-MNIST training images
            curve = record["val_curve"]
            assert curve["tau"] == grid and record["tau"] == grid[int(np.argmax(curve["balanced"]))]
            assert record["test_images"] == 300 and len(record["per_class"]) == 10  # scored on the test set
            run = out / "work" / "runs" / f"{arm}_seed{seed}"
            assert (run / "val_logits.npz").is_file() and (run / "tau_curve.png").read_bytes()[:8] == PNG_MAGIC
            row = f"| {record['label']} | {seed} | {record['tau']:g} | "
            assert any(line.startswith(row) for line in markdown.splitlines()), row


def test_the_adjust_page_shows_the_committed_results() -> None:
    """docs/adjust.md's measured rows are rows of examples/longtail/results.md, the run's own output."""
    page = (REPO / "docs" / "adjust.md").read_text(encoding="utf-8").splitlines()
    results = (LONGTAIL / "results.md").read_text(encoding="utf-8").splitlines()
    labels = {arm.label for arm in load_module("ltarms").ARMS}
    shown = [line for line in page if line.startswith("| ") and line.split(" | ")[0][2:] in labels]
    assert [line for line in shown if line not in results] == []
    for key in ("ce", "ce_posthoc_auto", "ce_taunorm_auto"):  # the main table's rows of CE and the two tau-auto arms
        label = load_module("ltarms").arm_named(key).label
        assert any(line.startswith(f"| {label} | ") and line.count("|") == 9 for line in shown), key


def test_idx_reader_and_png_lists(tmp_path: Path) -> None:
    import gzip

    pytest.importorskip("cv2", reason="writes PNGs with OpenCV: pip install -e '.[engine]'")

    ltdata = load_module("ltdata")
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    header = b"\0\0\x08\x03" + b"".join(n.to_bytes(4, "big") for n in images.shape)
    (tmp_path / "x.gz").write_bytes(gzip.compress(header + images.tobytes()))
    assert (ltdata.read_idx(tmp_path / "x.gz") == images).all()
    ltdata.write_split(images, np.array([4, 7, 4]), np.array([0, 2]), tmp_path, "train", tmp_path / "list.txt")
    assert (tmp_path / "list.txt").read_text() == "train/00000.png 4\ntrain/00002.png 4\n"
    assert (tmp_path / "train" / "00002.png").read_bytes()[:8] == PNG_MAGIC
    assert ltdata.list_counts(tmp_path / "list.txt") == {4: 2}


def test_missing_data_or_checkout_is_one_line_exit_2(tmp_path: Path) -> None:
    done = fm_run(tmp_path / "out", "--paddleclas", str(tmp_path), "--data", str(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"error: {tmp_path}: no PaddleClas checkout (tools/train.py); "
                                                "pass --paddleclas DIR or set PPCLS_CSCE_PADDLECLAS"]
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "train.py").write_text("")
    done = fm_run(tmp_path / "out", "--paddleclas", str(tmp_path), "--data", str(tmp_path))
    assert done.returncode == 2 and "apt-get install dataset-fashion-mnist" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.engine
@needs_engine
def test_a_failed_training_stops_the_runs_with_one_line_and_no_record(tmp_path: Path) -> None:
    """tools/train.py failing in one of the runs going on at once: exit 1, its log named, nothing recorded."""
    import shutil

    broken = tmp_path / "PaddleClas"
    shutil.copytree(paddleclas_checkout(), broken)  # type: ignore[arg-type]
    (broken / "tools" / "train.py").chmod(0o644)  # the checkout may be read-only
    (broken / "tools" / "train.py").write_text("import sys\nprint('no GPU here', file=sys.stderr)\nsys.exit(3)\n")
    done = fm_run(tmp_path / "out", "--paddleclas", str(broken), "--arms", "ce,cs_ce,ce_posthoc", "--seeds", "1")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert re.fullmatch(r"tools/train.py failed for (ce|cs_ce) seed 0 \(exit 3\): see \S+/logs/\1_seed0\.log", line)
    assert "no GPU here" in (tmp_path / "out" / "work" / "logs" / f"{line.split()[3]}_seed0.log").read_text()
    assert not list((tmp_path / "out" / "runs").glob("*.json"))
    assert "ce_posthoc seed 0: running" not in done.stdout  # the derived run never starts


@pytest.mark.engine
@needs_engine
def test_the_evaluator_reports_a_failed_job_and_goes_on(quick: Quick, tmp_path: Path) -> None:
    """One lteval process serves every run: a job that fails is one error, and the next job gets the run's numbers."""
    out, _ = quick
    ltengine = load_module("ltengine")
    record = json.loads((out / "runs" / "ce_seed0.json").read_text())
    config = out / "work" / "configs" / "ce_seed0.yaml"
    with ltengine.Evaluator(out / "work" / "PaddleClas", tmp_path / "eval.log") as evaluator:
        with pytest.raises(SystemExit, match=r"evaluating \S+missing.pdparams failed: .*traceback in"):
            evaluator.evaluate(config, tmp_path / "missing.pdparams", record["overrides"])
        model = out / "work" / "runs" / "ce_seed0" / "latest.pdparams"
        again = evaluator.evaluate(config, model, record["overrides"])
    assert again["per_class"] == record["per_class"] and again["top1"] == record["top1"]
    assert "Traceback" in (tmp_path / "eval.log").read_text()
