"""`adjust --tau auto --val-list` through the real engine: the held-out list run through report's forward pass
(PaddleClas's build_model and Eval loader) gives the same curve, the same tau and the same model file as
`adjust --logits` on the logits `report --save-logits` kept, and the curve equals a float64 computation from
those logits. Uses test_report_engine's tiny PPLCNet trained 1 epoch by tools/train.py (about 2 minutes of CPU).
"""

import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest

from conftest import python_cli
from test_report_engine import TRAIN_COUNTS, _run, trained  # noqa: F401  (the module's trained model)

pytestmark = pytest.mark.engine


def _rows(stdout: str) -> List[List[str]]:
    return [line.split() for line in stdout.splitlines() if line.startswith("  ") and "%" in line]


@pytest.mark.parametrize("method", ["logit-adjust", "tau-norm"])
def test_tau_auto_on_a_held_out_list_equals_tau_auto_on_its_saved_logits(trained: Dict[str, object],  # noqa: F811
                                                                          method: str, tmp_path: Path) -> None:
    root = trained["root"]
    base = ["adjust", "--model", str(trained["model"]), "--train-list", str(trained["train_list"]),
            "--method", method, "--tau", "auto"]
    from_list = _run(python_cli(*base, "--val-list", str(trained["eval_list"]), "--config", str(trained["config"]),
                                "--paddleclas", str(trained["checkout"]), "--device", "cpu",
                                "-o", str(tmp_path / "from_list.pdparams")), root)
    from_logits = _run(python_cli(*base, "--logits", str(trained["logits"]),
                                  "-o", str(tmp_path / "from_logits.pdparams")), root)
    assert _rows(from_list.stdout) == _rows(from_logits.stdout) and len(_rows(from_list.stdout)) == 41
    assert (tmp_path / "from_list.pdparams").read_bytes() == (tmp_path / "from_logits.pdparams").read_bytes()
    assert (tmp_path / "from_list.tau.png").is_file() and "Traceback" not in from_list.stderr

    # the curve, from the saved logits in float64 (logit adjustment: needs only the counts)
    if method == "logit-adjust":
        with np.load(trained["logits"], allow_pickle=False) as saved:
            logits, labels = saved["logits"].astype(np.float64), saved["labels"]
        log_prior = np.log(np.asarray(TRAIN_COUNTS, np.float64) / sum(TRAIN_COUNTS))
        for row in _rows(from_list.stdout):
            predicted = (logits - float(row[0]) * log_prior).argmax(axis=1)
            recalls = [np.mean(predicted[labels == c] == c) for c in range(len(TRAIN_COUNTS))]
            assert float(row[1].rstrip("%")) == pytest.approx(100 * np.mean(recalls), abs=0.005), row


def test_val_list_needs_its_config_and_checkout(trained: Dict[str, object], tmp_path: Path) -> None:  # noqa: F811
    done = _run(python_cli("adjust", "--model", str(trained["model"]), "--train-list", str(trained["train_list"]),
                           "--tau", "auto", "--val-list", str(trained["eval_list"]), "-o", str(tmp_path / "o.pdparams")),
                trained["root"], ok=False)
    assert done.returncode == 2 and "--val-list needs --config" in done.stderr
    assert not (tmp_path / "o.pdparams").exists() and sys.executable


DOC_COMMANDS = [
    "csce-config report --model output/best_model.pdparams --config my_config.yaml --paddleclas PaddleClas "
    "--val-list val_holdout.txt --out report_val --save-logits val.npz",
    "csce-config adjust --model output/best_model.pdparams --train-list train_rest.txt --tau auto --logits val.npz "
    "-o output/adjusted.pdparams",
    "csce-config adjust --model output/best_model.pdparams --train-list train_rest.txt --method tau-norm --tau auto "
    "--val-list val_holdout.txt --config my_config.yaml --paddleclas PaddleClas -o output/taunorm.pdparams",
]


def test_the_docs_commands(trained: Dict[str, object], tmp_path: Path) -> None:  # noqa: F811
    """docs/adjust.md's commands, as written, in a folder laid out as the page says."""
    import shlex
    import shutil

    (tmp_path / "output").mkdir()
    shutil.copy(trained["model"], tmp_path / "output" / "best_model.pdparams")
    shutil.copy(trained["config"], tmp_path / "my_config.yaml")
    shutil.copy(trained["train_list"], tmp_path / "train_rest.txt")
    shutil.copy(trained["eval_list"], tmp_path / "val_holdout.txt")
    (tmp_path / "PaddleClas").symlink_to(trained["checkout"])
    outputs = []
    for command in DOC_COMMANDS:
        words = shlex.split(command)
        outputs.append(_run(python_cli(*words[1:]), tmp_path))
    assert outputs[1].stdout.startswith("logit-adjust: balanced accuracy on the held-out data over tau = 0, 0.05, "
                                        "..., 2.0 (41 values)\n  tau   balanced   top-1\n  0.00 ")
    assert outputs[2].stdout.startswith("tau-norm: balanced accuracy on the held-out data over tau = 0, 0.05")
    for name in ("adjusted", "taunorm"):
        assert (tmp_path / "output" / f"{name}.pdparams").is_file() and (tmp_path / "output" / f"{name}.tau.png").is_file()
