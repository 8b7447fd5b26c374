"""CostSensitiveCE: class-weighted cross-entropy (CS_CE) for PaddleClas, with deferred re-weighting.

w_c = (N_min / N_c) ** gamma (Zhang et al., AAAI 2021). Each sample i has a target distribution t_i
(one-hot, or the float [N, C] label that mixup/cutmix produce: probabilities, rows summing to 1, used
as given, NOT softmaxed), optionally smoothed to (1 - epsilon) * t_i + epsilon / C, and a weight
s_i = t_i . w (w[y_i] for a plain hard label).
With CE_i = -sum_c t_ic * log_softmax(x)_ic:
  mean: sum_i s_i * CE_i / sum_i s_i  (what Paddle's and PyTorch's F.cross_entropy(weight=w) give for hard labels)
  sum:  sum_i s_i * CE_i
  none: s_i * CE_i, shaped like F.cross_entropy(reduction='none'): [N] for [N] labels, [N, 1] for [N, 1]
        labels, [N] for probability labels.
Deferred re-weighting (DRW): with drw_start_epoch E (counted from 1) and iters_per_epoch I, the first
(E - 1) * I training-mode forward calls use w = 1 (plain cross-entropy, same smoothing), CS_CE after.

`csce-config install` copies this file into PaddleClas with the params import below replaced by the
text of params.py, so this module imports only paddle, numpy, the standard library and `.params`.
"""

from typing import Dict, Optional, Sequence, Union

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .params import (
    LOSS_KEY,
    check_drw,
    check_epsilon,
    check_gamma,
    check_num_class_list,
    check_reduction,
    class_weights,
    coerce_number,
)

_LOW_PRECISION = ("float16", "bfloat16")


class CostSensitiveCE(nn.Layer):
    """Cost-sensitive cross-entropy; PaddleClas builds it from `- CostSensitiveCE: {weight: 1.0, ...}`."""

    def __init__(
        self,
        num_class_list: Sequence[int],
        gamma: float = 1.0,
        epsilon: Optional[float] = None,
        reduction: str = "mean",
        drw_start_epoch: Optional[int] = None,
        iters_per_epoch: Optional[int] = None,
    ) -> None:
        super().__init__()
        if isinstance(num_class_list, (list, tuple)):
            # PyYAML leaves quoted or '1e3'-style numbers as strings; the checks then say what is wrong.
            num_class_list = [coerce_number(count) for count in num_class_list]
        self.num_class_list = check_num_class_list(num_class_list)
        self.gamma = check_gamma(coerce_number(gamma))
        self.epsilon = check_epsilon(coerce_number(epsilon))
        self.reduction = check_reduction(reduction)
        drw = check_drw(coerce_number(drw_start_epoch), coerce_number(iters_per_epoch))
        self.drw_start_epoch, self.iters_per_epoch = drw if drw is not None else (None, None)
        # CS_CE starts after this many training-mode forward calls (0: from the first one).
        self.switch_step = (drw[0] - 1) * drw[1] if drw is not None else 0
        self.num_classes = len(self.num_class_list)

        # Not persistable: a checkpoint must not bring back weights computed for other data.
        weight = paddle.to_tensor(class_weights(self.num_class_list, self.gamma), dtype="float64")
        weight.stop_gradient = True
        self.register_buffer("class_weight", weight, persistable=False)
        # Persistable: PaddleClas saves the loss's state_dict in every checkpoint, so DRW resumes at its step.
        steps = paddle.zeros([1], dtype="int64")
        steps.stop_gradient = True
        self.register_buffer("train_steps", steps, persistable=True)

    def extra_repr(self) -> str:
        drw = f", drw_start_epoch={self.drw_start_epoch}, iters_per_epoch={self.iters_per_epoch}"
        return (
            f"num_classes={self.num_classes}, gamma={self.gamma}, epsilon={self.epsilon}, "
            f"reduction={self.reduction}" + (drw if self.drw_start_epoch is not None else "")
        )

    def _weights(self, dtype: str) -> paddle.Tensor:
        """The class weights for this call: all ones before the DRW switch (no host sync: a tensor select)."""
        weight = self.class_weight
        if self.drw_start_epoch is not None:
            weight = paddle.where(self.train_steps >= self.switch_step, weight, paddle.ones_like(weight))
        return weight.astype(dtype)

    def forward(self, x: Union[paddle.Tensor, Dict[str, paddle.Tensor]], label: paddle.Tensor) -> Dict[str, paddle.Tensor]:
        logits = x["logits"] if isinstance(x, dict) else x
        num_classes = logits.shape[-1]
        if num_classes != self.num_classes:
            raise ValueError(
                f"CostSensitiveCE: the logits have {num_classes} classes but num_class_list has "
                f"{self.num_classes} counts; they must match (Arch.class_num)"
            )
        # fp16/bf16 logits (AMP) are upcast: a softmax over many classes needs float32, and the CPU
        # build of paddle has no fp16 kernels for it. The gradient flows back in the logits' dtype.
        if str(logits.dtype).split(".")[-1] in _LOW_PRECISION:
            logits = logits.astype("float32")
        dtype = logits.dtype

        soft = paddle.is_floating_point(label)
        if soft:
            if len(label.shape) != 2 or label.shape[-1] != num_classes:
                raise ValueError(
                    f"CostSensitiveCE: a float label must be [N, {num_classes}] class probabilities, "
                    f"got shape {list(label.shape)}; hard labels must be integers"
                )
            label_shape = None
        else:
            if len(label.shape) > 2 or (len(label.shape) == 2 and label.shape[-1] != 1):
                raise ValueError(
                    f"CostSensitiveCE: an integer label must be [N] or [N, 1], got shape {list(label.shape)}"
                )
            label_shape = list(label.shape)
            label = label.reshape([-1])

        weight = self._weights(dtype)  # read the step before counting this call
        if self.training:
            paddle.increment(self.train_steps)  # in place, one cheap op
        if soft or self.epsilon is not None:
            target = label.astype(dtype) if soft else F.one_hot(label, num_classes).astype(dtype)
            if self.epsilon is not None:
                target = target * (1.0 - self.epsilon) + self.epsilon / num_classes
            # The fused kernel, not log_softmax (which is ~30x slower on paddle's CPU build); its
            # gradient, softmax - target, is exact because each target row sums to 1.
            per_sample = F.cross_entropy(logits, target, soft_label=True, reduction="none").reshape([-1])
            sample_weight = paddle.matmul(target, weight)
        else:
            per_sample = F.cross_entropy(logits, label, reduction="none")
            sample_weight = paddle.gather(weight, label)
        weighted = sample_weight * per_sample

        if self.reduction == "mean":
            loss = weighted.sum() / sample_weight.sum()
        elif self.reduction == "sum":
            loss = weighted.sum()
        else:
            loss = weighted.reshape(label_shape) if label_shape is not None else weighted
        return {LOSS_KEY: loss}
