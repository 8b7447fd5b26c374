"""Count-driven cross-entropies for PaddleClas, with deferred re-weighting (DRW).

CostSensitiveCE (CS_CE, Zhang et al., AAAI 2021): w_c = (N_min / N_c) ** gamma.
ClassBalancedCE (Cui et al., CVPR 2019): w_c = (1 - beta) / (1 - beta ** N_c), rescaled to sum to C.
BalancedSoftmaxCE (Ren et al., NeurIPS 2020; the logit-adjusted loss of Menon et al., ICLR 2021):
  CE(z_i + tau * log(N_c), y_i); only training changes, the model's raw logits are what it predicts with.

Each sample i has a target distribution t_i (one-hot, or the float [N, C] label that mixup/cutmix produce:
probabilities, rows summing to 1, used as given, NOT softmaxed), optionally smoothed to
(1 - epsilon) * t_i + epsilon / C. With CE_i = -sum_c t_ic * log_softmax(x)_ic:
  weighted losses, s_i = t_i . w (w[y_i] for a hard label):
    mean: sum_i s_i * CE_i / sum_i s_i  (what Paddle's and PyTorch's F.cross_entropy(weight=w) give for hard labels)
    sum:  sum_i s_i * CE_i;  none: s_i * CE_i
  Balanced Softmax: x = z + tau * log(n); mean is the plain mean, sum the sum, none CE_i.
  none is shaped like F.cross_entropy(reduction='none'): [N] for [N] labels, [N, 1] for [N, 1], [N] for probabilities.
DRW: with drw_start_epoch E (counted from 1) and iters_per_epoch I, the first (E - 1) * I training-mode forward
calls are plain cross-entropy (same smoothing), the configured loss after.

`csce-config install` copies this file into PaddleClas with the `.params` and `.drw` imports below replaced by
the text of those files, so this module imports only paddle, the standard library, `.params` and `.drw`.
"""

import logging
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .params import (
    BALANCED_SOFTMAX_NAME,
    CLASS_BALANCED_NAME,
    LOSS_NAME,
    LOSSES,
    check_drw,
    check_epsilon,
    check_num_class_list,
    check_reduction,
    coerce_number,
)
from .drw import drw_drift_message, resume_message

_LOW_PRECISION = ("float16", "bfloat16")


def _log_once(message: str) -> None:
    """Into PaddleClas's log when PaddleClas has loaded its logger (rank 0 only, like its own lines), else
    Python logging (stderr). Looked up, not imported: this file runs without PaddleClas too."""
    logger = sys.modules.get("ppcls.utils.logger")
    try:
        logger.warning(message)  # type: ignore[union-attr]
    except Exception:  # no PaddleClas, or its logger not initialised (its warning() then raises)
        logging.getLogger(__name__).warning(message)


class _CountLoss(nn.Layer):
    """What the three losses share: counts, per-class vector, DRW step counter and switch, label checks, targets.

    A subclass names itself (NAME), and says how (logits, labels) become per-sample losses in `_per_sample`.
    """

    NAME = ""
    _VECTOR = "class_weight"  # the buffer's name: CostSensitiveCE's `class_weight` is what users know

    def __init__(self, num_class_list: Sequence[int], strength: float, epsilon: Optional[float], reduction: str,
                 drw_start_epoch: Optional[int], iters_per_epoch: Optional[int]) -> None:
        super().__init__()
        spec = LOSSES[self.NAME]
        if isinstance(num_class_list, (list, tuple)):
            # PyYAML leaves quoted or '1e3'-style numbers as strings; the checks then say what is wrong.
            num_class_list = [coerce_number(count) for count in num_class_list]  # type: ignore[misc]
        self.num_class_list = check_num_class_list(num_class_list)
        setattr(self, spec.strength, spec.rule(coerce_number(strength)))
        self.strength_name = spec.strength  # gamma, beta or tau: the attribute holding the formula's parameter
        self.epsilon = check_epsilon(coerce_number(epsilon))
        self.reduction = check_reduction(reduction)
        drw = check_drw(coerce_number(drw_start_epoch), coerce_number(iters_per_epoch))
        self.drw_start_epoch: Optional[int] = drw[0] if drw is not None else None
        self.iters_per_epoch: Optional[int] = drw[1] if drw is not None else None
        # The configured loss starts after this many training-mode forward calls (0: from the first one).
        self.switch_step = (drw[0] - 1) * drw[1] if drw is not None else 0
        self.num_classes = len(self.num_class_list)
        self._first_call_checked = False

        # Not persistable: a checkpoint must not bring back weights computed for other data.
        vector = paddle.to_tensor(spec.per_class(self.num_class_list, getattr(self, spec.strength)), dtype="float64")
        vector.stop_gradient = True
        self.register_buffer(self._VECTOR, vector, persistable=False)
        # Persistable: PaddleClas saves the loss's state_dict in every checkpoint, so DRW resumes at its step.
        steps = paddle.zeros([1], dtype="int64")
        steps.stop_gradient = True
        self.register_buffer("train_steps", steps, persistable=True)

    def extra_repr(self) -> str:
        drw = f", drw_start_epoch={self.drw_start_epoch}, iters_per_epoch={self.iters_per_epoch}"
        strength = f"{self.strength_name}={getattr(self, self.strength_name)}"
        return (f"num_classes={self.num_classes}, {strength}, epsilon={self.epsilon}, reduction={self.reduction}"
                + (drw if self.drw_start_epoch is not None else ""))

    def _vector(self, dtype: Any, neutral: float) -> paddle.Tensor:
        """The per-class vector for this call; `neutral` everywhere before the DRW switch (a tensor select, no sync)."""
        vector = getattr(self, self._VECTOR)
        if self.drw_start_epoch is not None:
            vector = paddle.where(self.train_steps >= self.switch_step, vector, paddle.full_like(vector, neutral))
        return vector.astype(dtype)

    def skip_run_checks(self) -> None:
        """No first-call checks (epoch length against iters_per_epoch, a resumed counter): for a caller whose batches
        are not the training run's and which checked the schedule against the config itself (smoke)."""
        self._first_call_checked = True

    def _check_first_call(self, batch_size: int) -> None:
        """Once per run, with DRW: say when the counter does not start at 0, and when the run's epoch length moves the switch."""
        self._first_call_checked = True
        if self.drw_start_epoch is None or self.iters_per_epoch is None or self.switch_step == 0:
            return  # without DRW (or drw_start_epoch 1) neither the counter nor the epoch length changes anything
        step = int(self.train_steps.item())
        if step != 0:
            _log_once(resume_message(self.NAME, step, self.switch_step))
        world_size = max(1, int(paddle.distributed.get_world_size()))
        message = drw_drift_message(self.NAME, self.drw_start_epoch, self.iters_per_epoch,
                                    sum(self.num_class_list), batch_size, world_size)
        if message is not None:
            _log_once(message)

    def _labels(self, label: paddle.Tensor, num_classes: int) -> Tuple[paddle.Tensor, bool, Optional[List[int]]]:
        """(label, is a probability label, the shape `none` gives back) after checking the label's shape."""
        if paddle.is_floating_point(label):
            if len(label.shape) != 2 or label.shape[-1] != num_classes:
                raise ValueError(
                    f"{self.NAME}: a float label must be [N, {num_classes}] class probabilities, "
                    f"got shape {list(label.shape)}; hard labels must be integers"
                )
            return label, True, None
        if len(label.shape) > 2 or (len(label.shape) == 2 and label.shape[-1] != 1):
            raise ValueError(f"{self.NAME}: an integer label must be [N] or [N, 1], got shape {list(label.shape)}")
        return label.reshape([-1]), False, list(label.shape)

    def _target(self, label: paddle.Tensor, soft: bool, num_classes: int, dtype: Any) -> Optional[paddle.Tensor]:
        """The [N, C] target distribution, smoothed; None for hard labels without smoothing (the fast path)."""
        if not soft and self.epsilon is None:
            return None
        target = label.astype(dtype) if soft else F.one_hot(label, num_classes).astype(dtype)
        if self.epsilon is not None:
            # Tensor constants in the target's dtype: paddle 2.6 takes a Python float in `tensor * float` as a
            # float32 attribute, which costs a float64 loss ~1e-9 of relative precision.
            keep = paddle.full([1], 1.0 - self.epsilon, dtype=target.dtype)
            spread = paddle.full([1], self.epsilon / num_classes, dtype=target.dtype)
            target = target * keep + spread
        return target

    @staticmethod
    def _cross_entropy(logits: paddle.Tensor, label: paddle.Tensor, target: Optional[paddle.Tensor]) -> paddle.Tensor:
        """[N] CE_i. The fused kernel, not log_softmax (~30x slower on paddle's CPU build); its soft-label
        gradient, softmax - target, is exact because each target row sums to 1."""
        if target is None:
            return F.cross_entropy(logits, label, reduction="none").reshape([-1])
        return F.cross_entropy(logits, target, soft_label=True, reduction="none").reshape([-1])

    def _per_sample(self, logits: paddle.Tensor, label: paddle.Tensor, target: Optional[paddle.Tensor]
                    ) -> Tuple[paddle.Tensor, Optional[paddle.Tensor]]:
        """(per-sample loss [N], per-sample weight [N] or None for the plain mean)."""
        raise NotImplementedError

    def forward(self, x: Union[paddle.Tensor, Dict[str, paddle.Tensor]], label: paddle.Tensor) -> Dict[str, paddle.Tensor]:
        logits = x["logits"] if isinstance(x, dict) else x
        num_classes = logits.shape[-1]
        if num_classes != self.num_classes:
            raise ValueError(
                f"{self.NAME}: the logits have {num_classes} classes but num_class_list has "
                f"{self.num_classes} counts; they must match (Arch.class_num)"
            )
        # fp16/bf16 logits (AMP) are upcast: a softmax over many classes needs float32, and the CPU
        # build of paddle has no fp16 kernels for it. The gradient flows back in the logits' dtype.
        if str(logits.dtype).split(".")[-1] in _LOW_PRECISION:
            logits = logits.astype("float32")
        label, soft, label_shape = self._labels(label, num_classes)
        target = self._target(label, soft, num_classes, logits.dtype)
        if self.training and not self._first_call_checked:
            self._check_first_call(int(label.shape[0]))
        per_sample, sample_weight = self._per_sample(logits, label, target)  # reads the step before counting
        if self.training:
            paddle.increment(self.train_steps)  # in place, one cheap op

        if sample_weight is not None:
            per_sample = sample_weight * per_sample
        if self.reduction == "mean":
            loss = per_sample.sum() / sample_weight.sum() if sample_weight is not None else per_sample.mean()
        elif self.reduction == "sum":
            loss = per_sample.sum()
        else:
            loss = per_sample.reshape(label_shape) if label_shape is not None else per_sample
        return {LOSSES[self.NAME].key: loss}


class _WeightedCE(_CountLoss):
    """A class-weighted cross-entropy: CostSensitiveCE and ClassBalancedCE differ only in the weight formula."""

    def _per_sample(self, logits: paddle.Tensor, label: paddle.Tensor, target: Optional[paddle.Tensor]
                    ) -> Tuple[paddle.Tensor, Optional[paddle.Tensor]]:
        weight = self._vector(logits.dtype, 1.0)
        sample_weight = paddle.gather(weight, label) if target is None else paddle.matmul(target, weight)
        return self._cross_entropy(logits, label, target), sample_weight


class CostSensitiveCE(_WeightedCE):
    """Cost-sensitive cross-entropy; PaddleClas builds it from `- CostSensitiveCE: {weight: 1.0, ...}`."""

    NAME = LOSS_NAME
    gamma: float

    def __init__(self, num_class_list: Sequence[int], gamma: float = LOSSES[LOSS_NAME].default,
                 epsilon: Optional[float] = None, reduction: str = "mean", drw_start_epoch: Optional[int] = None,
                 iters_per_epoch: Optional[int] = None) -> None:
        super().__init__(num_class_list, gamma, epsilon, reduction, drw_start_epoch, iters_per_epoch)


class ClassBalancedCE(_WeightedCE):
    """Class-balanced cross-entropy (effective number of samples); `- ClassBalancedCE: {weight: 1.0, beta: ...}`."""

    NAME = CLASS_BALANCED_NAME
    beta: float

    def __init__(self, num_class_list: Sequence[int], beta: float = LOSSES[CLASS_BALANCED_NAME].default,
                 epsilon: Optional[float] = None, reduction: str = "mean", drw_start_epoch: Optional[int] = None,
                 iters_per_epoch: Optional[int] = None) -> None:
        super().__init__(num_class_list, beta, epsilon, reduction, drw_start_epoch, iters_per_epoch)


class BalancedSoftmaxCE(_CountLoss):
    """Balanced Softmax: cross-entropy of the logits plus tau * log(N_c); `- BalancedSoftmaxCE: {weight: 1.0, tau: 1.0}`."""

    NAME = BALANCED_SOFTMAX_NAME
    _VECTOR = "logit_adjustment"
    tau: float

    def __init__(self, num_class_list: Sequence[int], tau: float = LOSSES[BALANCED_SOFTMAX_NAME].default,
                 epsilon: Optional[float] = None, reduction: str = "mean", drw_start_epoch: Optional[int] = None,
                 iters_per_epoch: Optional[int] = None) -> None:
        super().__init__(num_class_list, tau, epsilon, reduction, drw_start_epoch, iters_per_epoch)

    def _per_sample(self, logits: paddle.Tensor, label: paddle.Tensor, target: Optional[paddle.Tensor]
                    ) -> Tuple[paddle.Tensor, Optional[paddle.Tensor]]:
        adjusted = logits + self._vector(logits.dtype, 0.0)
        return self._cross_entropy(adjusted, label, target), None
