"""Choosing tau on held-out data: balanced accuracy of the adjusted logits over a fixed grid, and the curve.

Menon et al. tune the logit-adjustment tau, and Kang et al. the tau-normalisation tau, on held-out data; the
test set must not be used (that is leakage). Both adjustments map the logits class by class, z * scale + offset
(adjust.affine), so the search needs only the held-out logits and labels, never the model again: a few passes
of numpy over the logits in float32 (what the adjusted model computes in), in row blocks that stay in the cache
while every tau is tried on them (bench/bench_tau.py: 50,000 x 1,000 logits, 41 taus).

Balanced accuracy is the mean recall of the classes that have held-out images; classes without any are named
and left out (their recall is unknown, not 0). The chosen tau is the grid point of the highest balanced accuracy,
the smallest such tau on a tie (the least change of the model).
"""

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

GRID: Tuple[float, ...] = tuple(round(0.05 * step, 2) for step in range(41))  # 0, 0.05, ..., 2.0
GRID_TEXT = "0, 0.05, ..., 2.0 (41 values)"
_BLOCK = 256  # rows per block: 256 x 1,000 float32 = 1 MB, which stays in the cache across the taus

Affine = Callable[[float], Tuple[np.ndarray, np.ndarray]]  # tau -> (scale [C], offset [C])


@dataclass
class Curve:
    """Balanced accuracy (and top-1) of every tau of the grid, and which tau won."""

    taus: List[float]
    balanced: List[float]
    top1: List[float]
    missing: List[int] = field(default_factory=list)  # classes with no held-out image (left out of balanced)

    @property
    def best(self) -> int:
        """Index of the chosen tau: the highest balanced accuracy, the smallest tau on a tie."""
        return int(np.argmax(np.asarray(self.balanced)))

    @property
    def tau(self) -> float:
        return self.taus[self.best]


def predictions(logits: np.ndarray, scales: np.ndarray, offsets: np.ndarray,
                center: Optional[np.ndarray] = None) -> np.ndarray:
    """[T, N]: argmax over classes of (logits - center) * scales[t] + offsets[t] for every t, in float32 (as the
    model computes). Row block by row block, every tau on a block while it is in the cache: the logits are read
    from memory once; a scale of all ones or an offset of all zeros costs nothing."""
    scales, offsets = np.atleast_2d(scales).astype(np.float32), np.atleast_2d(offsets).astype(np.float32)
    ones, zeros = (scales == 1.0).all(axis=1), (offsets == 0.0).all(axis=1)
    out = np.empty((len(scales), len(logits)), dtype=np.int64)
    buffer = np.empty((min(_BLOCK, len(logits)), logits.shape[1]), dtype=np.float32)
    for first in range(0, len(logits), _BLOCK):
        block = np.asarray(logits[first:first + _BLOCK], dtype=np.float32)
        if center is not None:
            block = block - np.asarray(center, dtype=np.float32)
        work = buffer[:len(block)]
        for index in range(len(scales)):
            if ones[index] and zeros[index]:
                work = block
            elif ones[index]:
                work = np.add(block, offsets[index], out=buffer[:len(block)])
            else:
                work = np.multiply(block, scales[index], out=buffer[:len(block)])
                if not zeros[index]:
                    work += offsets[index]
            out[index, first:first + len(block)] = work.argmax(axis=1)
    return out


def balanced_accuracy(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> Tuple[float, List[int]]:
    """(mean recall over the classes that have images, the classes that have none)."""
    totals = np.bincount(labels, minlength=num_classes)
    right = np.bincount(labels[predicted == labels], minlength=num_classes)
    present = totals > 0
    return float((right[present] / totals[present]).mean()), np.flatnonzero(~present).tolist()


def search(logits: np.ndarray, labels: np.ndarray, affine: Affine, grid: Sequence[float] = GRID,
           center: Optional[np.ndarray] = None) -> Curve:
    """Balanced accuracy over the grid; `labels` must have at least one image. With `center` (a [C] vector that
    does not depend on tau, as tau-norm's bias), the same predictions are computed as (logits - center) * scale +
    (offset + center * scale): one operation a tau instead of two."""
    num_classes = logits.shape[1]
    labels = np.asarray(labels, dtype=np.int64)
    pairs = [affine(float(tau)) for tau in grid]
    scales = np.stack([scale for scale, _ in pairs])
    offsets = np.stack([offset for _, offset in pairs])
    if center is not None:
        offsets = offsets + center * scales  # exactly 0 for tau-norm: -b s + b s
    every = predictions(logits, scales, offsets, center)
    curve = Curve([], [], [])
    for tau, predicted in zip(grid, every):
        balanced, curve.missing = balanced_accuracy(predicted, labels, num_classes)
        curve.taus.append(float(tau))
        curve.balanced.append(balanced)
        curve.top1.append(float((predicted == labels).mean()))
    return curve


def table(curve: Curve, method: str) -> str:
    """The curve as text for the terminal, the chosen row marked."""
    lines = [f"{method}: balanced accuracy on the held-out data over tau = {GRID_TEXT if curve.taus == list(GRID) else 'the grid'}",
             "  tau   balanced   top-1"]
    for index, (tau, balanced, top1) in enumerate(zip(curve.taus, curve.balanced, curve.top1)):
        mark = "  <- chosen" if index == curve.best else ""
        lines.append(f"  {tau:4.2f}  {100 * balanced:7.2f}%  {100 * top1:6.2f}%{mark}")
    return "\n".join(lines) + "\n"


def plot(curve: Curve, method: str, path: str) -> None:
    """The curve as a PNG: balanced accuracy and top-1 against tau, the chosen tau marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .atomic import write_png

    figure, axis = plt.subplots(figsize=(6.4, 4.0))
    axis.plot(curve.taus, [100 * b for b in curve.balanced], marker=".", label="balanced accuracy")
    axis.plot(curve.taus, [100 * t for t in curve.top1], marker=".", alpha=0.6, label="top-1")
    axis.axvline(curve.tau, color="grey", linestyle="--", label=f"chosen tau {curve.tau:g}")
    axis.set_xlabel("tau")
    axis.set_ylabel("held-out accuracy (%)")
    axis.set_title(f"{method}: tau chosen on held-out data")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    write_png(figure, path)
    plt.close(figure)
