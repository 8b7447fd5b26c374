"""Fix commands in messages paste into the user's shell as they are: quoted for POSIX shells or for Windows."""

import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ppcls_csce.cli import cli
from ppcls_csce.shell import command, quote

from conftest import write_list
from test_install import make_checkout

AWKWARD = ["plain", "with space", "it's", "$HOME", "a;b", "back\\slash", "", "tab\there", "ünï"]


@pytest.mark.parametrize("arg", AWKWARD)
def test_posix_quoting_pastes_back_to_the_same_argument(arg: str) -> None:
    assert shlex.split(command("csce-config", "gen", "--train-list", arg, windows=False)) == [
        "csce-config", "gen", "--train-list", arg]


def test_posix_quoting_leaves_plain_words_alone() -> None:
    assert command("pip", "install", "ppcls-csce[paddle]", windows=False) == "pip install 'ppcls-csce[paddle]'"
    assert command("csce-config", "install", "--paddleclas", "/src/PaddleClas", windows=False) == (
        "csce-config install --paddleclas /src/PaddleClas")


def test_windows_quoting_is_the_c_runtimes() -> None:
    """cmd.exe has no single quotes: double quotes where needed, backslashes doubled only before a quote."""
    assert quote(r"C:\My Files\PaddleClas", windows=True) == r'"C:\My Files\PaddleClas"'
    assert quote(r"C:\data\PaddleClas", windows=True) == r"C:\data\PaddleClas"
    assert quote("ppcls-csce[paddle]", windows=True) == "ppcls-csce[paddle]"
    assert quote('say "hi"', windows=True) == r'"say \"hi\""'
    assert quote("dir with space\\", windows=True) == '"dir with space\\\\"'
    assert quote("", windows=True) == '""'
    assert command("csce-config", "install", "--paddleclas", r"D:\a b", windows=True) == (
        r'csce-config install --paddleclas "D:\a b"')


def _fix_command(message: str, start: str) -> str:
    """The command a message tells the user to run: from `start` to the end of the line or an opening `(`."""
    tail = message[message.index(start):]
    return tail.split(" (or ", 1)[0].split("\n", 1)[0]


def test_stale_count_fix_pastes_with_an_awkward_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "my data $v"
    folder.mkdir()
    listing = write_list(folder / "train list's.txt", [5, 3, 2])
    config = folder / "cfg.yaml"
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(cli, ["gen", "--train-list", str(listing), "-o", str(config)]).exit_code == 0
    write_list(listing, [6, 3, 2])  # the data changed: the counts are stale
    done = runner.invoke(cli, ["validate", "--train-list", str(listing), str(config)])
    assert done.exit_code == 1, done.output
    fix = _fix_command(done.stderr + done.stdout, "csce-config validate --fix")
    assert shlex.split(fix) == ["csce-config", "validate", "--fix", "--train-list", str(listing), str(config)]


def test_install_fix_pastes_with_a_checkout_path_with_spaces(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path / "Paddle Clas (copy)")
    listing = write_list(tmp_path / "train.txt", [5, 3, 2])
    config = tmp_path / "cfg.yaml"
    runner = CliRunner()
    assert runner.invoke(cli, ["gen", "--train-list", str(listing), "-o", str(config)]).exit_code == 0
    done = runner.invoke(cli, ["validate", "--paddleclas", str(checkout), str(config)])
    assert done.exit_code == 1, done.output
    fix = (done.stderr + done.stdout).split("fix: ", 1)[1].split(" [", 1)[0].split("\n", 1)[0]
    assert shlex.split(fix) == ["csce-config", "install", "--paddleclas", str(checkout)]
    shutil.rmtree(checkout)
