"""Hostile moments and names: Ctrl-C in the middle of a write, a closed or broken standard output, file names
at the 255-byte limit and paths with spaces, an __init__.py the user rearranged. Each runs the real command
(a subprocess where a signal or a file descriptor is involved)."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from ppcls_csce.atomic import write_atomic

from conftest import python_cli, write_list
from test_install import LOSS_INIT, make_checkout, run as run_cli, snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "validate"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
POSIX = pytest.mark.skipif(os.name != "posix", reason="sends SIGINT and closes file descriptors (POSIX only)")

# Runs the CLI announcing each step of a file change on stderr as `@@ step` (before the bytes go to the temporary
# file, after the rename, after a removal); at the step numbered by its first argument it waits there (up to a
# minute), so the test presses Ctrl-C at exactly that moment, however slow the machine.
DRIVER = r'''
import sys, time
from ppcls_csce import atomic, install
target, seen = int(sys.argv[1]), [0]
def announce(what):
    seen[0] += 1
    sys.stderr.write("@@ " + what + "\n"); sys.stderr.flush()
    if seen[0] == target:
        time.sleep(60)
real_write, real_rename, real_remove = atomic._write_all, atomic._rename, install._remove
def write_all(fd, data):
    announce("write"); real_write(fd, data)
def rename(tmp, target):
    real_rename(tmp, target); announce("renamed")
def remove(path):
    real_remove(path); announce("removed")
atomic._write_all, atomic._rename, install._remove = write_all, rename, remove
from ppcls_csce.cli import main
sys.exit(main(sys.argv[2:]))
'''


def interrupted_at(step: int, *args: str) -> subprocess.CompletedProcess:
    """The command, with SIGINT sent while it waits at its `step`-th announced step (1-based)."""
    process = subprocess.Popen([sys.executable, "-c", DRIVER, str(step), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    seen, lines = 0, []
    for line in process.stderr:
        lines.append(line)
        if line.startswith("@@ "):
            seen += 1
            if seen == step:
                process.send_signal(signal.SIGINT)
                break
    out, err = process.communicate(timeout=120)
    assert seen == step, f"only {seen} steps: {''.join(lines) + err}"
    return subprocess.CompletedProcess(process.args, process.returncode, out, "".join(lines) + err)


def steps(*args: str) -> int:
    """How many steps the command announces when left alone (it must succeed)."""
    done = subprocess.run([sys.executable, "-c", DRIVER, "0", *args], capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    return sum(line.startswith("@@ ") for line in done.stderr.splitlines())


def tree(root: Path) -> Dict[str, tuple]:
    """Every file under root (temporary files included) with its bytes and mode bits."""
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode & 0o7777)
            for p in sorted(root.rglob("*")) if p.is_file()}


def assert_interrupted_cleanly(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 130, done.stderr
    assert "csce-config: interrupted" in done.stderr and "Traceback" not in done.stderr


# --- Ctrl-C at any moment leaves every file as it was, exit 130 -----------------------------------------------


@POSIX
def test_ctrl_c_during_install_leaves_the_checkout_as_it_was(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "Paddle Clas")  # a space in the path, too
    os.chmod(checkout / "ppcls/loss/__init__.py", 0o640)
    before = tree(checkout)
    args = ("install", "--paddleclas", str(checkout))
    total = steps(*args)
    assert total == 12  # 3 files and 3 imports, each: write, renamed
    shutil.rmtree(checkout)
    for step in (1, 2, 7, total):  # before the first byte, after the first rename, mid-way, after the last rename
        make_checkout(checkout)
        os.chmod(checkout / "ppcls/loss/__init__.py", 0o640)
        assert_interrupted_cleanly(interrupted_at(step, *args))
        assert tree(checkout) == before, f"step {step}"
        shutil.rmtree(checkout)


@POSIX
def test_ctrl_c_during_uninstall_leaves_the_checkout_installed(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "PaddleClas")
    args = ("uninstall", "--paddleclas", str(checkout))
    assert run_cli("install", "--paddleclas", str(checkout)).exit_code == 0
    installed = tree(checkout)
    assert steps(*args) == 9  # 3 imports out (write, renamed), then 3 files removed
    for step in (2, 6, 7, 9):
        assert run_cli("install", "--paddleclas", str(checkout)).exit_code == 0
        assert tree(checkout) == installed
        assert_interrupted_cleanly(interrupted_at(step, *args))
        assert tree(checkout) == installed, f"step {step}"


@POSIX
def test_ctrl_c_during_gen_write_and_validate_fix_leaves_the_configs_as_they_were(tmp_path: Path) -> None:
    for name in ("train_list.txt", "bad_list.txt"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    first, second = tmp_path / "a config.yaml", tmp_path / "second.yaml"
    for path in (first, second):
        shutil.copy(FIXTURES / "csce-stale-counts.bad.yaml", path)
    before = tree(tmp_path)
    fix = ("validate", "--fix", "--data-root", str(tmp_path), str(first), str(second))
    assert steps(*fix) == 4
    for path in (first, second):
        shutil.copy(FIXTURES / "csce-stale-counts.bad.yaml", path)
    for step in (2, 3, 4):  # the first file fixed, the second being written, both fixed
        assert_interrupted_cleanly(interrupted_at(step, *fix))
        assert tree(tmp_path) == before, f"step {step}"
    gen = ("gen", "--config", str(first), "--data-root", str(tmp_path), "--write")
    assert steps(*gen) == 2
    shutil.copy(FIXTURES / "csce-stale-counts.bad.yaml", first)
    for step in (1, 2):
        assert_interrupted_cleanly(interrupted_at(step, *gen))
        assert tree(tmp_path) == before, f"step {step}"


# --- a closed or broken standard output ---------------------------------------------------------------------


def _with_stdout(fd_action: str, *args: str) -> subprocess.CompletedProcess:
    if fd_action == "closed":  # `csce-config ... >&-`
        return subprocess.run(python_cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: os.close(1))
    read, write = os.pipe()  # `| head -c1` after head has gone: the reader end is closed
    os.close(read)
    try:
        return subprocess.run(python_cli(*args), stdout=write, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write)


@POSIX
@pytest.mark.parametrize("how", ["closed", "broken"])
def test_a_closed_or_broken_stdout_is_one_line_and_exit_1(tmp_path: Path, how: str) -> None:
    listing = write_list(tmp_path / "train list.txt", [50, 20, 5])
    why = "it is closed" if how == "closed" else "the reader closed the pipe"
    line = f"csce-config: error: cannot write to standard output ({why}); the output is incomplete [file]\n"
    for args in (("gen", "--train-list", str(listing)), ("stats", "--train-list", str(listing)), ("--help",),
                 ("validate", "--format", "json", str(FIXTURES / "base.good.yaml"))):
        done = _with_stdout(how, *args)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr.endswith(line) and done.stderr.count("\n") <= 3 and "Traceback" not in done.stderr
        assert "Exception ignored" not in done.stderr
    written = tmp_path / "out.yaml"  # nothing goes to stdout: a closed one does not matter
    done = _with_stdout(how, "gen", "--train-list", str(listing), "-o", str(written))
    assert done.returncode == 0 and written.is_file(), done.stderr


# --- names at the limit and paths with spaces ---------------------------------------------------------------


def test_an_atomic_write_of_a_name_at_the_255_byte_limit(tmp_path: Path) -> None:
    for name in ("c" * 250 + ".yaml", "é" * 122 + ".yaml", "a b " * 62 + ".yml"):  # 255, 249 and 252 bytes
        target = tmp_path / name
        assert write_atomic(target, b"one\n") and target.read_bytes() == b"one\n"
        target.chmod(0o640)
        assert write_atomic(target, b"two\n") and target.read_bytes() == b"two\n"
        assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ("c" * 250 + ".yaml", "é" * 122 + ".yaml", "a b " * 62 + ".yml"))  # no temporary file left


def test_long_names_and_spaces_behave_like_any_other(tmp_path: Path) -> None:
    folder = tmp_path / "my data" / ("long " * 40).strip()
    folder.mkdir(parents=True)
    listing = write_list(folder / ("train list " + "x" * 230 + ".txt"), [60, 20, 5])
    config = folder / ("a config " + "y" * 236 + ".yaml")
    config.write_bytes((EXAMPLES / "ResNet18_longtail.yaml").read_bytes())
    done = subprocess.run(python_cli("gen", "--train-list", str(listing), "--config", str(config), "--class-num", "3",
                                     "--write"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"wrote {config}" in done.stderr
    checked = subprocess.run(python_cli("validate", "--train-list", str(listing), str(config)),
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
    bad = folder / "bad list.txt"
    bad.write_text("a.jpg 0\nno-label\n")
    refused = subprocess.run(python_cli("gen", "--train-list", str(bad)), capture_output=True, text=True)
    assert refused.returncode == 1
    assert refused.stderr == f"{bad}:2: error: missing label: no delimiter ' ' in 'no-label' [list-line]\n"
    missing = subprocess.run(python_cli("stats", "--train-list", str(folder / "no such list.txt")),
                             capture_output=True, text=True)
    assert missing.stderr == f"{folder / 'no such list.txt'}: error: no such file [input]\n"


# --- uninstall leaves every file compiling -------------------------------------------------------------------


def test_uninstall_of_an_import_the_user_wrapped_in_try_keeps_the_file_compiling(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "PaddleClas")
    assert run_cli("install", "--paddleclas", str(checkout)).exit_code == 0
    init = checkout / "ppcls/loss/__init__.py"
    text = init.read_text()
    marked = next(line for line in text.splitlines() if "# ppcls-csce" in line)
    wrapped = text.replace(marked + "\n", "try:\n    " + marked + "\nexcept ImportError:\n    pass\n")
    init.write_text(wrapped)
    done = run_cli("uninstall", "--paddleclas", str(checkout))
    assert done.exit_code == 0, done.output
    after = init.read_text()
    compile(after, str(init), "exec")
    assert after == wrapped.replace("    " + marked + "\n", "    pass\n")
    assert "# ppcls-csce" not in after


def test_uninstall_refuses_when_no_edit_can_keep_the_file_compiling(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "PaddleClas")
    assert run_cli("install", "--paddleclas", str(checkout)).exit_code == 0
    init = checkout / "ppcls/loss/__init__.py"
    text = init.read_text()
    marked = next(line for line in text.splitlines() if "# ppcls-csce" in line)
    # the user split the marked import over two lines: without its first line the second is a stray `)`
    names = marked.split(" import ")[1].split("  #")[0]
    broken = text.replace(marked + "\n", f"from .cs_celoss import (  # ppcls-csce\n    {names})\n")
    init.write_text(broken)
    before = snapshot(checkout)
    done = run_cli("uninstall", "--paddleclas", str(checkout))
    assert done.exit_code == 1
    line = done.output.strip()
    assert line.startswith(f"{init}:") and ": error: without the import line it would no longer compile" in line
    assert line.endswith("[input]") and line.count("error:") == 1
    assert snapshot(checkout) == before



def test_uninstall_refuses_an_init_that_does_not_compile_anyway(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "PaddleClas")
    assert run_cli("install", "--paddleclas", str(checkout)).exit_code == 0
    init = checkout / "ppcls/metric/__init__.py"
    init.write_text(init.read_text() + "\ndef half_written(:\n")
    before = snapshot(checkout)
    done = run_cli("uninstall", "--paddleclas", str(checkout))
    assert done.exit_code == 1 and snapshot(checkout) == before
    assert done.output.startswith(f"{init}:") and "error: it does not compile now, with or without the import line (" \
        in done.output and done.output.count("\n") == 1

# --- no edit reaches a place through an anchor, alias or merge key that it was not asked for ----------------

import yaml  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from ppcls_csce.cli import cli  # noqa: E402

TRAIN_SAMPLER = """    sampler:
      name: DistributedBatchSampler
      batch_size: 64
      drop_last: False
      shuffle: True
"""
EVAL_SAMPLER = TRAIN_SAMPLER.replace("shuffle: True", "shuffle: False")


def _example(tmp_path: Path, change) -> Path:
    """The bundled example config, its list beside it, changed by `change(text)`."""
    shutil.copy(EXAMPLES / "train_list.txt", tmp_path / "train_list.txt")
    text = (EXAMPLES / "ResNet18_longtail.yaml").read_text().replace("./examples/train_list.txt", "./train_list.txt")
    assert TRAIN_SAMPLER in text and EVAL_SAMPLER in text
    config = tmp_path / "shared config.yaml"
    config.write_text(change(text))
    return config


def _gen(config: Path, *args: str):
    return CliRunner().invoke(cli, ["gen", "--config", str(config), "--data-root", str(config.parent), *args])


def _line_of(config: Path, needle: str) -> int:
    return next(number for number, line in enumerate(config.read_text().splitlines(), 1) if needle in line)


def _anchored_train_sampler(eval_part: str):
    return lambda text: text.replace(TRAIN_SAMPLER, TRAIN_SAMPLER.replace("sampler:", "sampler: &sampler", 1)) \
        .replace(EVAL_SAMPLER, eval_part)


@pytest.mark.parametrize("eval_part", ["    sampler: *sampler\n", "    sampler:\n      <<: *sampler\n      shuffle: False\n"],
                         ids=["alias", "merge-key"])
def test_gen_sampler_refuses_a_train_sampler_that_eval_shares(tmp_path: Path, eval_part: str) -> None:
    config = _example(tmp_path, _anchored_train_sampler(eval_part))
    before = config.read_bytes()
    done = _gen(config, "--sampler", "balanced", "--write")
    assert done.exit_code == 1 and config.read_bytes() == before
    anchor, used = _line_of(config, "&sampler"), _line_of(config, "*sampler")
    assert done.stderr == (
        f"{config}:{anchor}:14: error: the edit lands in a value shared through the anchor &sampler, used again on "
        f"line {used} by an alias or a `<<:` merge key, so it would change that place too, which was not asked "
        "for; write the value out in full at each place instead of sharing it, then run again [edit-shared]\n")
    unshared = _example(tmp_path, lambda text: text)  # the same config, each sampler its own: Eval stays as it was
    assert _gen(unshared, "--sampler", "balanced", "--write").exit_code == 0
    data = yaml.safe_load(unshared.read_text())
    assert data["DataLoader"]["Train"]["sampler"]["name"] == "LongTailSampler"
    assert data["DataLoader"]["Eval"]["sampler"]["name"] == "DistributedBatchSampler"


def test_validate_flags_a_re_sampling_sampler_that_reaches_eval(tmp_path: Path) -> None:
    shared = _example(tmp_path, _anchored_train_sampler("    sampler:\n      <<: *sampler\n      shuffle: False\n"))
    shared.write_text(shared.read_text().replace("name: DistributedBatchSampler", "name: LongTailSampler\n      power: 0.0", 1))
    done = CliRunner().invoke(cli, ["validate", "--data-root", str(tmp_path), str(shared)])
    line = _line_of(shared, "<<: *sampler") - 1  # Eval's `sampler:` key
    assert done.exit_code == 1
    assert f"{shared}:{line}:5: error: DataLoader.Eval.sampler is a LongTailSampler: evaluation would draw images " \
           "by class instead of each image once" in done.output
    assert done.output.count("[eval-sampler]") == 1 and "yaml-duplicate-key" not in done.output


def test_gen_loss_entries_shared_between_train_and_eval(tmp_path: Path) -> None:
    def share(text: str) -> str:
        text = text.replace("  Train:\n    - CELoss:\n        weight: 1.0\n        epsilon: 0.1",
                            "  Train:\n    - CELoss: &ce\n        weight: 1.0\n        epsilon: 0.1", 1)
        return text.replace("  Eval:\n    - CELoss:\n        weight: 1.0\n", "  Eval:\n    - CELoss: *ce\n", 1)

    config = _example(tmp_path, share)
    before = config.read_bytes()
    deferred = _gen(config, "--write")  # DRW keys go into Loss.Train only: Eval's shared entry would get them
    assert deferred.exit_code == 1 and config.read_bytes() == before
    assert deferred.stderr.startswith(f"{config}:{_line_of(config, '&ce')}:") and "[edit-shared]" in deferred.stderr
    same = _gen(config, "--drw-epoch", "1", "--write")  # the same edit at both places: asked for everywhere
    assert same.exit_code == 0, same.stderr
    data = yaml.safe_load(config.read_text())
    assert data["Loss"]["Train"] == data["Loss"]["Eval"] and "CostSensitiveCE" in data["Loss"]["Eval"][0]


def test_gen_class_num_and_metric_shared_elsewhere_are_refused(tmp_path: Path) -> None:
    def class_num(text: str) -> str:
        return text.replace("  class_num: 10\n", "  class_num: &classes 10\n", 1) + "Infer:\n  classes: *classes\n"

    config = _example(tmp_path, class_num)
    assert "class_num: &classes 10" in config.read_text()
    before = config.read_bytes()
    done = _gen(config, "--class-num", "10", "--write")  # the same count: nothing to change, nothing refused
    assert done.exit_code == 0, done.stderr
    listed = write_list(tmp_path / "eleven.txt", [30] * 10 + [3])
    config.write_bytes(before)
    done = _gen(config, "--train-list", str(listed), "--class-num", "11", "--write")
    assert done.exit_code == 1 and config.read_bytes() == before and "[edit-shared]" in done.stderr

    def metric(text: str) -> str:
        text = text.replace("Metric:\n  Train:\n", "Metric:\n  Train: &metrics\n", 1)
        head, tail = text.split("  Eval:\n    - TopkAcc:", 1) if "  Eval:\n    - TopkAcc:" in text else (text, None)
        assert tail is not None
        rest = tail.split("\n", 2)[2]  # drop Eval's own TopkAcc entry (two lines)
        return head + "  Eval: *metrics\n" + rest

    config = _example(tmp_path, metric)
    before = config.read_bytes()
    done = _gen(config, "--metric", "--write")  # LongTailAcc into Metric.Eval would land in Metric.Train too
    assert done.exit_code == 1 and config.read_bytes() == before and "[edit-shared]" in done.stderr


def test_validate_fix_refuses_counts_shared_with_another_section(tmp_path: Path) -> None:
    for name in ("train_list.txt", "bad_list.txt"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    text = (FIXTURES / "csce-stale-counts.bad.yaml").read_text()
    stale = next(line for line in text.splitlines() if "num_class_list:" in line)
    counts = stale.split("num_class_list:")[1].strip()
    config = tmp_path / "c.yaml"
    config.write_text(text.replace(stale, stale.split("num_class_list:")[0] + "num_class_list: *counts")
                      + f"Infer:\n  counts: &counts {counts}\n")
    # the anchor must come before its alias: move Infer to the top
    body = config.read_text()
    infer = f"Infer:\n  counts: &counts {counts}\n"
    config.write_text(infer + body.replace(infer, ""))
    before = config.read_bytes()
    done = CliRunner().invoke(cli, ["validate", "--fix", "--data-root", str(tmp_path), str(config)])
    assert done.exit_code == 1 and config.read_bytes() == before
    assert f"{config}:2:11: error: the edit lands in a value shared through the anchor &counts" in done.output
    assert "[csce-stale-counts]" in done.output  # the file's own problems are still all reported


# --- one error line: `error:` once, its rule once ------------------------------------------------------------

import re  # noqa: E402

from ppcls_csce.errors import CsceError  # noqa: E402
from ppcls_csce.report import format_text  # noqa: E402

ONE_LINE = re.compile(r"^(?P<where>.+?): (?P<severity>error|warning): (?P<message>.+) \[(?P<rule>[a-z0-9-]+)\]$")


def _assert_one_line_each(output: str) -> None:
    for line in output.splitlines():
        match = ONE_LINE.match(line)
        assert match, line
        assert "error:" not in match["message"] and "warning:" not in match["message"], line
        assert not re.search(r" \[[a-z][a-z0-9-]*\]$", match["message"]), line  # the rule is named once, at the end


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.bad*.yaml")), ids=lambda p: p.name)
def test_every_bad_fixture_prints_error_and_its_rule_once_per_line(path: Path) -> None:
    options = ["--require-csce"] if b"# options: --require-csce" in path.read_bytes() else []
    done = CliRunner().invoke(cli, ["validate", "--data-root", str(FIXTURES), *options, str(path)])
    assert done.exit_code in (0, 1) and done.output
    _assert_one_line_each(done.output)


def test_refusals_of_every_command_print_error_once(tmp_path: Path) -> None:
    from ppcls_csce.adjust import adjust_file  # its refusals come before paddle is imported

    spaced = tmp_path / "my models" / "missing model.pdparams"
    with pytest.raises(CsceError) as caught:
        adjust_file(str(spaced), [5, 3, 1], 1.0, str(tmp_path / "out.pdparams"))
    assert format_text(caught.value.problems) == f"{spaced}: error: no such file [adjust]\n"
    checkout = make_checkout(tmp_path / "Paddle Clas")
    (checkout / "ppcls/loss/__init__.py").write_text(LOSS_INIT + "\ndef broken(:\n")
    done = run_cli("install", "--paddleclas", str(checkout))
    assert done.exit_code == 1
    assert done.output.startswith(f"{checkout / 'ppcls/loss/__init__.py'}:33:12: error: cannot parse it: ")
    _assert_one_line_each(done.output)
    for args in (("gen", "--train-list", str(tmp_path / "no list.txt")),
                 ("stats", "--train-list", str(checkout / "ppcls/loss/__init__.py")),
                 ("validate", str(tmp_path / "no config.yaml"))):
        done = CliRunner().invoke(cli, list(args))
        assert done.exit_code == 1, args
        _assert_one_line_each(done.output)


# --- what PaddleClas's loader refuses, validate and gen refuse ----------------------------------------------


def test_a_tab_after_a_colon_is_refused_where_paddleclas_would_stop(tmp_path: Path) -> None:
    def tab(text: str) -> str:
        return text.replace("      batch_size: 64\n", "      batch_size:\t64\n", 1)

    config = _example(tmp_path, tab)
    line = _line_of(config, "batch_size:\t64")
    expected = (f"{config}:{line}:18: error: PaddleClas's loader (PyYAML's SafeLoader) cannot read it: while scanning "
                "for the next token found character '\\t' that cannot start any token (replace the tab by spaces) "
                "[yaml-paddleclas-loader]\n")
    checked = CliRunner().invoke(cli, ["validate", "--data-root", str(tmp_path), str(config)])
    assert checked.exit_code == 1 and checked.output == expected
    with pytest.raises(yaml.YAMLError):  # what PaddleClas's ppcls/utils/config.py does with the file
        yaml.load(config.read_bytes(), Loader=yaml.SafeLoader)
    before = config.read_bytes()
    refused = _gen(config, "--write")
    assert refused.exit_code == 1 and refused.stderr == expected and config.read_bytes() == before
    quoted = _example(tmp_path, lambda text: text.replace("  epochs: 90", '  epochs: 90\n  note: "a\ttab"', 1))
    assert "\t" in quoted.read_text()
    assert CliRunner().invoke(cli, ["validate", "--data-root", str(tmp_path), str(quoted)]).exit_code == 0


# --- an output never replaces an input; a half-written pair is impossible -------------------------------------

def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(python_cli(*args), cwd=cwd, capture_output=True, text=True, timeout=120)


def test_an_output_that_names_an_input_is_refused_before_any_work(tmp_path: Path) -> None:
    listing = write_list(tmp_path / "train.txt", [30, 3])
    before = listing.read_bytes()
    (tmp_path / "link.txt").symlink_to(listing)
    for args, option in ((("stats", "--train-list", "train.txt", "--plot", "train.txt"), "--plot"),
                         (("gen", "--train-list", "train.txt", "-o", "./link.txt"), "-o")):
        done = _cli(*args, cwd=tmp_path)
        assert done.returncode == 1 and done.stdout == "", done.stderr
        assert done.stderr.rstrip().endswith(f"error: {option} would replace an input (train.txt); give another "
                                             "path [file]"), done.stderr
        assert listing.read_bytes() == before


def test_adjust_curve_and_report_logits_never_replace_their_inputs(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    report_fixtures = Path(__file__).parent / "fixtures" / "report"
    logits = shutil.copy(report_fixtures / "ce.npz", tmp_path / "held_out.npz")
    before = Path(logits).read_bytes()
    done = _cli("report", "--logits", "held_out.npz", "--save-logits", "held_out.npz", "--out", "r", cwd=tmp_path)
    assert done.returncode != 0 and Path(logits).read_bytes() == before and not (tmp_path / "r").exists()
    model = tmp_path / "m.pdparams"
    model.write_bytes(b"not read: the paths are checked first")
    write_list(tmp_path / "train.txt", [10 + c for c in range(10)])
    done = _cli("adjust", "--model", "m.pdparams", "--train-list", "train.txt", "--tau", "auto", "--logits",
                "held_out.npz", "--curve", "held_out.npz", "-o", "out.pdparams", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "error: --curve would replace an input (held_out.npz); give another path [file]" in done.stderr
    assert Path(logits).read_bytes() == before and not (tmp_path / "out.pdparams").exists()


def test_saved_logits_that_are_no_report_are_one_line(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    np.save(tmp_path / "plain.npy", np.zeros((3, 2), dtype=np.float32))
    np.savez(tmp_path / "empty.npz", logits=np.zeros((0, 2), dtype=np.float32), labels=np.zeros(0, dtype=np.int64))
    np.savez(tmp_path / "negative.npz", logits=np.zeros((1, 2), dtype=np.float32), labels=np.zeros(1, dtype=np.int64),
             train_counts=np.array([5, -1]))
    for name, why in (("plain.npy", "not a saved-logits file: one array, not an .npz"),
                      ("empty.npz", "no images: the logits are [0, C]"),
                      ("negative.npz", "train_counts must be image counts (>= 0), got -1")):
        done = _cli("report", "--logits", name, "--out", "r", cwd=tmp_path)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith(f"{name}: error: {why}"), done.stderr
        assert not (tmp_path / "r").exists()


def test_a_label_file_with_a_unicode_digit_is_one_located_line(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    (tmp_path / "names.txt").write_text("0 cat\n\u00b2 dog\n", encoding="utf-8")
    logits = shutil.copy(Path(__file__).parent / "fixtures" / "report" / "ce.npz", tmp_path / "ce.npz")
    done = _cli("report", "--logits", str(logits), "--label-file", "names.txt", "--out", "r", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "names.txt:2: error: a label file line is `id name`" in done.stderr


def test_adjust_tau_auto_without_matplotlib_is_one_line_before_any_write(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    shutil.copy(Path(__file__).parent / "fixtures" / "report" / "ce.npz", tmp_path / "held_out.npz")
    write_list(tmp_path / "train.txt", [10 + c for c in range(6)])
    (tmp_path / "m.pdparams").write_bytes(b"never read")
    code = ("import sys\nsys.modules['matplotlib'] = None  # as without the [plot] extra\n"
            "from ppcls_csce.cli import main\nsys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "adjust", "--model", "m.pdparams", "--train-list", "train.txt",
                           "--tau", "auto", "--logits", "held_out.npz", "-o", "out.pdparams"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "error: adjust --tau auto needs matplotlib; pip install 'ppcls-csce[plot]'" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["held_out.npz", "m.pdparams", "train.txt"]
