"""`csce-config report` without paddle: from saved logits (side by side, names, deltas), its usage errors, and the
checks made before any forward pass (config, evaluation list, model fit), each one located line, exit 1, no --out."""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import numpy as np
import pytest
from click.testing import CliRunner

from ppcls_csce.classreport import build
from ppcls_csce.cli import cli, main
from ppcls_csce.errors import ProblemsError
from ppcls_csce.evaluate import fit_problem
from ppcls_csce.logits import load_logits, save_logits
from ppcls_csce.report_inputs import read_inputs
from ppcls_csce.report_run import labels_for

from conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "report"
CE, ADJUSTED, NAMES = FIXTURES / "ce.npz", FIXTURES / "ce_tau1.npz", FIXTURES / "names.txt"


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def test_two_saved_logits_side_by_side(tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = _invoke("report", "--logits", str(CE), "--logits", str(ADJUSTED), "--label-file", str(NAMES),
                     "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == [
        "confusion_1_ce.csv", "confusion_1_ce.png", "confusion_2_ce_tau1.csv", "confusion_2_ce_tau1.png",
        "per_class.csv", "recall_vs_train_count.png", "reliability_1_ce.png", "reliability_2_ce_tau1.png",
        "report.json", "report.md"]
    data = json.loads((out / "report.json").read_text())
    ce, adjusted = load_logits(str(CE)), load_logits(str(ADJUSTED))
    expected = [build(saved.logits, saved.labels, saved.train_counts) for saved in (ce, adjusted)]
    for model, report in zip(data["models"], expected):
        assert model["top1"] == pytest.approx(report.top1, abs=1e-6)
        assert model["balanced_acc"] == pytest.approx(report.balanced_acc, abs=1e-6)
        assert model["few_acc"] == pytest.approx(report.shot_acc["few"], abs=1e-6)
    rows = [row for row in data["per_class"] if row["model"] == "ce_tau1"]
    for row in rows:
        delta = expected[1].recall[row["class"]] - expected[0].recall[row["class"]]
        assert row["recall_delta"] == pytest.approx(delta, abs=1e-6)
    assert [row["name"] for row in rows] == ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal"]
    confusion = np.loadtxt(out / "confusion_2_ce_tau1.csv", delimiter=",", skiprows=1, dtype=np.int64)[:, 1:]
    np.testing.assert_array_equal(confusion, expected[1].confusion)
    assert "ce_tau1: top-1 81.67%" in result.output
    markdown = (out / "report.md").read_text()
    assert "| 5 sandal | 1 | 10 | 0.00% | 100.00% | +100.00 |" in markdown


@pytest.mark.parametrize("args, words", [
    ((), "give --model"),
    (("--model", "m.pdparams"), "--model needs --config and --paddleclas"),
    (("--logits", str(CE), "--save-logits", "x.npz"), "--save-logits takes one FILE per --model"),
    (("--logits", str(CE), "--val-list", "v.txt"), "--val-list and --data-root go with --model"),
])
def test_usage_errors_exit_2(tmp_path: Path, args: tuple, words: str) -> None:
    result = _invoke("report", "--out", str(tmp_path / "out"), *args)
    assert result.exit_code == 2 and words in result.output
    assert not (tmp_path / "out").exists()


def _refused(args: List[str], capsys: pytest.CaptureFixture, out: Path) -> str:
    assert main(["report", "--out", str(out), *args]) == 1
    error = capsys.readouterr().err
    assert not out.exists() and "Traceback" not in error
    return error


def test_logits_of_another_list_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    other = tmp_path / "other.npz"
    saved = load_logits(str(CE))
    save_logits(str(other), saved.logits, saved.labels[::-1], saved.train_counts, {})
    error = _refused(["--logits", str(CE), "--logits", str(other)], capsys, tmp_path / "out")
    assert error == f"{other}: error: was saved on another evaluation list (its labels differ): models are compared " \
                    "on the same images only [report]\n"


def test_a_missing_model_fails_before_anything_is_read(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "best_model"
    error = _refused(["--model", str(missing), "--config", "absent.yaml", "--paddleclas", str(tmp_path)], capsys,
                     tmp_path / "out")
    assert error == f"{missing}: error: no such model file (PaddleClas saves models as NAME.pdparams) [report]\n"


def test_out_that_is_a_file_and_a_bad_logits_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    taken = tmp_path / "taken"
    taken.write_text("x")
    assert main(["report", "--logits", str(CE), "--out", str(taken)]) == 1
    assert f"{taken}: error: --out must be a folder (it is a file) [report]" in capsys.readouterr().err
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK not a zip")
    error = _refused(["--logits", str(bad)], capsys, tmp_path / "out")
    assert error.startswith(f"{bad}: error: cannot be read as a saved-logits .npz")


# --- the checks before the forward pass (no paddle) -----------------------------------------------------------

CONFIG = """\
Global:
  device: cpu
Arch:
  name: PPLCNet_x0_25
  class_num: 3
DataLoader:
  Train:
    dataset:
      name: ImageNetDataset
      image_root: {root}
      cls_label_path: {root}/train.txt
  Eval:
    dataset:
      name: {dataset}
      image_root: {root}
      cls_label_path: {root}/val.txt
"""


def _setup(tmp_path: Path, val_lines: List[str], dataset: str = "ImageNetDataset") -> Path:
    for index in range(4):
        (tmp_path / f"{index}.jpg").write_bytes(b"jpeg")
    (tmp_path / "train.txt").write_text("0.jpg 0\n1.jpg 0\n2.jpg 1\n3.jpg 2\n")
    (tmp_path / "val.txt").write_text("".join(line + "\n" for line in val_lines))
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(root=tmp_path, dataset=dataset))
    return config


def test_good_inputs_give_counts_and_lines(tmp_path: Path) -> None:
    inputs = read_inputs(str(_setup(tmp_path, ["0.jpg 0", "1.jpg 2"])), None, None, None, None)
    assert (inputs.class_num, inputs.eval_lines, inputs.train_counts) == (3, 2, [2, 1, 1])
    assert inputs.notes == []
    config = tmp_path / "config.yaml"
    config.write_text(config.read_text() + "AMP:\n  use_fp16_test: True\n")
    (note,) = read_inputs(str(config), None, None, None, None).notes
    assert note.as_text().startswith(f"{config}:18:18: note: tools/eval.py runs this config in float16")


@pytest.mark.parametrize("lines, expected", [
    (["0.jpg 0", "1.jpg 3"], "val.txt:2: error: label 3 is out of range for 3 classes [list-line]"),
    (["0.jpg 0", "nothere.jpg 1"], "val.txt:2: error: no image at "),
    ([], "val.txt: error: no images: the evaluation list is empty (or has only blank lines) [report-input]"),
])
def test_bad_evaluation_lists(tmp_path: Path, lines: List[str], expected: str) -> None:
    with pytest.raises(ProblemsError) as caught:
        read_inputs(str(_setup(tmp_path, lines)), None, None, None, None)
    (problem,) = caught.value.problems
    assert expected in problem.as_text()


def test_a_config_whose_eval_names_would_run_code_is_refused_before_paddleclas(tmp_path: Path) -> None:
    config = _setup(tmp_path, ["0.jpg 0"], dataset="__import__('os').system")
    with pytest.raises(ProblemsError) as caught:
        read_inputs(str(config), None, None, None, None)
    assert any("eval()" in problem.message for problem in caught.value.problems)


def test_fit_problem_names_the_parameter_and_another_architecture() -> None:
    expected = {"conv.weight": (8, 3, 3, 3), "fc.weight": (8, 4), "fc.bias": (4,)}
    state = {"conv.weight": np.zeros((8, 3, 3, 3)), "fc.weight": np.zeros((8, 5)), "fc.bias": np.zeros(5),
             "loss_func.0.train_steps": np.zeros(1)}
    assert fit_problem(state, expected, "Net", 4) == (
        "parameter fc.weight has shape [8, 5] in the model but [8, 4] in the Net the config builds (the config's "
        "class_num is 4); 1 more differ")
    other = {"stem.weight": np.zeros(3), "head.weight": np.zeros(3)}
    assert fit_problem(other, expected, "Net", 4).startswith("not a model of the config's architecture Net: 0 of the 3")
    partial = {name: np.zeros(shape) for name, shape in expected.items() if name != "fc.bias"}
    assert fit_problem(partial, expected, "Net", 4) == "lacks 1 of the 3 parameters the config's Net builds: fc.bias"
    assert fit_problem({name: np.zeros(shape) for name, shape in expected.items()}, expected, "Net", 4) == ""


def test_labels_tell_models_apart() -> None:
    assert labels_for(["a/ce.pdparams", "b/adj.pdparams"]) == ["ce", "adj"]
    assert labels_for(["run1/best_model.pdparams", "run2/best_model.pdparams"]) == ["run1/best_model",
                                                                                    "run2/best_model"]
    assert labels_for(["x/m.npz", "x/m.npz"]) == ["x/m", "x/m#2"]


def test_a_report_from_saved_logits_imports_no_paddle(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom ppcls_csce.cli import main\n"
            f"code = main(['report', '--logits', {str(CE)!r}, '--out', {str(tmp_path / 'out')!r}, '--no-progress'])\n"
            "assert code == 0, code\nassert 'paddle' not in sys.modules and 'ppcls' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "report.md").is_file()


def test_a_paddlex_module_config_is_reported_with_the_config_paddlex_trains(tmp_path: Path) -> None:
    fixtures = REPO / "tests" / "fixtures" / "paddlex"
    shutil.copytree(fixtures / "dataset", tmp_path / "dataset")
    shutil.copy(fixtures / "PP-LCNet_x0_25.template.yaml", tmp_path / "t.yaml")
    module = (fixtures / "PP-LCNet_x0_25.yaml").read_text().replace("tests/fixtures/paddlex/dataset", "dataset")
    (tmp_path / "m.yaml").write_text(module.replace("\nTrain:\n", "\nTrain:\n  basic_config_path: t.yaml\n", 1))
    rng = np.random.default_rng(0)
    save_logits(str(tmp_path / "l.npz"), rng.normal(size=(30, 3)), rng.integers(0, 3, 30))
    done = subprocess.run([sys.executable, "-m", "ppcls_csce", "report", "--logits", "l.npz", "--config", "m.yaml",
                           "--out", "r"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "m.yaml: note: a PaddleX module config: reported with the PaddleClas config PaddleX trains" in done.stderr
    rows = list(csv.DictReader((tmp_path / "r" / "per_class.csv").open()))
    train = [line.split()[1] for line in (tmp_path / "dataset" / "train.txt").read_text().splitlines()]
    assert {int(row["class"]): int(row["train_count"]) for row in rows} == {c: train.count(str(c)) for c in range(3)}
    names = dict(line.split(" ", 1) for line in (tmp_path / "dataset" / "label.txt").read_text().splitlines())
    assert {row["class"]: row["name"] for row in rows} == names
