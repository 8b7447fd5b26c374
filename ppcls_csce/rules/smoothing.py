"""Balanced Softmax with label smoothing strong enough to undo it: the commonest class can no longer win.

Label smoothing epsilon over K classes trains towards the target 1 - epsilon + epsilon / K for the true class
and epsilon / K for every other, so the logit margin it drives a fitted image to is log(1 + K (1 - epsilon) /
epsilon) (4.51 for 0.1 over 10 classes), and no larger. Balanced Softmax trains the logits plus tau * log(N_c)
and predicts with the raw logits, so a fitted image of the commonest class is left a margin of that minus
tau * log(N_max / N_min) over the rarest one. Measured in examples/longtail (Fashion-MNIST, imbalance 100,
epsilon 0.1): the commonest class fell to 20% test accuracy; without the smoothing the loss worked.
"""

import math
from typing import Iterator, Optional, Tuple

from .. import params
from ..report import Problem
from .base import WARNING, Context, Rule, loss_entries


def smoothing_margin(epsilon: float, classes: int) -> float:
    """The log-odds of the smoothed target, the largest margin cross-entropy with label smoothing trains towards."""
    return math.log1p(classes * (1.0 - epsilon) / epsilon)


def swamped(counts: "list[int]", tau: float, epsilon: float) -> Optional[Tuple[float, float]]:
    """(tau * log(N_max / N_min), the smoothing margin) when the first is at least the second, else None."""
    shift = tau * math.log(max(counts) / min(counts))
    margin = smoothing_margin(epsilon, len(counts))
    return (shift, margin) if shift >= margin else None


def check_balanced_softmax_smoothing(context: Context) -> Iterator[Problem]:
    """A warning at `epsilon` of each Loss.Train BalancedSoftmaxCE whose tau-scaled log imbalance is at least
    the margin its label smoothing allows, with the tau that would fit."""
    for entry in loss_entries(context):
        if entry.name != params.BALANCED_SOFTMAX_NAME or entry.keys[:2] != ("Loss", "Train"):
            continue
        try:
            epsilon = params.check_epsilon(entry.value("epsilon"))
            counts = params.check_num_class_list(entry.value("num_class_list"))
            tau = params.check_tau(entry.value("tau", params.DEFAULT_TAU))
        except params.ParamError:
            continue  # csce-params reports it
        found = swamped(counts, tau, epsilon) if epsilon is not None and len(counts) > 1 else None
        if found is None:
            continue
        shift, margin = found
        yield context.problem(
            BALANCED_SOFTMAX_SMOOTHING, entry.keys + ("epsilon",),
            f"BalancedSoftmaxCE: label smoothing epsilon {epsilon:g} over {len(counts)} classes leaves a logit margin of at most "
            f"log(1 + K (1 - epsilon) / epsilon) = {margin:.2f}, and Balanced Softmax's tau * log(N_max / N_min) = "
            f"{shift:.2f} is larger: at test time the class of {max(counts)} images loses to the rarest even on "
            f"images it fits best; remove epsilon, or lower tau well below {margin / (shift / tau):.2f}",
        )


BALANCED_SOFTMAX_SMOOTHING = Rule(
    "balanced-softmax-smoothing", WARNING,
    "BalancedSoftmaxCE with label smoothing whose margin, log(1 + K (1 - epsilon) / epsilon), is no larger than "
    "tau * log(N_max / N_min): the commonest classes cannot win at test time.",
    check=check_balanced_softmax_smoothing,
)

RULES = [BALANCED_SOFTMAX_SMOOTHING]
