"""`csce-config gen`: the standalone block, config edits, refusals, and the real PaddleClas configs."""

import copy
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional, Tuple

import pytest
import yaml
from click.testing import CliRunner

from ppcls_csce.cli import cli

from conftest import EXAMPLES, REPO, real_configs, write_list

COUNTS = [500, 300, 180, 108, 65, 39, 23, 14, 8, 5]


def run(*args: str):
    """gen in-process; every config it writes (--write, -o) must pass validate (issue 11: the loop closes)."""
    result = CliRunner().invoke(cli, ["gen", *args], catch_exceptions=False)
    if result.exit_code == 0 and "--config" in args and ("--write" in args or "-o" in args):
        target = args[args.index("--config") + 1] if "--write" in args else args[args.index("-o") + 1]
        passed = [arg for index, arg in enumerate(args) if args[index - 1:index] == ("--train-list",)
                  or arg == "--train-list" or args[index - 1:index] in (("--world-size",), ("--data-root",))
                  or arg in ("--world-size", "--data-root")]
        checked = CliRunner().invoke(cli, ["validate", *passed, target])
        assert checked.exit_code == 0, f"gen wrote a config validate rejects:\n{checked.output}"
    return result


def loss_entry(data: dict, section: str = "Train", index: int = 0) -> Tuple[str, dict]:
    (name, values), = data["Loss"][section][index].items()
    return name, values


# --- the standalone block ------------------------------------------------------------------------------------


def test_block_is_the_shape_paddleclas_build_loss_consumes(long_tail_list):
    result = run("--train-list", str(long_tail_list), "--gamma", "0.5")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert list(data) == ["Loss"] and list(data["Loss"]) == ["Train", "Eval"]
    for section in ("Train", "Eval"):
        assert len(data["Loss"][section]) == 1
        name, values = loss_entry(data, section)
        assert name == "CostSensitiveCE"
        assert values == {"weight": 1.0, "gamma": 0.5, "num_class_list": COUNTS}
        assert isinstance(values["gamma"], float) and isinstance(values["weight"], float)


def test_block_is_byte_identical_across_runs_and_the_list_is_one_line(long_tail_list):
    first, second = run("--train-list", str(long_tail_list)), run("--train-list", str(long_tail_list))
    assert first.stdout == second.stdout
    list_lines_out = [line for line in first.stdout.splitlines() if "num_class_list" in line]
    assert len(list_lines_out) == 2 and all(line.rstrip().endswith("]") for line in list_lines_out)


def test_small_gamma_is_written_as_a_float(long_tail_list):
    result = run("--train-list", str(long_tail_list), "--gamma", "1e-5")
    gamma = loss_entry(yaml.safe_load(result.stdout))[1]["gamma"]
    assert isinstance(gamma, float) and gamma == 1e-5


def test_summary_goes_to_stderr(long_tail_list):
    result = run("--train-list", str(long_tail_list))
    assert "10 classes, 1242 samples, imbalance ratio 100" in result.stderr
    assert "10 classes" not in result.stdout.split("Loss:")[1]


def test_several_lists_add_up(tmp_path):
    a = write_list(tmp_path / "a.txt", [3, 2])
    b = write_list(tmp_path / "b.txt", [1, 0, 4])
    result = run("--train-list", str(a), "--train-list", str(b))
    assert loss_entry(yaml.safe_load(result.stdout))[1]["num_class_list"] == [4, 2, 4]


def test_class_num_beyond_the_labels_names_the_empty_classes(long_tail_list):
    result = run("--train-list", str(long_tail_list), "--class-num", "12")
    assert result.exit_code == 1
    assert "classes 10, 11 of 12 have no training images" in result.stderr
    assert result.stdout == ""
    clamped = run("--train-list", str(long_tail_list), "--class-num", "12", "--clamp-empty")
    assert clamped.exit_code == 0 and "warning: classes 10, 11" in clamped.stderr
    assert loss_entry(yaml.safe_load(clamped.stdout))[1]["num_class_list"] == COUNTS + [1, 1]


def test_label_at_or_above_class_num_is_an_error_with_its_line(tmp_path):
    path = tmp_path / "l.txt"
    path.write_text("a.jpg 0\nb.jpg 1\nc.jpg 2\n")
    result = run("--train-list", str(path), "--class-num", "2")
    assert result.exit_code == 1 and f"{path}:3:" in result.stderr


def test_bad_lines_fail_with_file_and_line_and_nothing_is_printed(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a.jpg 0\n\nb.jpg  1\nc.jpg x\nd.jpg 1\n")
    result = run("--train-list", str(path))
    assert result.exit_code == 1 and result.stdout == ""
    for line in (2, 3, 4):
        assert f"{path}:{line}:" in result.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["--write"], "--write needs --config"),
        (["--gamma", "-1"], "gamma must be a finite number >= 0"),
        (["--gamma", "abc"], "abc"),
        (["--class-num", "0"], "0"),
        (["--delimiter", ""], "must not be empty"),
        (["--drw-epoch", "3"], "--drw-epoch needs --config"),
    ],
)
def test_bad_usage_exits_2(long_tail_list, args, words):
    result = CliRunner().invoke(cli, ["gen", "--train-list", str(long_tail_list), *args])
    assert result.exit_code == 2 and words in result.stderr


def test_missing_list_is_one_clean_line(tmp_path):
    result = run("--train-list", str(tmp_path / "nope.txt"))
    assert result.exit_code == 1 and "nope.txt" in result.stderr


# --- editing a config ----------------------------------------------------------------------------------------


def loss_section_span(text: str, path: str = "<t>") -> Tuple[int, int]:
    """[start, end) of the top-level `Loss:` entry's text, from its key to the next top-level key."""
    from ppcls_csce.yamlsource import parse_yaml

    root = parse_yaml(text, path).root
    keys = [key for key, _ in root.value]
    for position, key in enumerate(keys):
        if key.value == "Loss":
            end = keys[position + 1].start_mark.index if position + 1 < len(keys) else len(text)
            return key.start_mark.index, end
    raise AssertionError("no Loss section")


def assert_only_loss_changed(before: str, after: str) -> None:
    start, end = loss_section_span(before)
    new_start, new_end = loss_section_span(after)
    assert after[:new_start] == before[:start]
    assert after[new_end:] == before[end:]


def test_example_config_is_edited_in_the_loss_section_only(tmp_path):
    out = tmp_path / "out.yaml"
    config = EXAMPLES / "ResNet18_longtail.yaml"
    result = run("--train-list", str(EXAMPLES / "train_list.txt"), "--config", str(config), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    before, after = config.read_text(), out.read_text()
    assert_only_loss_changed(before, after)
    data = yaml.safe_load(after)
    name, values = loss_entry(data)
    assert name == "CostSensitiveCE"
    # DRW by default: 90 epochs -> round(0.8 * 90) + 1 = 73; 2480 images in batches of 64 -> 39 steps an epoch
    assert values == {"weight": 1.0, "epsilon": 0.1, "gamma": 1.0,
                      "num_class_list": [1000, 599, 359, 215, 129, 77, 46, 28, 17, 10],
                      "drw_start_epoch": 73, "iters_per_epoch": 39}
    assert "epsilon: 0.1   # label smoothing, kept by csce-config gen" in after
    assert loss_entry(data, "Eval") == ("CostSensitiveCE", {  # the eval loss never gets a step counter
        "weight": 1.0, "gamma": 1.0, "num_class_list": [1000, 599, 359, 215, 129, 77, 46, 28, 17, 10]})
    assert ("note: DRW: plain cross-entropy for epochs 1..72, CS_CE from epoch 73 (39 iterations per epoch on 1 "
            "card): gen's default") in result.stderr


def test_config_without_output_prints_the_whole_config(tmp_path):
    config = EXAMPLES / "ResNet18_longtail.yaml"
    result = run("--train-list", str(EXAMPLES / "train_list.txt"), "--config", str(config))
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["Arch"] == {"name": "ResNet18", "class_num": 10}


def test_write_edits_in_place_and_a_second_run_changes_nothing(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_bytes((EXAMPLES / "ResNet18_longtail.yaml").read_bytes())
    listing = str(EXAMPLES / "train_list.txt")
    assert run("--train-list", listing, "--config", str(config), "--write", "--gamma", "0.5").exit_code == 0
    once = config.read_bytes()
    assert run("--train-list", listing, "--config", str(config), "--write").exit_code == 0
    assert config.read_bytes() == once  # the existing gamma 0.5 is kept when --gamma is not given
    assert loss_entry(yaml.safe_load(once))[1]["gamma"] == 0.5


def test_existing_entry_is_updated_with_new_counts_and_explicit_gamma(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text(
        "Arch:\n  name: R\n  class_num: 3\nLoss:\n  Train:\n    - CostSensitiveCE:\n        weight: 2.0\n"
        "        gamma: 0.5   # tuned\n        num_class_list: [1, 1, 1]\n    - TripletLoss:\n        weight: 1.0\n"
        "        margin: 0.5\n"
    )
    listing = write_list(tmp_path / "l.txt", [9, 3, 1])
    assert run("--train-list", str(listing), "--config", str(config), "--write", "--gamma", "0.25").exit_code == 0
    text = config.read_text()
    assert "gamma: 0.25   # tuned" in text and "num_class_list: [9, 3, 1]" in text
    assert yaml.safe_load(text)["Loss"]["Train"][1] == {"TripletLoss": {"weight": 1.0, "margin": 0.5}}


def test_failed_run_leaves_the_config_as_it_was(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_bytes((EXAMPLES / "ResNet18_longtail.yaml").read_bytes())
    before = config.read_bytes()
    bad = tmp_path / "bad.txt"
    bad.write_text("a.jpg 0\nb.jpg 11\n")  # label 11 with class_num 10
    result = run("--train-list", str(bad), "--config", str(config), "--write")
    assert result.exit_code == 1 and f"{bad}:2:" in result.stderr
    assert config.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "cfg.yaml"]  # no temporary file left


def test_drw_fills_iters_per_epoch_in_train_only(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_bytes((EXAMPLES / "ResNet18_longtail.yaml").read_bytes())
    listing = str(EXAMPLES / "train_list.txt")  # 2480 samples, batch_size 64, drop_last False
    result = run("--train-list", listing, "--config", str(config), "--write", "--drw-epoch", "80", "--world-size", "4")
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(config.read_text())
    train = loss_entry(data)[1]
    assert train["drw_start_epoch"] == 80
    assert train["iters_per_epoch"] == math.ceil(math.ceil(2480 / 4) / 64) == 10
    assert "drw_start_epoch" not in loss_entry(data, "Eval")[1]
    assert "CS_CE from epoch 80" in result.stderr


def test_relabel_is_refused(tmp_path):
    config = tmp_path / "cfg.yaml"
    text = (EXAMPLES / "ResNet18_longtail.yaml").read_text()
    config.write_text(text.replace("      name: ImageNetDataset\n", "      name: ImageNetDataset\n      relabel: True\n", 1))
    result = run("--train-list", str(EXAMPLES / "train_list.txt"), "--config", str(config), "--write")
    assert result.exit_code == 1 and "relabel: True" in result.stderr and "set order" in result.stderr
    assert config.read_text() != text and "relabel: True" in config.read_text()
    # found in the text gen would write (its Loss entries above gain lines), reported where it is in the given file
    line = config.read_text().splitlines().index("      relabel: True") + 1
    assert result.stderr.startswith(f"{config}:{line}:16: error: relabel: True with CostSensitiveCE"), result.stderr
    assert result.stderr.rstrip().endswith("[csce-relabel]")


def test_not_a_paddleclas_config_is_left_untouched(tmp_path, long_tail_list):
    config = tmp_path / "other.yaml"
    config.write_text("name: my-app\nversion: 3\n")
    result = run("--train-list", str(long_tail_list), "--config", str(config), "--write")
    assert result.exit_code == 1 and "not a PaddleClas training config" in result.stderr
    assert config.read_text() == "name: my-app\nversion: 3\n"


def test_broken_yaml_config_gets_its_position(tmp_path, long_tail_list):
    config = tmp_path / "broken.yaml"
    config.write_text("Loss:\n  Train: [\n")
    result = run("--train-list", str(long_tail_list), "--config", str(config))
    assert result.exit_code == 1 and result.stderr.startswith(f"{config}:3:1: error: not valid YAML")
    assert result.stderr.endswith(" [yaml-syntax]\n") and result.stderr.count("\n") == 1


# --- the real PaddleClas configs -----------------------------------------------------------------------------


def eligible(data: Any) -> Tuple[bool, Optional[int], str]:
    """Whether gen must accept this config (per the issue), its class count, and its delimiter."""
    if not isinstance(data, dict):
        return False, None, " "
    dataset = ((data.get("DataLoader") or {}).get("Train") or {}).get("dataset") or {}
    train = (data.get("Loss") or {}).get("Train") or []
    names = {next(iter(entry)) for entry in train if isinstance(entry, dict)}
    arch = data.get("Arch") or {}
    class_num = arch.get("class_num", (arch.get("Head") or {}).get("class_num"))
    ok = dataset.get("name") == "ImageNetDataset" and not dataset.get("relabel") and "CELoss" in names
    return ok, class_num, dataset.get("delimiter") or " "


def expected_drw(data: dict, samples: int) -> dict:
    """The DRW keys gen writes by default into a Train entry, computed here from the config on its own: the first
    re-weighted epoch round(0.8 * epochs) + 1, and the engine's steps per epoch; {} when the config gives none."""
    section = data.get("Global") or {}
    epochs = section.get("epochs")
    sampler = data["DataLoader"]["Train"].get("sampler") or {}
    if not isinstance(epochs, int) or epochs < 2:
        return {}
    if section.get("iter_per_epoch"):
        iters = section["iter_per_epoch"]
    elif sampler.get("name", "DistributedBatchSampler") in ("DistributedBatchSampler", "LongTailSampler"):
        batch = sampler["batch_size"]
        iters = samples // batch if sampler.get("drop_last") else -(-samples // batch)
    else:
        return {}
    update_freq = section.get("update_freq", 1)
    update_freq = 1 if iters < update_freq else update_freq
    return {"drw_start_epoch": min(epochs, int(0.8 * epochs + 0.5) + 1),
            "iters_per_epoch": max(iters // update_freq * update_freq, 1)}


def expected_after_gen(data: dict, counts: list) -> dict:
    expected = copy.deepcopy(data)
    for section in ("Train", "Eval"):
        for index, entry in enumerate(expected["Loss"].get(section) or []):
            (name, values), = entry.items()
            if name == "CELoss":
                drw = expected_drw(data, sum(counts)) if section == "Train" else {}
                expected["Loss"][section][index] = {
                    "CostSensitiveCE": {**values, "gamma": 1.0, "num_class_list": counts, **drw}
                }
    return expected


CONFIGS = real_configs()


@pytest.mark.parametrize("config", CONFIGS, ids=[str(c.relative_to(CONFIGS[0].parents[1])) for c in CONFIGS])
def test_real_config(config: Path, tmp_path: Path):
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    ok, class_num, delimiter = eligible(data)
    counts = [max(1, 400 // (c + 1)) for c in range(class_num if isinstance(class_num, int) else 5)]
    listing = write_list(tmp_path / "train_list.txt", counts, delimiter)
    out = tmp_path / "out.yaml"
    result = CliRunner().invoke(cli, ["gen", "--train-list", str(listing), "--config", str(config), "-o", str(out)])
    if not ok:
        assert result.exit_code == 1, result.output
        lines = result.stderr.splitlines()
        assert lines and all(re.fullmatch(re.escape(str(config)) + r":\d+:\d+: error: .+ \[[a-z-]+\]", line)
                             for line in lines), lines
        assert not out.exists()
        return
    assert result.exit_code == 0, result.stderr
    before, after = config.read_text(encoding="utf-8"), out.read_text(encoding="utf-8")
    assert_only_loss_changed(before, after)
    assert yaml.load(after, Loader=yaml.CSafeLoader) == expected_after_gen(data, counts)  # libyaml: same values, faster
    told = "gen's default, 80% of Global.epochs" if expected_drw(data, sum(counts)) else "not deferred as gen does"
    assert told in result.stderr, result.stderr  # either way the user is told


def test_most_real_configs_are_eligible():
    eligible_count = sum(eligible(yaml.safe_load(c.read_text(encoding="utf-8")))[0] for c in CONFIGS)
    assert eligible_count >= 50


# --- the command as a process --------------------------------------------------------------------------------


def test_python_dash_m_runs_the_cli_and_gen_never_imports_paddle(long_tail_list):
    code = (
        "import sys, runpy; sys.argv = ['csce-config', 'gen', '--train-list', sys.argv[1]];"
        "\ntry:\n    runpy.run_module('ppcls_csce', run_name='__main__')\nexcept SystemExit as e:\n    code = e.code"
        "\nprint('PADDLE' if 'paddle' in sys.modules else 'NO-PADDLE', code, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(long_tail_list)], capture_output=True, text=True, cwd=REPO)
    assert "NO-PADDLE 0" in done.stderr, done.stderr
    assert yaml.safe_load(done.stdout)["Loss"]["Train"][0]["CostSensitiveCE"]["num_class_list"] == COUNTS


def test_an_existing_entry_with_a_bad_parameter_is_refused_with_the_reason(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text(
        "Arch:\n  name: R\n  class_num: 2\nLoss:\n  Train:\n    - CostSensitiveCE:\n        weight: 1.0\n"
        "        gama: 0.5\n        num_class_list: [1, 1]\n"
    )
    before = config.read_text()
    listing = write_list(tmp_path / "l.txt", [3, 1])
    result = run("--train-list", str(listing), "--config", str(config), "--write")
    assert result.exit_code == 1 and "unknown parameter 'gama'" in result.stderr
    assert config.read_text() == before


# --- one check pipeline: what gen refuses, validate reports the same way; refusals write nothing ---------------

SCHEDULE_CONFIG = """Global:
  epochs: 120
{extra}DataLoader:
  Train:
    dataset:
      name: ImageNetDataset
      cls_label_path: ./train.txt
    sampler:
      name: DistributedBatchSampler
      batch_size: {batch_size}
      drop_last: {drop_last}
Arch:
  name: ResNet18
  class_num: 3
Loss:
  Train:
    - CostSensitiveCE:
        weight: 1.0
        num_class_list: [4, 4, 4]
        drw_start_epoch: {start}
        iters_per_epoch: 3
"""


def schedule_case(tmp_path: Path, extra: str = "", batch_size: object = 4, drop_last: object = False,
                  start: int = 100) -> Path:
    write_list(tmp_path / "train.txt", [4, 4, 4])
    config = tmp_path / "cfg.yaml"
    config.write_text(SCHEDULE_CONFIG.format(extra=extra, batch_size=batch_size, drop_last=drop_last, start=start))
    return config


@pytest.mark.parametrize("case, where, words", [
    (dict(batch_size=0), "10:19", "batch_size must be a positive integer, got 0"),
    (dict(extra="  update_freq: 0.5\n"), "3:16", "Global.update_freq must be a positive integer, got 0.5"),
    (dict(extra="  iter_per_epoch: [3]\n"), "3:19", "Global.iter_per_epoch must be a positive integer, got [3]"),
    (dict(batch_size=64, drop_last=True), "10:19", "no full batch per epoch"),
    (dict(start=200), "20:26", "drw_start_epoch 200 is after the last epoch, Global.epochs 120"),
], ids=["batch-0", "update-freq-0.5", "iter-per-epoch-list", "drop-last-big-batch", "start-after-epochs"])
def test_schedule_problems_are_the_same_lines_in_gen_and_validate(tmp_path, monkeypatch, case, where, words):
    config = schedule_case(tmp_path, **case)
    monkeypatch.chdir(tmp_path)
    before = config.read_bytes()
    gen = CliRunner().invoke(cli, ["gen", "--config", "cfg.yaml", "--drw-epoch", str(case.get("start", 100)),
                                   "--write"])
    checked = CliRunner().invoke(cli, ["validate", "cfg.yaml"])
    line = gen.stderr.strip()
    assert gen.exit_code == 1 and checked.exit_code == 1
    assert line.startswith(f"cfg.yaml:{where}: error: ") and words in line and line.endswith("[csce-drw-schedule]")
    assert checked.stdout.strip() == line  # the same rule, place and message
    assert config.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["cfg.yaml", "train.txt"]


def test_gen_recomputes_iters_per_epoch_of_an_existing_drw_entry(tmp_path, monkeypatch):
    config = schedule_case(tmp_path)
    monkeypatch.chdir(tmp_path)
    write_list(tmp_path / "train.txt", [8, 4, 4])  # 16 images in batches of 4: 4 iterations, not 3
    result = run("--config", "cfg.yaml", "--write")
    assert result.exit_code == 0, result.stderr
    train = loss_entry(yaml.safe_load(config.read_text()))[1]
    assert (train["drw_start_epoch"], train["iters_per_epoch"], train["num_class_list"]) == (100, 4, [8, 4, 4])


@pytest.mark.parametrize("entry, where, words, rule", [
    ("- CELoss: {}", "6:7", "CELoss has no weight", "loss-shape"),
    ("- FocalLoss: {weight: 1.0}", "5:3", "Loss.Train has FocalLoss but no CELoss, CostSensitiveCE", "gen-loss"),
])
def test_refused_entries_give_the_reason_and_write_nothing(tmp_path, entry, where, words, rule):
    config = tmp_path / "cfg.yaml"
    config.write_bytes(f"Arch:\n  name: R\n  class_num: 2\nLoss:\n  Train:\n    {entry}\n".encode())
    before = config.read_bytes()
    listing = write_list(tmp_path / "l.txt", [3, 1])
    result = run("--train-list", str(listing), "--config", str(config), "--write")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"{config}:{where}: error: ") and words in result.stderr
    assert result.stderr.endswith(f" [{rule}]\n") and result.stderr.count("\n") == 1
    assert config.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg.yaml", "l.txt"]


@pytest.mark.parametrize("loss", [
    "    - CELoss: {weight: 1.0,}\n",
    "    - CELoss: {\n        weight: 1.0  # why\n      }\n",
    "    - CELoss:\n        weight: 1.0\n        reduction: |-\n          mean\n",
    "    - CostSensitiveCE:\n        weight: 1.0\n        gamma: 0.5\n        num_class_list: &counts [1, 1]\n"
    "  Eval:\n    - CostSensitiveCE:\n        weight: 1.0\n        num_class_list: *counts\n",
], ids=["trailing-comma", "multi-line-flow-comment", "block-scalar-last", "shared-counts-anchor"])
def test_hard_entries_are_edited_into_configs_validate_accepts(tmp_path, loss):
    config = tmp_path / "cfg.yaml"
    config.write_text(f"Arch:\n  name: R\n  class_num: 2\nLoss:\n  Train:\n{loss}Other: 1\n")
    listing = write_list(tmp_path / "l.txt", [3, 1])
    result = run("--train-list", str(listing), "--config", str(config), "--write")  # run() validates the result
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(config.read_text())
    for section in data["Loss"]:
        assert loss_entry(data, section)[1]["num_class_list"] == [3, 1]
    assert data["Other"] == 1


def test_class_num_sets_the_config_class_count_and_validate_accepts_it(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_bytes((EXAMPLES / "ResNet18_longtail.yaml").read_bytes())
    listing = write_list(tmp_path / "six.txt", [9, 7, 5, 4, 3, 2])
    refused = run("--train-list", str(listing), "--config", str(config), "--write")
    line = refused.stderr.strip()
    assert refused.exit_code == 1 and line.startswith(f"{config}:19:14: error: Arch.class_num is 10, but {listing} "
                                                       "has labels 0..5")
    assert "--class-num 6 (gen --write sets Arch.class_num too)" in line and line.endswith("[csce-class-count]")
    result = run("--train-list", str(listing), "--config", str(config), "--class-num", "6", "--write")
    assert result.exit_code == 0, result.stderr
    assert f"{config}:19:14: note: --class-num 6: Arch.class_num set from 10 to 6\n" in result.stderr
    data = yaml.safe_load(config.read_text())
    assert data["Arch"]["class_num"] == 6 and loss_entry(data)[1]["num_class_list"] == [9, 7, 5, 4, 3, 2]


def test_config_list_is_read_from_cls_label_path_under_data_root(tmp_path):
    root = tmp_path / "data"
    (root / "examples").mkdir(parents=True)
    write_list(root / "examples" / "train_list.txt", [5, 4, 3, 2, 2, 2, 2, 2, 2, 1])
    config = tmp_path / "cfg.yaml"
    config.write_bytes((EXAMPLES / "ResNet18_longtail.yaml").read_bytes())
    result = run("--config", str(config), "--data-root", str(root), "-o", str(tmp_path / "out.yaml"))
    assert result.exit_code == 0, result.stderr
    assert f"note: counting {root / 'examples' / 'train_list.txt'}, the config's cls_label_path" in result.stderr
    assert loss_entry(yaml.safe_load((tmp_path / "out.yaml").read_text()))[1]["num_class_list"][0] == 5
    other = run("--config", str(config), "--data-root", str(root), "--train-list", str(EXAMPLES / "train_list.txt"))
    assert other.exit_code == 0
    assert f"{config}: warning: the counts come from {EXAMPLES / 'train_list.txt'}, but the config trains on" in other.stderr
    missing = run("--config", str(config), "--data-root", str(tmp_path))
    assert missing.exit_code == 1 and "give --train-list LIST" in missing.stderr and "[input]" in missing.stderr


def test_the_same_list_twice_is_an_error(long_tail_list):
    result = run("--train-list", str(long_tail_list), "--train-list", str(long_tail_list))
    assert result.exit_code == 1 and "given twice: every count would double [input]" in result.stderr and result.stdout == ""


def test_a_list_named_with_a_newline_stays_in_the_comment(tmp_path):
    listing = write_list(tmp_path / "a\nLoss: {}\nx.txt", [3, 1])
    result = run("--train-list", str(listing))
    assert result.exit_code == 0
    assert list(yaml.safe_load(result.stdout)) == ["Loss"]
    assert "a\\nLoss: {}\\nx.txt" in result.stdout.splitlines()[1]


def test_a_list_name_that_is_not_utf8_is_escaped(tmp_path):
    name = os.fsdecode(b"bad-\xff.txt")
    listing = write_list(tmp_path / name, [3, 1])
    block = subprocess.run([sys.executable, "-m", "ppcls_csce", "gen", "--train-list", str(listing)],
                           capture_output=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert block.returncode == 0, block.stderr
    assert b"bad-\\xff.txt" in block.stdout
    missing = subprocess.run([sys.executable, "-m", "ppcls_csce", "gen", "--train-list", str(tmp_path / os.fsdecode(b"no-\xfe"))],
                             capture_output=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert missing.returncode == 1 and b"no-\\xfe" in missing.stderr and b"Traceback" not in missing.stderr


def test_delimiter_that_is_no_string_is_refused(tmp_path):
    config = tmp_path / "cfg.yaml"
    text = (EXAMPLES / "ResNet18_longtail.yaml").read_text()
    config.write_text(text.replace("      name: ImageNetDataset\n", "      name: ImageNetDataset\n      delimiter: 3\n", 1))
    result = run("--train-list", str(EXAMPLES / "train_list.txt"), "--config", str(config), "--write")
    assert result.exit_code == 1 and result.stderr.strip().endswith("[dataset-delimiter]")


def test_a_gamma_that_underflows_float32_is_a_warning(tmp_path):
    listing = write_list(tmp_path / "l.txt", [1000, 1])
    config = tmp_path / "cfg.yaml"
    config.write_bytes((EXAMPLES / "ResNet18_longtail.yaml").read_bytes().replace(b"class_num: 10", b"class_num: 2"))
    result = run("--train-list", str(listing), "--config", str(config), "--gamma", "20", "-o", str(tmp_path / "o.yaml"))
    assert result.exit_code == 0
    assert "warning: gamma 20.0 makes the weight of class 0" in result.stderr and "[csce-weight-underflow]" in result.stderr


def test_drw_with_a_sampler_gen_cannot_derive_is_refused(tmp_path, monkeypatch):
    config = schedule_case(tmp_path)
    config.write_text(config.read_text().replace("name: DistributedBatchSampler", "name: PKSampler"))
    monkeypatch.chdir(tmp_path)
    before = config.read_bytes()
    result = run("--config", "cfg.yaml", "--drw-epoch", "10", "--write")
    assert result.exit_code == 1 and config.read_bytes() == before
    assert result.stderr == ("cfg.yaml:9:13: error: the train sampler is PKSampler, whose batches per epoch this tool "
                             "cannot derive; set Global.iter_per_epoch [csce-drw-schedule]\n")


# --- gen --loss: the three count-driven losses ------------------------------------------------------------------

LOSS_CASES = [
    # --loss, strength option, value, class name, per-class values from the counts [9, 3, 1]
    ("csce", "--gamma", "0.5", "CostSensitiveCE", "gamma"),
    ("balanced-softmax", "--tau", "0.5", "BalancedSoftmaxCE", "tau"),
    ("class-balanced", "--beta", "0.99", "ClassBalancedCE", "beta"),
]


@pytest.mark.parametrize("loss, option, value, name, key", LOSS_CASES)
def test_block_per_loss(tmp_path, loss, option, value, name, key):
    listing = write_list(tmp_path / "l.txt", [9, 3, 1])
    result = run("--train-list", str(listing), "--loss", loss, option, value)
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    for section in ("Train", "Eval"):
        assert data["Loss"][section] == [{name: {"weight": 1.0, key: float(value), "num_class_list": [9, 3, 1]}}]
    assert result.stdout.startswith(f"# {name} (")
    assert f"({key} {float(value):g})" in result.stderr


@pytest.mark.parametrize("loss, option, value, name, key", LOSS_CASES)
def test_config_celoss_becomes_each_loss_and_validate_accepts_it(tmp_path, loss, option, value, name, key):
    config = tmp_path / "cfg.yaml"
    config.write_bytes((EXAMPLES / "ResNet18_longtail.yaml").read_bytes())
    listing = str(EXAMPLES / "train_list.txt")
    result = run("--train-list", listing, "--config", str(config), "--write", "--loss", loss, option, value,
                 "--drw-epoch", "3")  # run() validates the result
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(config.read_text())
    (got, train), = data["Loss"]["Train"][0].items()
    assert got == name and train[key] == float(value) and train["drw_start_epoch"] == 3
    assert train["iters_per_epoch"] == math.ceil(2480 / 64)
    assert sum(train["num_class_list"]) == 2480
    others = {"gamma", "tau", "beta"} - {key}
    assert not others & set(train)
    (eval_name, eval_values), = data["Loss"]["Eval"][0].items()
    assert eval_name == name and "drw_start_epoch" not in eval_values


def test_an_existing_entry_is_converted_to_the_loss_named_and_its_strength_key_renamed(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text("Arch:\n  name: R\n  class_num: 3\nLoss:\n  Train:\n    - CostSensitiveCE:\n        weight: 2.0\n"
                      "        gamma: 0.5   # tuned\n        epsilon: 0.1\n        num_class_list: [1, 1, 1]\n"
                      "  Eval:\n    - CostSensitiveCE: {weight: 1.0, gamma: 0.5, num_class_list: [1, 1, 1]}\n")
    listing = write_list(tmp_path / "l.txt", [9, 3, 1])
    result = run("--train-list", str(listing), "--config", str(config), "--write", "--loss", "balanced-softmax")
    assert result.exit_code == 0, result.stderr
    text = config.read_text()
    assert "tau: 1.0   # tuned" in text  # the key and value replaced in place, the comment kept
    data = yaml.safe_load(text)
    assert data["Loss"]["Train"] == [{"BalancedSoftmaxCE": {"weight": 2.0, "tau": 1.0, "epsilon": 0.1,
                                                            "num_class_list": [9, 3, 1]}}]
    assert data["Loss"]["Eval"] == [{"BalancedSoftmaxCE": {"weight": 1.0, "tau": 1.0, "num_class_list": [9, 3, 1]}}]
    # without --loss the entry keeps its loss, and its tau when --tau is not given
    again = run("--train-list", str(write_list(tmp_path / "m.txt", [8, 3, 1])), "--config", str(config), "--write")
    assert again.exit_code == 0, again.stderr
    (name, values), = yaml.safe_load(config.read_text())["Loss"]["Train"][0].items()
    assert name == "BalancedSoftmaxCE" and values["tau"] == 1.0 and values["num_class_list"] == [8, 3, 1]


@pytest.mark.parametrize("args, words", [
    (("--loss", "balanced-softmax", "--gamma", "1"), "--gamma does not apply to --loss balanced-softmax"),
    (("--tau", "1"), "--tau does not apply to --loss csce"),
    (("--loss", "class-balanced", "--beta", "1"), "beta must be in [0, 1)"),
    (("--loss", "focal",), "Invalid value for '--loss'"),
])
def test_a_strength_option_of_another_loss_is_a_usage_error(tmp_path, args, words):
    listing = write_list(tmp_path / "l.txt", [9, 3, 1])
    result = run("--train-list", str(listing), *args)
    assert result.exit_code == 2 and words in result.stderr and result.stdout == ""


# --- gen --sampler, gen --metric -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, keys", [
    ("power", {"power": 1.0}), ("sqrt", {"power": 0.5}), ("balanced", {"power": 0.0}),
    ("progressive", {"progressive": True, "total_epochs": 90}),  # Global.epochs: PaddleClas < 2.5.1 does not fill it
])
def test_sampler_becomes_a_long_tail_sampler_keeping_its_batch_keys(tmp_path, kind, keys):
    config = tmp_path / "cfg.yaml"
    config.write_bytes((EXAMPLES / "ResNet18_longtail.yaml").read_bytes())
    before = yaml.safe_load(config.read_text())["DataLoader"]["Train"]["sampler"]
    result = run("--train-list", str(EXAMPLES / "train_list.txt"), "--config", str(config), "--write",
                 "--sampler", kind, "--sampler-epoch", "2", "--drw-epoch", "2")  # run() validates the result
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(config.read_text())
    sampler = data["DataLoader"]["Train"]["sampler"]
    assert sampler == {"name": "LongTailSampler", "batch_size": before["batch_size"], "drop_last": before["drop_last"],
                       "shuffle": True, "start_epoch": 2, **keys}
    # LongTailSampler's len() is DistributedBatchSampler's: iters_per_epoch as before
    assert loss_entry(data)[1]["iters_per_epoch"] == math.ceil(2480 / 64)
    assert data["DataLoader"]["Eval"]["sampler"]["name"] == "DistributedBatchSampler"


def test_progressive_over_a_power_sampler_clears_power(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_bytes((EXAMPLES / "ResNet18_longtail.yaml").read_bytes())
    listing = str(EXAMPLES / "train_list.txt")
    assert run("--train-list", listing, "--config", str(config), "--write", "--sampler", "sqrt").exit_code == 0
    assert run("--train-list", listing, "--config", str(config), "--write", "--sampler", "progressive").exit_code == 0
    sampler = yaml.safe_load(config.read_text())["DataLoader"]["Train"]["sampler"]
    assert sampler["progressive"] is True and sampler["power"] is None


def test_metric_adds_long_tail_acc_first_and_keeps_the_others(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_bytes((EXAMPLES / "ResNet18_longtail.yaml").read_bytes())
    before = yaml.safe_load(config.read_text())["Metric"]
    listing = str(EXAMPLES / "train_list.txt")
    result = run("--train-list", listing, "--config", str(config), "--write", "--metric")
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load(config.read_text())
    counts = loss_entry(data)[1]["num_class_list"]
    assert data["Metric"]["Eval"] == [{"LongTailAcc": {"num_class_list": counts}}] + before["Eval"]
    assert data["Metric"]["Train"] == before["Train"]
    once = config.read_bytes()
    assert run("--train-list", listing, "--config", str(config), "--write", "--metric").exit_code == 0
    assert config.read_bytes() == once  # updated in place, not added twice


def test_metric_into_a_flow_list_and_stale_metric_counts_updated(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text("Arch:\n  name: R\n  class_num: 3\nLoss:\n  Train:\n    - CELoss: {weight: 1.0}\n"
                      "Metric:\n  Eval: [{TopkAcc: {topk: [1, 5]}}]\n")
    listing = write_list(tmp_path / "l.txt", [9, 3, 1])
    assert run("--train-list", str(listing), "--config", str(config), "--write", "--metric").exit_code == 0
    assert yaml.safe_load(config.read_text())["Metric"]["Eval"] == [
        {"LongTailAcc": {"num_class_list": [9, 3, 1]}}, {"TopkAcc": {"topk": [1, 5]}}]
    listing = write_list(tmp_path / "m.txt", [7, 3, 1])
    assert run("--train-list", str(listing), "--config", str(config), "--write", "--metric").exit_code == 0
    assert yaml.safe_load(config.read_text())["Metric"]["Eval"][0] == {"LongTailAcc": {"num_class_list": [7, 3, 1]}}


@pytest.mark.parametrize("args, words", [
    (("--sampler", "sqrt"), "--sampler needs --config"),
    (("--metric",), "--metric needs --config"),
    (("--sampler-epoch", "2"), "--sampler-epoch needs --sampler"),
])
def test_sampler_and_metric_usage_errors(tmp_path, args, words):
    result = run("--train-list", str(write_list(tmp_path / "l.txt", [3, 1])), *args)
    assert result.exit_code == 2 and words in result.stderr


@pytest.mark.parametrize("option, rule", [("--sampler", "sampler-params"), ("--metric", "metric-params")])
def test_sampler_or_metric_without_the_block_to_edit_is_refused(tmp_path, option, rule):
    config = tmp_path / "cfg.yaml"
    config.write_text("Arch:\n  name: R\n  class_num: 2\nLoss:\n  Train:\n    - CELoss: {weight: 1.0}\n")
    before = config.read_bytes()
    args = (option, "sqrt") if option == "--sampler" else (option,)
    result = run("--train-list", str(write_list(tmp_path / "l.txt", [3, 1])), "--config", str(config), "--write", *args)
    assert result.exit_code == 1 and f"[{rule}]" in result.stderr and config.read_bytes() == before


def test_an_existing_long_tail_acc_gets_new_counts_without_metric(tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text("Arch:\n  name: R\n  class_num: 3\nLoss:\n  Train:\n    - CELoss: {weight: 1.0}\n"
                      "Metric:\n  Eval:\n    - TopkAcc: {topk: [1, 5]}\n    - LongTailAcc: {num_class_list: [1, 1, 1]}\n")
    listing = write_list(tmp_path / "l.txt", [9, 3, 1])
    assert run("--train-list", str(listing), "--config", str(config), "--write").exit_code == 0
    assert yaml.safe_load(config.read_text())["Metric"]["Eval"] == [
        {"TopkAcc": {"topk": [1, 5]}}, {"LongTailAcc": {"num_class_list": [9, 3, 1]}}]


# --- DRW by default (issue 15.6: the paper's reference code and our Fashion-MNIST run both favour it) -------------

DRW_CONFIG = (
    "Global:\n  epochs: 15\nDataLoader:\n  Train:\n    dataset: {name: ImageNetDataset, cls_label_path: l.txt}\n"
    "    sampler: {name: DistributedBatchSampler, batch_size: 4, drop_last: False}\n"
    "Loss:\n  Train:\n    - CELoss: {weight: 1.0}\n  Eval:\n    - CELoss: {weight: 1.0}\n"
)


def drw_case(tmp_path: Path, text: str = DRW_CONFIG) -> Tuple[Path, str]:
    config = tmp_path / "cfg.yaml"
    config.write_text(text)
    return config, str(write_list(tmp_path / "l.txt", [9, 3, 1]))  # 13 images: ceil(13 / 4) = 4 steps an epoch


def test_a_converted_celoss_is_deferred_by_default(tmp_path):
    config, listing = drw_case(tmp_path)
    result = run("--train-list", listing, "--config", str(config), "-o", str(tmp_path / "out.yaml"))
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load((tmp_path / "out.yaml").read_text())
    assert loss_entry(data)[1] == {"weight": 1.0, "gamma": 1.0, "num_class_list": [9, 3, 1],
                                   "drw_start_epoch": 13, "iters_per_epoch": 4}  # 12 plain epochs of 15
    assert "drw_start_epoch" not in loss_entry(data, "Eval")[1]
    assert result.stderr.count("CS_CE from epoch 13 (4 iterations per epoch on 1 card): gen's default") == 1


@pytest.mark.parametrize("loss, name", [("class-balanced", "ClassBalancedCE"), ("csce", "CostSensitiveCE")])
def test_each_reweighting_loss_is_deferred_and_balanced_softmax_is_not(tmp_path, loss, name):
    config, listing = drw_case(tmp_path)
    for chosen, deferred in ((loss, True), ("balanced-softmax", False)):
        out = tmp_path / f"{chosen}.yaml"
        result = run("--train-list", listing, "--config", str(config), "--loss", chosen, "-o", str(out))
        assert result.exit_code == 0, result.stderr
        values = loss_entry(yaml.safe_load(out.read_text()))[1]
        assert ("drw_start_epoch" in values) is deferred, (chosen, values)
        assert ("gen's default" in result.stderr) is deferred


def test_drw_epoch_1_writes_no_drw_and_says_so(tmp_path):
    config, listing = drw_case(tmp_path)
    result = run("--train-list", listing, "--config", str(config), "--drw-epoch", "1", "--write")
    assert result.exit_code == 0, result.stderr
    values = loss_entry(yaml.safe_load(config.read_text()))[1]
    assert values == {"weight": 1.0, "gamma": 1.0, "num_class_list": [9, 3, 1]}
    assert "note: --drw-epoch 1: CS_CE from the first epoch, no DRW" in result.stderr
    once = config.read_bytes()  # a second run has a CostSensitiveCE entry now: it keeps it as it is, no default DRW
    again = run("--train-list", listing, "--config", str(config), "--write")
    assert again.exit_code == 0 and config.read_bytes() == once and "DRW" not in again.stderr


def test_drw_epoch_1_sets_an_existing_switch_to_the_first_epoch(tmp_path):
    config, listing = drw_case(tmp_path, DRW_CONFIG.replace(
        "- CELoss: {weight: 1.0}\n  Eval", "- CostSensitiveCE: {weight: 1.0, gamma: 1.0, num_class_list: [1, 1, 1], "
        "drw_start_epoch: 13, iters_per_epoch: 4}\n  Eval"))
    result = run("--train-list", listing, "--config", str(config), "--drw-epoch", "1", "--write")
    assert result.exit_code == 0, result.stderr
    assert loss_entry(yaml.safe_load(config.read_text()))[1]["drw_start_epoch"] == 1
    assert "drw_start_epoch 1, CS_CE from the first epoch" in result.stderr


@pytest.mark.parametrize("edit, why", [
    (("  epochs: 15\n", ""), "(no Global.epochs)"),
    (("epochs: 15", "epochs: 1"), "(Global.epochs is 1)"),
    (("name: DistributedBatchSampler", "name: PKSampler"), "(the train sampler is PKSampler, whose batches per epoch"),
])
def test_no_default_drw_without_a_schedule_and_the_user_is_told(tmp_path, edit, why):
    config, listing = drw_case(tmp_path, DRW_CONFIG.replace(*edit))
    result = run("--train-list", listing, "--config", str(config), "-o", str(tmp_path / "out.yaml"))
    assert result.exit_code == 0, result.stderr
    assert "drw_start_epoch" not in loss_entry(yaml.safe_load((tmp_path / "out.yaml").read_text()))[1]
    assert f"cfg.yaml: note: CS_CE from the first epoch, not deferred as gen does by default {why}" in result.stderr


def test_the_standalone_block_advises_drw(long_tail_list):
    result = run("--train-list", str(long_tail_list))
    assert result.exit_code == 0
    assert "note: CS_CE from the first epoch: deferred re-weighting" in result.stderr
    assert "deferred" not in run("--train-list", str(long_tail_list), "--loss", "balanced-softmax").stderr


@pytest.mark.parametrize("epochs, start", [(200, 161), (90, 73), (15, 13), (10, 9), (5, 5), (2, 2), (1, 1)])
def test_default_start_epoch(epochs, start):
    from ppcls_csce.drw import default_start_epoch
    assert default_start_epoch(epochs) == start


def test_summary_describes_the_entry_as_written(tmp_path):
    """Without --gamma an existing entry keeps its gamma; the summary line must show that gamma, not the default."""
    config, listing = drw_case(tmp_path, DRW_CONFIG.replace(
        "- CELoss: {weight: 1.0}\n  Eval", "- CostSensitiveCE: {weight: 1.0, gamma: 0.5, num_class_list: [1, 1, 1]}\n  Eval"))
    result = run("--train-list", listing, "--config", str(config), "-o", str(tmp_path / "out.yaml"))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[-2:] == [  # weights (1/9)^0.5 .. 1
        "3 classes, 13 samples, imbalance ratio 9 (N_max 9 / N_min 1), weights 0.3333 .. 1 (gamma 0.5)",
        f"wrote {tmp_path / 'out.yaml'}"]
    kept = DRW_CONFIG.replace("- CELoss: {weight: 1.0}\n  Eval",
                              "- BalancedSoftmaxCE: {weight: 1.0, tau: 0.5, num_class_list: [1, 1, 1]}\n  Eval")
    config.write_text(kept)
    result = run("--train-list", listing, "--config", str(config), "-o", str(tmp_path / "out.yaml"))
    assert "adjustments 0 .. 1.099 (tau 0.5)" in result.stderr  # 0.5 * log 9 = 1.0986


def test_balanced_softmax_into_a_label_smoothed_config_is_a_warning(tmp_path):
    listing = write_list(tmp_path / "l.txt", [100] + [1] * 9)
    config = tmp_path / "cfg.yaml"
    config.write_bytes((EXAMPLES / "ResNet18_longtail.yaml").read_bytes())
    args = ("--train-list", str(listing), "--config", str(config), "--loss", "balanced-softmax")
    smoothed = run(*args, "-o", str(tmp_path / "smoothed.yaml"))
    assert smoothed.exit_code == 0 and "epsilon: 0.1" in (tmp_path / "smoothed.yaml").read_text()
    assert "margin of at most log(1 + K (1 - epsilon) / epsilon) = 4.51" in smoothed.stderr
    assert smoothed.stderr.count("[balanced-softmax-smoothing]") == 1
    milder = run(*args, "--tau", "0.9", "-o", str(tmp_path / "milder.yaml"))
    assert milder.exit_code == 0 and "[balanced-softmax-smoothing]" not in milder.stderr
