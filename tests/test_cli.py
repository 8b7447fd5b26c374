"""The command line as a whole: entry points, help, exit codes, and no paddle on the config path."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from ppcls_csce import __version__
from ppcls_csce.cli import cli, main

from conftest import EXAMPLES, REPO


def test_version_and_help_list_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("gen", "stats", "validate", "install", "uninstall", "smoke"):
        assert f"  {command}" in result.output
    from ppcls_csce.scanner import COMPILED

    shown = CliRunner().invoke(cli, ["--version"]).output
    assert shown.startswith(f"csce-config {__version__} (list scanner: {'compiled' if COMPILED else 'pure Python'}")


def test_version_says_when_the_list_scanner_is_pure_python(monkeypatch):
    from ppcls_csce import scanner

    monkeypatch.setattr(scanner, "COMPILED", False)
    assert "list scanner: pure Python" in CliRunner().invoke(cli, ["--version"]).output


def test_main_returns_exit_codes_like_the_console_script(tmp_path):
    assert main(["gen", "--train-list", str(EXAMPLES / "train_list.txt")]) == 0
    assert main(["gen", "--train-list", str(tmp_path / "missing.txt")]) == 1
    assert main(["gen"]) == 2  # --train-list (or --config) is required
    assert main(["no-such-command"]) == 2


@pytest.mark.parametrize(
    "args",
    [
        ["gen", "--train-list", "examples/train_list.txt", "--config", "examples/ResNet18_longtail.yaml"],
        ["stats", "--train-list", "examples/train_list.txt", "--format", "json"],
        ["validate", "examples/ResNet18_longtail.yaml", "--train-list", "examples/train_list.txt"],
    ],
    ids=lambda args: args[0],
)
def test_config_commands_never_import_paddle_or_numpy(args):
    """Start-up time is most of what these commands cost: numpy alone would add about 0.1 s."""
    code = (
        "import sys, runpy\nsys.argv = ['csce-config'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('ppcls_csce', run_name='__main__')\nexcept SystemExit as done:\n    code = done.code\n"
        "print(sorted(m for m in ('paddle', 'numpy') if m in sys.modules), code, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "[] 0", done.stderr


# --- the real console entry on bad input: exit code and exactly the located lines, never a traceback --------------

import os  # noqa: E402
from pathlib import Path  # noqa: E402

DRW_CONFIG = """Global:
  epochs: 120
DataLoader:
  Train:
    dataset:
      name: ImageNetDataset
      cls_label_path: ./train.txt
    sampler:
      name: DistributedBatchSampler
      batch_size: 0
Arch:
  name: ResNet18
  class_num: 2
Loss:
  Train:
    - CostSensitiveCE:
        weight: 1.0
        num_class_list: [3, 1]
        drw_start_epoch: 100
        iters_per_epoch: 3
"""


def console(args, cwd: Path, code: str = ""):
    """`python -m ppcls_csce ARGS` in a fresh process (optionally after `code`), as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if code:
        command = [sys.executable, "-c", code + "\nfrom ppcls_csce.cli import main\nraise SystemExit(main(sys.argv[1:]))",
                   *args]
    else:
        command = [sys.executable, "-m", "ppcls_csce", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "train.txt").write_text("a.jpg 0\nb.jpg 0\nc.jpg 0\nd.jpg 1\n")
    (tmp_path / "drw.yaml").write_text(DRW_CONFIG)
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "celoss.yaml").write_text("Arch:\n  name: R\n  class_num: 2\nLoss:\n  Train:\n    - CELoss: {}\n")
    return tmp_path


BATCH_0 = "drw.yaml:10:19: error: DataLoader.Train.sampler.batch_size must be a positive integer, got 0 [csce-drw-schedule]"
NO_WEIGHT = "celoss.yaml:6:7: error: CELoss has no weight: PaddleClas's build_loss requires one in every loss entry [loss-shape]"


@pytest.mark.parametrize("args, stdout_lines, stderr_lines", [
    (["gen", "--config", "drw.yaml", "--write"], [], [BATCH_0]),
    (["validate", "drw.yaml"], [BATCH_0], []),
    (["gen", "--config", "celoss.yaml", "--train-list", "train.txt", "--write"], [], [NO_WEIGHT]),
    (["validate", "celoss.yaml"], [NO_WEIGHT], []),
    (["stats", "--train-list", "missing.txt"], [], ["missing.txt: error: no such file [input]"]),
    (["stats", "--train-list", "empty.txt"],
     [], ["empty.txt: error: no samples: the list is empty (or has only blank lines) [list-classes]"]),
    (["gen", "--train-list", "train.txt", "--class-num", "3"], [],
     ["train.txt: error: class 2 of 3 has no training images in it: the weight would be infinite (--class-num sets K; "
      "fix the list or --class-num, or pass --clamp-empty to count them as 1 image) [list-classes]"]),
], ids=["gen-batch-0", "validate-batch-0", "gen-no-weight", "validate-no-weight", "stats-missing", "stats-empty",
        "gen-empty-class"])
def test_bad_input_gives_exactly_its_located_lines(workdir, args, stdout_lines, stderr_lines):
    before = {path.name: path.read_bytes() for path in workdir.iterdir()}
    done = console(args, workdir)
    assert done.returncode == 1
    assert done.stderr.splitlines() == stderr_lines
    assert done.stdout.splitlines() == stdout_lines
    assert {path.name: path.read_bytes() for path in workdir.iterdir()} == before  # nothing written


@pytest.mark.paddle
def test_smoke_reports_the_config_problem_like_validate(workdir):
    done = console(["smoke", "--config", "celoss.yaml"], workdir)
    smoke_loss = ("celoss.yaml:5:3: error: Loss.Train has CELoss but none of CostSensitiveCE, ClassBalancedCE, "
                  "BalancedSoftmaxCE; add one with: csce-config gen "
                  "--config celoss.yaml --write [smoke-loss]")
    assert (done.returncode, done.stdout, done.stderr.splitlines()) == (1, "", [smoke_loss, NO_WEIGHT])


def test_ctrl_c_exits_130(workdir):
    code = ("import sys, ppcls_csce.weights as weights\n"
            "def interrupted(*args, **kwargs):\n    raise KeyboardInterrupt\n"
            "weights.scan_lists = interrupted")
    done = console(["gen", "--train-list", "train.txt"], workdir, code)
    assert done.returncode == 130 and "Traceback" not in done.stderr and "interrupted" in done.stderr


def test_help_shows_the_workflow_in_order_and_no_module_names():
    done = CliRunner().invoke(cli, ["--help"])
    listed = [line.split()[0] for line in done.output.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == ["stats", "gen", "install", "validate", "smoke", "adjust", "report", "uninstall"]
    workflow = done.output.split("Example:")[0]
    assert [workflow.index(f"  {step}") for step in ("1. stats", "2. gen", "3. install", "4. validate", "5. smoke",
                                                     "6. train")] == sorted(workflow.index(f"  {step}") for step in (
        "1. stats", "2. gen", "3. install", "4. validate", "5. smoke", "6. train"))
    for command in ("", "gen", "stats", "validate", "smoke", "install", "uninstall"):
        text = CliRunner().invoke(cli, [command, "--help"] if command else ["--help"]).output
        assert ".py)" not in text and "(gen.py" not in text, command


def test_command_help_states_defaults_and_exclusions():
    gen_help = " ".join(CliRunner().invoke(cli, ["gen", "--help"]).output.split())
    assert "to stdout" in gen_help and "Excludes -o" in gen_help and "Excludes --write" in gen_help
    smoke_help = " ".join(CliRunner().invoke(cli, ["smoke", "--help"]).output.split())
    assert "exactly one of --config, --class-num, --train-list" in smoke_help
    stats_help = " ".join(CliRunner().invoke(cli, ["stats", "--help"]).output.split())
    assert "(default: one space)" in stats_help and "the config's" not in stats_help.split("--delimiter")[1][:80]
