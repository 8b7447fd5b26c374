"""An independent float64 numpy statement of the three losses, to check the paddle losses against (tests, `smoke`).

Written from the definitions, not from loss.py or params.py: explicit one-hot targets, a log-sum-exp
log-softmax, the weighted mean as a ratio of sums, the class-balanced weights by plain numpy powers, the
Balanced Softmax adjustment from the class priors log(n_c / N) (the loss uses log n_c: the two must agree,
since the constant log N cancels in the softmax). numpy only.
"""

from typing import Optional, Sequence, Tuple

import numpy as np

COST_SENSITIVE, CLASS_BALANCED, BALANCED_SOFTMAX = "CostSensitiveCE", "ClassBalancedCE", "BalancedSoftmaxCE"


def reference_weights(num_class_list: Sequence[int], gamma: float) -> np.ndarray:
    """CS_CE: w_c = (N_min / N_c) ** gamma in float64."""
    counts = np.asarray(num_class_list, dtype=np.float64)
    return (counts.min() / counts) ** float(gamma)


def reference_class_balanced_weights(num_class_list: Sequence[int], beta: float) -> np.ndarray:
    """Cui et al.: w_c = (1 - beta) / (1 - beta ** N_c), then scaled so that the weights sum to C."""
    counts = np.asarray(num_class_list, dtype=np.float64)
    raw = (1.0 - beta) / (1.0 - np.power(float(beta), counts))
    return raw * (counts.size / raw.sum())


def reference_adjustment(num_class_list: Sequence[int], tau: float) -> np.ndarray:
    """Balanced Softmax's additive logit term, tau * log(prior_c), prior_c = N_c / N."""
    counts = np.asarray(num_class_list, dtype=np.float64)
    return float(tau) * np.log(counts / counts.sum())


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


def _reduce(per_sample: np.ndarray, sample_weight: np.ndarray, reduction: str, weighted_mean: bool) -> np.ndarray:
    if reduction == "none":
        return sample_weight * per_sample
    total = np.sum(sample_weight * per_sample)
    if reduction == "sum":
        return np.asarray(total)
    return np.asarray(total / (np.sum(sample_weight) if weighted_mean else per_sample.size))


def _grad(logits: np.ndarray, target: np.ndarray, sample_weight: np.ndarray, reduction: str,
          weighted_mean: bool) -> np.ndarray:
    """d/dx of the reduced loss: dCE_i/dx_i = (sum_c t_ic) * softmax(x_i) - t_i, scaled by s_i (then / sum s or / N)."""
    probs = np.exp(_log_softmax(logits))
    grad = sample_weight[:, None] * (target.sum(axis=1, keepdims=True) * probs - target)
    if reduction == "mean":
        grad = grad / (sample_weight.sum() if weighted_mean else logits.shape[0])
    return grad


def _prepare(name: str, logits: np.ndarray, label: np.ndarray, num_class_list: Sequence[int], strength: float,
             epsilon: Optional[float], switched: bool) -> Tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """(the logits the softmax sees, [N, C] targets, per-sample weights s_i = t_i . w, weighted mean?)."""
    logits = np.asarray(logits, dtype=np.float64)
    num_classes = logits.shape[1]
    target = reference_targets(label, num_classes, epsilon)
    if name == BALANCED_SOFTMAX:
        if switched:
            logits = logits + reference_adjustment(num_class_list, strength)[None, :]
        return logits, target, np.ones(target.shape[0]), False
    if name == COST_SENSITIVE:
        weights = reference_weights(num_class_list, strength)
    elif name == CLASS_BALANCED:
        weights = reference_class_balanced_weights(num_class_list, strength)
    else:
        raise ValueError(f"no reference for {name!r}")
    if not switched:
        weights = np.ones(num_classes)
    return logits, target, target @ weights, True


def reference_for(name: str, logits: np.ndarray, label: np.ndarray, num_class_list: Sequence[int], strength: float,
                  epsilon: Optional[float] = None, reduction: str = "mean", switched: bool = True
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """(loss, d loss / d logits) of loss `name` with its gamma / beta / tau `strength`; `switched=False` is the
    plain cross-entropy DRW uses before its switch. Reduction 'none' returns [N] and the gradient of its sum."""
    logits, target, sample_weight, weighted_mean = _prepare(name, logits, label, num_class_list, strength, epsilon,
                                                            switched)
    per_sample = -(target * _log_softmax(logits)).sum(axis=1)
    loss = _reduce(per_sample, sample_weight, reduction, weighted_mean)
    return loss, _grad(logits, target, sample_weight, reduction, weighted_mean)


def reference_loss(
    logits: np.ndarray,
    label: np.ndarray,
    num_class_list: Sequence[int],
    gamma: float = 1.0,
    epsilon: Optional[float] = None,
    reduction: str = "mean",
    weighted: bool = True,
) -> np.ndarray:
    """CS_CE in float64; `weighted=False` is plain cross-entropy (w = 1), what DRW uses before its switch."""
    return reference_for(COST_SENSITIVE, logits, label, num_class_list, gamma, epsilon, reduction, weighted)[0]


def reference_grad(
    logits: np.ndarray,
    label: np.ndarray,
    num_class_list: Sequence[int],
    gamma: float = 1.0,
    epsilon: Optional[float] = None,
    reduction: str = "mean",
) -> np.ndarray:
    """d CS_CE / d logits, analytic."""
    return reference_for(COST_SENSITIVE, logits, label, num_class_list, gamma, epsilon, reduction)[1]
