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
    assert CliRunner().invoke(cli, ["--version"]).output == f"csce-config {__version__} (list scanner: compiled)\n"


def test_version_says_when_the_list_scanner_is_pure_python(monkeypatch):
    from ppcls_csce import scanner

    monkeypatch.setattr(scanner, "COMPILED", False)
    assert "list scanner: pure Python" in CliRunner().invoke(cli, ["--version"]).output


def test_main_returns_exit_codes_like_the_console_script(tmp_path):
    assert main(["gen", "--train-list", str(EXAMPLES / "train_list.txt")]) == 0
    assert main(["gen", "--train-list", str(tmp_path / "missing.txt")]) == 1
    assert main(["gen"]) == 2  # --train-list is required
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
