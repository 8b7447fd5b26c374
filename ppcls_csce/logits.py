"""Saved logits: one forward pass kept on disk, so a second report or a tau search needs no model or paddle.

The file is an .npz (numpy.savez) that numpy reads with allow_pickle=False, so loading it runs nothing:
`logits` float32 [N, C], `labels` int64 [N], `train_counts` int64 [C] (absent when unknown) and `meta`, a 0-d
unicode array holding a JSON object (model, config, list, class_num). save_logits writes it atomically;
load_logits checks every shape and dtype and names the file in one located line when something is off.
"""

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import numpy as np

from .atomic import write_atomic
from .errors import CsceError

RULE = "logits"


@dataclass
class Logits:
    """What one forward pass gave: logits [N, C], labels [N], the training counts [C] when known, and meta."""

    logits: np.ndarray
    labels: np.ndarray
    train_counts: Optional[np.ndarray] = None
    meta: Dict[str, Any] = field(default_factory=dict)

    @property
    def class_num(self) -> int:
        return int(self.logits.shape[1])


def _refuse(path: str, message: str) -> CsceError:
    return CsceError(message, path=path, rule=RULE)


def _check(path: str, logits: np.ndarray, labels: np.ndarray, train_counts: Optional[np.ndarray]) -> None:
    if logits.ndim != 2 or logits.shape[1] < 1:
        raise _refuse(path, f"logits must be [N, C] with C >= 1, got shape {list(logits.shape)}")
    if labels.shape != (logits.shape[0],):
        raise _refuse(path, f"labels must be [N] = [{logits.shape[0]}], got shape {list(labels.shape)}")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise _refuse(path, f"labels must lie in [0, {logits.shape[1]}), got {int(labels.min())}..{int(labels.max())}")
    if logits.shape[0] == 0:
        raise _refuse(path, "no images: the logits are [0, C] (an empty evaluation list?)")
    if train_counts is not None and train_counts.shape != (logits.shape[1],):
        raise _refuse(path, f"train_counts must be [C] = [{logits.shape[1]}], got shape {list(train_counts.shape)}")
    if train_counts is not None and train_counts.size and train_counts.min() < 0:
        raise _refuse(path, f"train_counts must be image counts (>= 0), got {int(train_counts.min())}")
    if not np.isfinite(logits).all():
        raise _refuse(path, "logits hold NaN or infinite values")


def save_logits(path: str, logits: Any, labels: Any, train_counts: Any = None,
                meta: Optional[Dict[str, Any]] = None) -> None:
    """Write the .npz atomically (nothing half written); train_counts None leaves the key out."""
    arrays: Dict[str, np.ndarray] = {
        "logits": np.ascontiguousarray(logits, dtype=np.float32),
        "labels": np.ascontiguousarray(labels, dtype=np.int64),
    }
    counts = None if train_counts is None else np.ascontiguousarray(train_counts, dtype=np.int64)
    _check(path, arrays["logits"], arrays["labels"], counts)
    if counts is not None:
        arrays["train_counts"] = counts
    arrays["meta"] = np.array(json.dumps(meta or {}, sort_keys=True), dtype=np.str_)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_atomic(path, buffer.getvalue())


def load_logits(path: str) -> Logits:
    """Read and check a file save_logits wrote; one located line (CsceError) for anything else."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a bare .npy array: no labels, no class counts
            raise _refuse(path, "not a saved-logits file: one array, not an .npz (write one with report --save-logits)")
        with loaded as data:
            names = set(data.files)
            missing = {"logits", "labels"} - names
            if missing:
                raise _refuse(path, f"not a saved-logits file: no {', '.join(sorted(missing))} "
                                    "(write one with report --save-logits)")
            logits = data["logits"]
            labels = data["labels"]
            counts = data["train_counts"] if "train_counts" in names else None
            meta_text = str(data["meta"][()]) if "meta" in names else "{}"
    except CsceError:
        raise
    except FileNotFoundError:
        raise _refuse(path, "no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as error:
        first = (str(error).splitlines() or [""])[0]
        raise _refuse(path, f"cannot be read as a saved-logits .npz ({type(error).__name__}: {first})") from None
    if logits.dtype.kind != "f" or labels.dtype.kind not in "iu" or (counts is not None and counts.dtype.kind not in "iu"):
        raise _refuse(path, f"wrong dtypes (logits {logits.dtype}, labels {labels.dtype}); "
                            "expected float logits and integer labels")
    logits = logits.astype(np.float32, copy=False)
    labels = labels.astype(np.int64, copy=False)
    counts = None if counts is None else counts.astype(np.int64, copy=False)
    _check(path, logits, labels, counts)
    try:
        meta = json.loads(meta_text)
    except ValueError as error:
        raise _refuse(path, f"meta is not JSON ({error})") from None
    if not isinstance(meta, dict):
        raise _refuse(path, "meta must be a JSON object")
    return Logits(logits, labels, counts, meta)
