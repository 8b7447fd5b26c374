"""rules/stale.py: which train list validate reads (never outside --data-root unless asked), that it says when
it cannot read one, and the class-count bounds of the stale-count comparison."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from ppcls_csce.validate import Options, validate_file

from conftest import REPO, python_cli

CONFIG = """\
Arch:
  name: ResNet18
{class_num}DataLoader:
  Train:
    dataset:
      name: ImageNetDataset
      cls_label_path: {label_path}
{delimiter}Loss:
  Train:
    - CostSensitiveCE:
        weight: 1.0
        num_class_list: {counts}
"""


def config(folder: Path, label_path: str, counts: str = "[2, 1]", class_num: Optional[int] = 2,
           delimiter: Optional[str] = None, name: str = "c.yaml") -> Path:
    path = folder / name
    path.write_text(CONFIG.format(
        label_path=json.dumps(label_path), counts=counts,
        class_num=f"  class_num: {class_num}\n" if class_num is not None else "",
        delimiter=f"      delimiter: {json.dumps(delimiter)}\n" if delimiter is not None else "",
    ), encoding="utf-8")
    return path


def rules_of(path: Path, **options) -> List[tuple]:
    return [(p.rule, p.severity) for p in validate_file(path, Options(**options)).problems]


def test_a_list_inside_the_data_root_is_read(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("a 0\nb 0\nc 1\n")
    assert rules_of(config(tmp_path, "./train.txt"), data_root=str(tmp_path)) == []
    stale = config(tmp_path, "./train.txt", counts="[5, 1]")
    assert rules_of(stale, data_root=str(tmp_path)) == [("csce-stale-counts", "error")]


def test_a_list_outside_the_data_root_is_not_read(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (outside / "train.txt").write_text("a 0\nb 0\nc 1\n")
    (root / "link.txt").symlink_to(outside / "train.txt")  # inside by name, outside once resolved
    for label_path in (str(outside / "train.txt"), "../elsewhere/train.txt", "./link.txt"):
        cfg = config(root, label_path, counts="[5, 1]")  # stale, but the list is not read
        [problem] = validate_file(cfg, Options(data_root=str(root))).problems
        assert (problem.rule, problem.severity, problem.line) == ("csce-list-outside-root", "warning", 8)
        assert problem.message.startswith(f"cls_label_path {label_path!r} resolves to "
                                          f"{str((outside / 'train.txt').resolve())!r}, outside the data root "
                                          f"{str(root.resolve())!r} (--data-root): not read")
        allowed = validate_file(cfg, Options(data_root=str(root), allow_outside_data_root=True)).problems
        assert [p.rule for p in allowed] == ["csce-stale-counts"]  # read when allowed
    given = validate_file(config(root, "/nonexistent/x.txt", counts="[5, 1]"),
                          Options(data_root=str(root), train_lists=(str(outside / "train.txt"),))).problems
    assert [p.rule for p in given] == ["csce-stale-counts"]  # a list given with --train-list is read anywhere


def test_the_default_data_root_is_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "train.txt").write_text("a 0\nb 0\nc 1\n")
    cfg = config(tmp_path, "train.txt", counts="[5, 1]")
    monkeypatch.chdir(tmp_path)
    assert rules_of(cfg) == [("csce-stale-counts", "error")]
    monkeypatch.chdir(REPO)
    assert rules_of(cfg) == [("csce-list-missing", "warning")]


@pytest.mark.parametrize("label_path, why", [("./missing.txt", "does not exist"), (".", "is not a regular file"),
                                             ("./fifo", "is not a regular file")])
def test_a_missing_list_is_a_warning_and_strict_fails(tmp_path: Path, label_path: str, why: str) -> None:
    os.mkfifo(tmp_path / "fifo")  # never opened: reading it would block validate (and pre-commit)
    cfg = config(tmp_path, label_path)
    [problem] = validate_file(cfg, Options(data_root=str(tmp_path))).problems
    assert (problem.rule, problem.severity, problem.line, problem.column) == ("csce-list-missing", "warning", 8, 23)
    assert problem.message.startswith(f"cls_label_path {label_path!r} {why} under the data root {str(tmp_path)!r}")
    for strict, code in ((False, 0), (True, 1)):
        done = subprocess.run(python_cli("validate", "--data-root", str(tmp_path), *(["--strict"] * strict), str(cfg)),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == code, done.stdout + done.stderr
        assert done.stdout.endswith("[csce-list-missing]\n")


def test_without_csce_a_missing_list_is_not_reported(tmp_path: Path) -> None:
    cfg = config(tmp_path, "./missing.txt")
    cfg.write_text(cfg.read_text().replace("CostSensitiveCE", "CELoss").replace("        num_class_list: [2, 1]\n", ""))
    assert rules_of(cfg, data_root=str(tmp_path)) == []


def test_the_same_list_twice_is_an_error(tmp_path: Path) -> None:
    listing = tmp_path / "train.txt"
    listing.write_text("a 0\nb 0\nc 1\n")
    cfg = config(tmp_path, "./train.txt")
    [problem] = validate_file(cfg, Options(train_lists=(str(listing), str(tmp_path / "." / "train.txt")))).problems
    assert problem.as_text() == (f"{tmp_path / '.' / 'train.txt'}: error: the same file as {listing}, given twice: "
                                 "every count would double [input]")


def test_class_num_bounds_the_comparison(tmp_path: Path) -> None:
    """Arch.class_num decides how many classes are compared: a label at class_num is the list's error; without
    class_num the counts' length does, and a label past it is reported against num_class_list."""
    (tmp_path / "train.txt").write_text("a 0\nb 0\nc 1\nd 2\n")
    root = str(tmp_path)
    with_class_num = validate_file(config(tmp_path, "./train.txt", counts="[2, 1]", class_num=2),
                                   Options(data_root=root)).problems
    assert [(p.rule, p.path, p.line) for p in with_class_num] == [("list-line", str(tmp_path / "train.txt"), 4)]
    assert with_class_num[0].message == "label 2 is out of range for 2 classes"
    without = validate_file(config(tmp_path, "./train.txt", counts="[2, 1]", class_num=None),
                            Options(data_root=root)).problems
    assert [p.rule for p in without] == ["csce-stale-counts"]
    assert "has labels up to 2, but num_class_list has 2 counts (classes 0..1)" in without[0].message
    exact = validate_file(config(tmp_path, "./train.txt", counts="[2, 1, 1]", class_num=None),
                          Options(data_root=root)).problems
    assert exact == []  # 3 counts, labels 0..2: exactly the list
    wider = validate_file(config(tmp_path, "./train.txt", counts="[2, 1, 1]", class_num=4),
                          Options(data_root=root)).problems
    assert [p.rule for p in wider] == ["csce-class-count", "csce-stale-counts"]  # 3 counts for 4 classes, and
    stale = wider[1].message  # the 4th class, which the list does not have, is compared too
    assert "class 3: none here, 0 in the list" in stale and "Class 3 has no images" in stale, stale


SECRET = "s3cr3t-T0KEN-0123456789abcdefghijklmnopqrstuv"


@pytest.mark.parametrize("output_format", ["text", "json", "github"])
def test_proc_self_environ_never_reaches_the_output(tmp_path: Path, output_format: str) -> None:
    """The attack of issue 12: a config naming /proc/self/environ with `delimiter: "SECRET="` made validate print
    the token into CI annotations. Outside --data-root the list is not read, so no environment value appears."""
    cfg = config(tmp_path, "/proc/self/environ", delimiter="SECRET=")
    (tmp_path / "env.txt").symlink_to("/proc/self/environ")
    linked = config(tmp_path, "./env.txt", delimiter="SECRET=", name="linked.yaml")
    env: Dict[str, str] = {"PATH": os.environ["PATH"], "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO)),
                           "LANG": "C.UTF-8", "GITHUB_TOKEN": SECRET, "AWS_SECRET": SECRET[::-1],
                           "OTHER": "SECRET=" + SECRET.upper()}
    done = subprocess.run(python_cli("validate", "--strict", "--format", output_format, str(cfg), str(linked)),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert output.count("csce-list-outside-root") == 2, output
    for name, value in env.items():
        for piece in (value[i:i + 8] for i in range(0, max(1, len(value) - 7), 4)):
            if name in ("PATH", "PYTHONPATH", "LANG"):
                continue  # these are not secret (the interpreter's own paths may well be printed)
            assert piece not in output, (name, piece)
    assert "Traceback" not in output


def test_a_huge_configured_class_num_is_an_error_in_bounded_memory(tmp_path: Path) -> None:
    """`class_num: 10**26` once made validate build a list that long (and hang pre-commit): now one located line,
    in a process capped at 500 MB."""
    (tmp_path / "train.txt").write_text("a 0\nb 1\n")
    cfg = config(tmp_path, "./train.txt", counts="[1, 1]", class_num=10**26)
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (500 << 20, 500 << 20)); "
            "from ppcls_csce.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "validate", "--data-root", str(tmp_path), str(cfg)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith(f"{cfg}:3:14: error: Arch.class_num ") and "[csce-class-count]" in done.stdout
    assert done.stderr == ""
