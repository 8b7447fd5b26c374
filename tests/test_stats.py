"""`csce-config stats`: the table, JSON and the plot."""

import json

import pytest
from click.testing import CliRunner

from ppcls_csce import params
from ppcls_csce.cli import cli

from conftest import write_list

COUNTS = [500, 300, 180, 108, 65, 39, 23, 14, 8, 5]


def run(*args: str):
    return CliRunner().invoke(cli, ["stats", *args], catch_exceptions=False)


def test_json_has_counts_weights_samples_ratio_and_shots(long_tail_list):
    result = run("--train-list", str(long_tail_list), "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["num_class_list"] == COUNTS
    assert data["samples"] == sum(COUNTS)
    assert data["imbalance_ratio"] == 100.0
    assert data["weights"] == pytest.approx(params.class_weights(COUNTS, 1.0))
    # ImageNet-LT thresholds: many > 100, medium 20..100, few < 20
    assert data["shots"]["many"]["classes"] == [0, 1, 2, 3]
    assert data["shots"]["medium"]["classes"] == [4, 5, 6]
    assert data["shots"]["few"]["classes"] == [7, 8, 9]


def test_text_table_lists_every_class(long_tail_list):
    result = run("--train-list", str(long_tail_list), "--gamma", "0.5")
    assert result.exit_code == 0
    assert "imbalance ratio 100" in result.stdout and "gamma 0.5" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines() if line.strip()[:1].isdigit() and len(line.split()) == 5]
    assert [int(row[1]) for row in rows] == COUNTS
    assert float(rows[-1][3]) == 1.0 and float(rows[0][3]) == pytest.approx(0.1)
    assert [row[4] for row in rows] == ["many"] * 4 + ["medium"] * 3 + ["few"] * 3


def test_tab_delimiter_from_the_command_line(tmp_path):
    listing = write_list(tmp_path / "t.txt", [4, 2], delimiter="\t")
    result = run("--train-list", str(listing), "--delimiter", "\\t", "--format", "json")
    assert json.loads(result.stdout)["num_class_list"] == [4, 2]
    wrong = run("--train-list", str(listing))  # split on a space: no label field
    assert wrong.exit_code == 1 and f"{listing}:1:" in wrong.stderr


def test_plot_writes_a_png(long_tail_list, tmp_path):
    target = tmp_path / "counts.png"
    result = run("--train-list", str(long_tail_list), "--plot", str(target))
    assert result.exit_code == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 5000


def test_plot_without_matplotlib_is_one_clear_line(long_tail_list, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = run("--train-list", str(long_tail_list), "--plot", str(tmp_path / "x.png"))
    assert result.exit_code == 1 and "pip install 'ppcls-csce[plot]'" in result.stderr
    assert not (tmp_path / "x.png").exists()
