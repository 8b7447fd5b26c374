"""An independent float64 numpy statement of CS_CE, to check the paddle loss against (tests, `smoke`).

Written from the definition, not from loss.py: explicit one-hot targets, a log-sum-exp
log-softmax, and the weighted mean as a ratio of sums. numpy only.
"""

from typing import Optional, Sequence, Tuple

import numpy as np


def reference_weights(num_class_list: Sequence[int], gamma: float) -> np.ndarray:
    """w_c = (N_min / N_c) ** gamma in float64."""
    counts = np.asarray(num_class_list, dtype=np.float64)
    return (counts.min() / counts) ** float(gamma)


def reference_targets(label: np.ndarray, num_classes: int, epsilon: Optional[float] = None) -> np.ndarray:
    """[N, C] float64 target distributions: one-hot for integer labels ([N] or [N, 1]), as given for floats."""
    label = np.asarray(label)
    if np.issubdtype(label.dtype, np.integer):
        flat = label.reshape(-1)
        target = np.zeros((flat.size, num_classes), dtype=np.float64)
        target[np.arange(flat.size), flat] = 1.0
    else:
        target = label.astype(np.float64).reshape(-1, num_classes)
    if epsilon is not None:
        target = (1.0 - epsilon) * target + epsilon / num_classes
    return target


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _prepare(logits: np.ndarray, label: np.ndarray, num_class_list: Sequence[int], gamma: float,
             epsilon: Optional[float], weighted: bool) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float64 logits, [N, C] targets and the per-sample weights s_i = t_i . w."""
    logits = np.asarray(logits, dtype=np.float64)
    num_classes = logits.shape[1]
    target = reference_targets(label, num_classes, epsilon)
    weights = reference_weights(num_class_list, gamma) if weighted else np.ones(num_classes)
    return logits, target, target @ weights


def reference_loss(
    logits: np.ndarray,
    label: np.ndarray,
    num_class_list: Sequence[int],
    gamma: float = 1.0,
    epsilon: Optional[float] = None,
    reduction: str = "mean",
    weighted: bool = True,
) -> np.ndarray:
    """CS_CE in float64; `weighted=False` is plain cross-entropy (w = 1), what DRW uses before its switch.

    reduction 'none' returns [N] whatever the label shape.
    """
    logits, target, sample_weight = _prepare(logits, label, num_class_list, gamma, epsilon, weighted)
    per_sample = -(target * _log_softmax(logits)).sum(axis=1)
    if reduction == "none":
        return sample_weight * per_sample
    total = np.sum(sample_weight * per_sample)
    if reduction == "sum":
        return np.asarray(total)
    return np.asarray(total / np.sum(sample_weight))


def reference_grad(
    logits: np.ndarray,
    label: np.ndarray,
    num_class_list: Sequence[int],
    gamma: float = 1.0,
    epsilon: Optional[float] = None,
    reduction: str = "mean",
) -> np.ndarray:
    """d loss / d logits, analytic: dCE_i/dx_i = (sum_c t_ic) * softmax(x_i) - t_i, scaled by s_i (/ sum s)."""
    logits, target, sample_weight = _prepare(logits, label, num_class_list, gamma, epsilon, weighted=True)
    probs = np.exp(_log_softmax(logits))
    grad = sample_weight[:, None] * (target.sum(axis=1, keepdims=True) * probs - target)
    if reduction == "mean":
        grad = grad / sample_weight.sum()
    return grad
