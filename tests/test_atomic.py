"""Safe writes (atomic.py): symlinks followed, special files refused, mode and owner kept, "unchanged" when the
bytes are the same, errors named by the user's path, a failed write leaving the old file and no temp file."""

import errno
import os
import stat
import subprocess
from pathlib import Path

import pytest

from ppcls_csce import atomic
from ppcls_csce.atomic import UNCHANGED, WROTE, WriteError, write_atomic, write_output
from ppcls_csce.report import format_text

from conftest import REPO, python_cli, write_list


def leftovers(folder: Path) -> list:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_new_file_gets_the_umask_mode_and_old_mode_is_kept(tmp_path: Path) -> None:
    new = tmp_path / "new.yaml"
    mask = os.umask(0o022)
    try:
        assert write_atomic(new, b"a: 1\n") is True
    finally:
        os.umask(mask)
    assert new.read_bytes() == b"a: 1\n" and stat.S_IMODE(new.stat().st_mode) == 0o644
    old = tmp_path / "old.yaml"
    old.write_bytes(b"x")
    os.chmod(old, 0o640)
    assert write_atomic(old, b"y") is True
    assert old.read_bytes() == b"y" and stat.S_IMODE(old.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_same_bytes_are_unchanged_and_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"same\n")
    before = os.stat(path)
    assert write_atomic(path, b"same\n") is False
    assert write_output(path, b"same\n") == UNCHANGED
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not replaced, not touched
    assert write_output(path, b"other\n") == WROTE and path.read_bytes() == b"other\n"
    assert os.stat(path).st_ino != before.st_ino


def test_symlink_target_changes_and_the_link_stays(tmp_path: Path) -> None:
    real = tmp_path / "real" / "config.yaml"
    real.parent.mkdir()
    real.write_bytes(b"old\n")
    os.chmod(real, 0o600)
    link = tmp_path / "link.yaml"
    link.symlink_to(os.path.relpath(real, tmp_path))
    chain = tmp_path / "chain.yaml"
    chain.symlink_to(link)
    assert write_atomic(chain, b"new\n") is True
    assert link.is_symlink() and chain.is_symlink() and os.readlink(chain) == str(link)
    assert real.read_bytes() == b"new\n" and stat.S_IMODE(real.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == [] and leftovers(real.parent) == []


@pytest.mark.parametrize("kind", ["fifo", "directory", "devnull", "link-to-fifo"])
def test_special_targets_are_refused_and_nothing_is_written(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target"
    if kind in ("fifo", "link-to-fifo"):
        os.mkfifo(tmp_path / "fifo")
        target = tmp_path / "fifo"
        if kind == "link-to-fifo":
            target = tmp_path / "link"
            target.symlink_to(tmp_path / "fifo")
    elif kind == "directory":
        target.mkdir()
    else:
        target = Path(os.devnull)
    before = os.stat(target)
    with pytest.raises(WriteError) as caught:
        write_atomic(target, b"data")
    expected = {"fifo": "a FIFO (named pipe)", "link-to-fifo": "a FIFO (named pipe)", "directory": "a directory",
                "devnull": "a character device"}[kind]
    assert format_text(caught.value.problems).rstrip("\n") == f"{target}: error: is {expected}, not a regular file; nothing written [file]"
    after = os.stat(target)
    assert (stat.S_IFMT(after.st_mode), after.st_ino) == (stat.S_IFMT(before.st_mode), before.st_ino)
    assert leftovers(tmp_path) == []


def test_missing_folder_is_named_by_the_users_path(tmp_path: Path) -> None:
    target = tmp_path / "nonexistent_dir" / "x.yaml"
    with pytest.raises(WriteError) as caught:
        write_atomic(target, b"x")
    assert format_text(caught.value.problems).rstrip("\n") == f"{target}: error: cannot write: the folder {target.parent} does not exist [file]"
    assert ".tmp" not in format_text(caught.value.problems)


@pytest.mark.parametrize("fails_at", ["write", "replace"])
def test_full_disk_or_failed_rename_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch, fails_at: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"old contents\n")
    os.chmod(path, 0o604)
    calls = []

    def full(*args):
        calls.append(args)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, fails_at, full)
    with pytest.raises(WriteError) as caught:
        write_atomic(path, b"new contents, much longer than the old ones\n")
    monkeypatch.undo()
    assert calls, "the patched call was never reached"
    assert format_text(caught.value.problems).rstrip("\n") == f"{path}: error: cannot write: the disk is full; the file is unchanged [file]"
    assert path.read_bytes() == b"old contents\n" and stat.S_IMODE(path.stat().st_mode) == 0o604
    assert leftovers(tmp_path) == []


def test_short_writes_are_completed(tmp_path: Path, monkeypatch) -> None:
    real_write = os.write
    monkeypatch.setattr(atomic.os, "write", lambda fd, data: real_write(fd, bytes(data[:3])))
    path = tmp_path / "c.yaml"
    assert write_atomic(path, b"0123456789") is True
    assert path.read_bytes() == b"0123456789"


def test_read_only_folder_names_the_path(tmp_path: Path, monkeypatch) -> None:
    """What a folder the user cannot write into gives (simulated: root could write anyway)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "c.yaml").write_bytes(b"old")

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", denied)
    with pytest.raises(WriteError) as caught:
        write_atomic(folder / "c.yaml", b"new")
    assert format_text(caught.value.problems).rstrip("\n") == f"{folder / 'c.yaml'}: error: cannot write into {folder}: Permission denied [file]"
    assert (folder / "c.yaml").read_bytes() == b"old" and leftovers(folder) == []


@pytest.mark.skipif(getattr(os, "geteuid", lambda: -1)() != 0, reason="changing a file's owner needs root (run the suite as root to test it)")
def test_owner_and_group_are_kept_as_root(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"old")
    os.chown(path, 12345, 23456)
    os.chmod(path, 0o2640)  # a set-group-id bit: kept too (chown would clear it if chmod came first)
    assert write_atomic(path, b"new") is True
    info = path.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (12345, 23456, 0o2640)


def test_write_output_dash_is_stdout(capfdbinary) -> None:
    assert write_output("-", b"block\n") == WROTE
    assert capfdbinary.readouterr().out == b"block\n"
    assert not Path("-").exists()


# --- the commands, as processes: /dev/null and FIFOs survive ------------------------------------------------------


def test_gen_dash_o_dash_writes_stdout_and_no_file(tmp_path: Path) -> None:
    listing = write_list(tmp_path / "train.txt", [3, 2, 1])
    done = subprocess.run(python_cli("gen", "--train-list", str(listing), "-o", "-"), cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "num_class_list: [3, 2, 1]" in done.stdout
    assert not (tmp_path / "-").exists() and "wrote" not in done.stderr


def test_gen_reports_wrote_then_unchanged(tmp_path: Path) -> None:
    listing = write_list(tmp_path / "train.txt", [3, 2, 1])
    out = tmp_path / "block.yaml"
    first = subprocess.run(python_cli("gen", "--train-list", str(listing), "-o", str(out)), capture_output=True,
                           text=True, timeout=60)
    assert first.returncode == 0 and first.stderr.splitlines()[-1] == f"wrote {out}"
    inode = out.stat().st_ino
    again = subprocess.run(python_cli("gen", "--train-list", str(listing), "-o", str(out)), capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 0 and again.stderr.splitlines()[-1] == f"unchanged {out}"
    assert out.stat().st_ino == inode


@pytest.mark.skipif(getattr(os, "geteuid", lambda: -1)() != 0 and not os.access(os.devnull, os.W_OK), reason="/dev/null not writable")
def test_gen_to_dev_null_is_refused_and_dev_null_survives(tmp_path: Path) -> None:
    listing = write_list(tmp_path / "train.txt", [3, 2, 1])
    done = subprocess.run(python_cli("gen", "--train-list", str(listing), "-o", os.devnull), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (f"{os.devnull}: error: is a character device, not a regular file; "
                                            "nothing written [file]")
    assert "Traceback" not in done.stderr
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_gen_write_and_validate_fix_into_a_fifo_are_refused(tmp_path: Path) -> None:
    listing = write_list(tmp_path / "train.txt", [3, 2, 1])
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    for args in (["gen", "--train-list", str(listing), "-o", str(fifo)],
                 ["gen", "--train-list", str(listing), "--config", str(fifo), "--write"],
                 ["validate", "--fix", str(fifo)]):
        done = subprocess.run(python_cli(*args), capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        output = done.stdout + done.stderr
        assert f"{fifo}" in output and "FIFO" in output and "Traceback" not in output, (args, output)
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert leftovers(tmp_path) == []


def test_gen_write_through_a_symlinked_config(tmp_path: Path) -> None:
    listing = write_list(tmp_path / "train.txt", [3, 2, 1])
    real = tmp_path / "configs" / "real.yaml"
    real.parent.mkdir()
    real.write_text("Arch:\n  name: ResNet18\n  class_num: 3\nLoss:\n  Train:\n    - CELoss:\n        weight: 1.0\n",
                    encoding="utf-8")
    os.chmod(real, 0o640)
    link = tmp_path / "config.yaml"
    link.symlink_to(real)
    done = subprocess.run(python_cli("gen", "--train-list", str(listing), "--config", str(link), "--write"),
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert "CostSensitiveCE" in real.read_text(encoding="utf-8")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_validate_fix_through_a_symlinked_config(tmp_path: Path) -> None:
    fixtures = REPO / "tests" / "fixtures" / "validate"
    real = tmp_path / "real" / "config.yaml"
    real.parent.mkdir()
    real.write_bytes((fixtures / "csce-stale-counts.bad.yaml").read_bytes())
    os.chmod(real, 0o604)
    (tmp_path / "train_list.txt").write_bytes((fixtures / "train_list.txt").read_bytes())
    link = tmp_path / "config.yaml"
    link.symlink_to(real)
    before = real.read_bytes()
    done = subprocess.run(python_cli("validate", "--fix", "--data-root", str(tmp_path), str(link)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and f"Fixing {link}" in done.stdout + done.stderr, done.stdout + done.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() != before and stat.S_IMODE(real.stat().st_mode) == 0o604
    again = subprocess.run(python_cli("validate", "--data-root", str(tmp_path), str(link)), capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 0, again.stdout  # the fix went into the real file
    assert leftovers(tmp_path) == [] and leftovers(real.parent) == []
