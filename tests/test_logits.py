"""Saved logits: what save_logits writes load_logits gives back exactly, with no pickle, and bad files are refused."""

import json
from pathlib import Path

import numpy as np
import pytest

from ppcls_csce.errors import CsceError
from ppcls_csce.logits import load_logits, save_logits


def test_round_trip_keeps_values_dtypes_and_meta(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(7, 4))
    labels = np.array([0, 1, 2, 3, 3, 2, 1])
    path = tmp_path / "l.npz"
    save_logits(str(path), logits, labels, [10, 5, 2, 1], {"model": "m.pdparams", "class_num": 4})
    with np.load(path, allow_pickle=False) as data:  # readable without pickle, with the agreed keys and dtypes
        assert set(data.files) == {"logits", "labels", "train_counts", "meta"}
        assert data["logits"].dtype == np.float32 and data["labels"].dtype == np.int64
        assert data["train_counts"].dtype == np.int64 and data["meta"].shape == ()
        assert json.loads(str(data["meta"][()]))["class_num"] == 4
    back = load_logits(str(path))
    np.testing.assert_array_equal(back.logits, logits.astype(np.float32))
    np.testing.assert_array_equal(back.labels, labels)
    np.testing.assert_array_equal(back.train_counts, [10, 5, 2, 1])
    assert back.meta == {"model": "m.pdparams", "class_num": 4} and back.class_num == 4


def test_unknown_counts_leave_the_key_out(tmp_path: Path) -> None:
    path = tmp_path / "l.npz"
    save_logits(str(path), np.zeros((2, 3)), [0, 2], None, {})
    with np.load(path, allow_pickle=False) as data:
        assert "train_counts" not in data.files
    assert load_logits(str(path)).train_counts is None


@pytest.mark.parametrize("arrays, words", [
    ({"logits": np.zeros((3, 2), np.float32), "labels": np.array([0, 1, 2])}, "labels must lie in [0, 2)"),
    ({"logits": np.zeros((3, 2), np.float32), "labels": np.array([0, 1])}, "labels must be [N] = [3]"),
    ({"labels": np.array([0])}, "no logits"),
    ({"logits": np.zeros((2, 2), np.float32), "labels": np.array([0, 1]), "train_counts": np.array([1])},
     "train_counts must be [C] = [2]"),
])
def test_bad_files_are_one_located_line(tmp_path: Path, arrays: dict, words: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(CsceError) as caught:
        load_logits(str(path))
    (problem,) = caught.value.problems
    assert problem.path == str(path) and words in problem.message and problem.rule == "logits"


def test_a_pickled_object_array_is_refused_without_running(tmp_path: Path) -> None:
    path = tmp_path / "obj.npz"
    np.savez(path, logits=np.array([object()], dtype=object), labels=np.array([0]))
    with pytest.raises(CsceError, match="cannot be read"):
        load_logits(str(path))
    not_npz = tmp_path / "x.npz"
    not_npz.write_text("hello")
    with pytest.raises(CsceError, match="cannot be read"):
        load_logits(str(not_npz))


def test_nothing_is_written_when_the_arrays_are_bad(tmp_path: Path) -> None:
    path = tmp_path / "l.npz"
    with pytest.raises(CsceError):
        save_logits(str(path), np.zeros((2, 3)), [0, 5], None, {})
    assert not path.exists()
