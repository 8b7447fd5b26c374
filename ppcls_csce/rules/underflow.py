"""A gamma so large that the rarest-to-commonest weight underflows float32, the dtype the loss computes in.

The arithmetic is params.weight_underflow (stdlib, beside the weight formula).
"""

import math
from typing import Iterator

from .. import params
from ..report import Problem
from .base import WARNING, Context, Rule, loss_entries


def check_weight_underflow(context: Context) -> Iterator[Problem]:
    """The weights `(N_min / N_c) ** gamma` are float32 in the loss: when gamma makes the commonest class's
    weight smaller than float32's smallest normal number (about 1.2e-38), it is 0 or imprecise there, and a
    batch of only that class gives a NaN loss. A warning at gamma, with the largest gamma that is safe."""
    for entry in loss_entries(context):
        if entry.name != params.LOSS_NAME:
            continue  # gamma is CostSensitiveCE's; class-balanced weights are rescaled to sum to C
        counts, gamma = entry.value("num_class_list"), entry.value("gamma", params.DEFAULT_GAMMA)
        try:
            found = params.weight_underflow(counts, params.check_gamma(gamma))
        except params.ParamError:
            continue  # csce-params reports it
        if found is not None:
            label, log10_weight, safe = found
            yield context.problem(
                WEIGHT_UNDERFLOW, entry.keys + (("gamma",) if "gamma" in entry.values else ()),
                f"gamma {gamma!r} makes the weight of class {label} ({max(counts)} images) about 1e{log10_weight:.0f}, "
                f"below float32's smallest normal number (1.2e-38): the loss computes in float32, where it is 0 or "
                f"imprecise, and a batch of only that class gives NaN; use gamma <= {math.floor(safe * 100) / 100:g}",
                at_key="gamma" not in entry.values,
            )


WEIGHT_UNDERFLOW = Rule(
    "csce-weight-underflow", WARNING,
    "A gamma so large that a class weight underflows float32 (NaN on a batch of only that class).",
    check=check_weight_underflow,
)

RULES = [WEIGHT_UNDERFLOW]
