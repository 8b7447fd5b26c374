"""The safe model-file loader: what paddle.save writes comes back as numpy arrays; a crafted pickle is refused
by name before any of it runs (the marker file its __reduce__ would write never appears)."""

import collections
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ppcls_csce.errors import CsceError
from ppcls_csce.model_file import load_object, load_state


class _Evil:
    """Unpickling this calls os.system, which writes the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


class _EvilEval:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (eval, (f"open({str(self.marker)!r}, 'w').close()",))


def _state(rng: np.random.Generator) -> collections.OrderedDict:
    """A state dict as paddle.save pickles one: each Tensor as (name, ndarray), plus numbers and a string."""
    return collections.OrderedDict([
        ("conv.weight", ("conv2d_0.w_0", rng.normal(size=(4, 3, 3, 3)).astype("float32"))),
        ("fc.weight", ("linear_0.w_0", rng.normal(size=(4, 5)).astype("float32"))),
        ("fc.bias", ("linear_0.b_0", np.zeros(5, "float32"))),
        ("loss_func.0.train_steps", ("t", np.array([3], "int64"))),
        ("half", np.ones(2, "float16")), ("epoch", 3), ("lr", np.float32(0.1)),
    ])


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_what_pickle_writes_for_a_state_dict_is_read_back(tmp_path: Path, protocol: int) -> None:
    saved = _state(np.random.default_rng(protocol))
    path = tmp_path / "m.pdparams"
    path.write_bytes(pickle.dumps(saved, protocol=protocol))
    state = load_state(str(path))
    assert list(state) == list(saved)
    for name, value in saved.items():
        expected = value[1] if isinstance(value, tuple) else np.asarray(value)
        np.testing.assert_array_equal(state[name], expected)
        assert state[name].dtype == expected.dtype


@pytest.mark.parametrize("evil", [_Evil, _EvilEval])
@pytest.mark.parametrize("where", ["top", "inside"])
def test_a_crafted_reduce_is_refused_and_never_runs(tmp_path: Path, evil: type, where: str) -> None:
    marker = tmp_path / "ran"
    payload = evil(marker)
    obj = payload if where == "top" else {"fc.bias": ("b", np.zeros(2, "float32")), "x": [1, payload]}
    path = tmp_path / "evil.pdparams"
    path.write_bytes(pickle.dumps(obj, protocol=2))
    with pytest.raises(CsceError) as caught:
        load_state(str(path))
    (problem,) = caught.value.problems
    assert problem.path == str(path) and problem.rule == "model-file"
    assert "nothing in it was run" in problem.message
    assert re.search(r"it names \w+\.(system|eval),", problem.message)
    assert not marker.exists()


def test_an_object_array_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "obj.pdparams"
    path.write_bytes(pickle.dumps({"w": np.array([1, "x"], dtype=object)}))
    with pytest.raises(CsceError, match="dtype object"):
        load_state(str(path))


def test_not_a_dict_missing_and_garbage_are_one_line(tmp_path: Path) -> None:
    listed = tmp_path / "list.pdparams"
    listed.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(CsceError, match="not a state dict"):
        load_state(str(listed))
    with pytest.raises(CsceError, match="no such file"):
        load_state(str(tmp_path / "absent.pdparams"))
    junk = tmp_path / "junk.pdparams"
    junk.write_bytes(b"\x80\x04garbage")
    with pytest.raises(CsceError, match="cannot be read"):
        load_state(str(junk))
    assert load_object(str(listed)) == [1, 2]


def test_big_arrays_split_by_paddle_save_are_joined(tmp_path: Path) -> None:
    whole = np.arange(12, dtype="float32").reshape(3, 4)
    flat = whole.ravel()
    saved = {"w@@.0": flat[:5], "w@@.1": flat[5:], "b": np.ones(2, "float32"),
             "UnpackBigParamInfor@@": {"w": {"OriginShape": (3, 4), "slices": ["w@@.0", "w@@.1"]}}}
    path = tmp_path / "big.pdparams"
    path.write_bytes(pickle.dumps(saved, protocol=2))
    state = load_state(str(path))
    np.testing.assert_array_equal(state["w"], whole)
    assert set(state) == {"w", "b"}


def test_a_file_paddle_save_wrote_is_read_like_paddle_load(tmp_path: Path) -> None:
    """paddle.save itself (in a subprocess, so this module needs no paddle): the same arrays as paddle.load."""
    pytest.importorskip("paddle", reason="paddle.save needs paddle")
    path = tmp_path / "real.pdparams"
    script = (
        "import sys, numpy as np, paddle\n"
        "layer = paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 3), paddle.nn.BatchNorm2D(4), paddle.nn.Linear(4, 6))\n"
        "sd = layer.state_dict()\n"
        "paddle.save(sd, sys.argv[1])\n"
        "back = paddle.load(sys.argv[1])\n"
        "np.savez(sys.argv[1] + '.npz', **{k: v.numpy() for k, v in back.items()})\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, capture_output=True)
    state = load_state(str(path))
    with np.load(str(path) + ".npz") as expected:
        assert list(state) == list(expected.files)
        for name in expected.files:
            np.testing.assert_array_equal(state[name], expected[name])
            assert state[name].dtype == expected[name].dtype
