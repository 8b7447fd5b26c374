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


@pytest.mark.parametrize("loss, option, value, key, values_key, expected", [
    ("balanced-softmax", "--tau", 0.5, "tau", "logit_adjustment", params.logit_adjustment),
    ("class-balanced", "--beta", 0.99, "beta", "weights", params.class_balanced_weights),
    ("csce", "--gamma", 0.5, "gamma", "weights", params.class_weights),
])
def test_loss_shows_its_own_per_class_values(long_tail_list, loss, option, value, key, values_key, expected):
    data = json.loads(run("--train-list", str(long_tail_list), "--loss", loss, option, str(value),
                          "--format", "json").stdout)
    assert data["loss"] == params.LOSSES[data["loss"]].name and data[key] == value
    assert data[values_key] == pytest.approx(expected(COUNTS, value))
    assert {"gamma", "tau", "beta"} & set(data) == {key}
    text = run("--train-list", str(long_tail_list), "--loss", loss, option, str(value)).stdout
    column = "adjustment" if values_key == "logit_adjustment" else "weight"
    assert f"{data['loss']}: {params.LOSSES[data['loss']].formula}" in text and f"{column}  shot" in text
    rows = [line.split() for line in text.splitlines() if line.strip()[:1].isdigit() and len(line.split()) == 5]
    assert [float(row[3]) for row in rows] == pytest.approx(expected(COUNTS, value), abs=1e-6)


def test_balanced_softmax_adjustment_is_tau_log_n(long_tail_list):
    data = json.loads(run("--train-list", str(long_tail_list), "--loss", "balanced-softmax", "--format", "json").stdout)
    assert data["tau"] == 1.0 and data["logit_adjustment"][0] == pytest.approx(6.214608098422191)  # log(500)


def test_a_strength_of_another_loss_is_a_usage_error(long_tail_list):
    result = run("--train-list", str(long_tail_list), "--loss", "balanced-softmax", "--beta", "0.9")
    assert result.exit_code == 2 and "--beta does not apply to --loss balanced-softmax" in result.stderr
