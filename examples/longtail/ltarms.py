"""The methods the Fashion-MNIST experiment compares: how gen writes each arm's config, what each needs."""

import re
from dataclasses import dataclass
from typing import Sequence, Union


@dataclass(frozen=True)
class Arm:
    """One method: how gen writes its config, and what of the tool it needs."""

    key: str
    label: str
    gen: Sequence[str]  # gen flags; "{drw}" becomes the deferred epoch
    needs: str = ""  # "" | "loss" | "sampler" | "adjust" | "tau-auto": a gen flag or command not every version has
    trained: bool = True  # False: derived from the CE model, no training
    tau: Union[float, str] = 1.0  # a derived arm's tau, or "auto": chosen on the validation split
    method: str = "logit-adjust"  # a derived arm's `adjust --method`: logit-adjust or tau-norm
    smoothing: bool = True  # False: gen writes it from the base config with the label smoothing taken out

    @property
    def baseline(self) -> str:
        """The CE arm of the same label smoothing: what the arm is paired with, and a derived arm's model."""
        return "ce" if self.smoothing else "ce_plain"


ARMS = (
    Arm("ce", "CE", ("--gamma", "0", "--drw-epoch", "1")),  # --drw-epoch 1: no DRW (gen defers by default)
    Arm("cs_ce", "CS_CE (gamma 1, from epoch 1)", ("--gamma", "1", "--drw-epoch", "1")),
    Arm("drw", "DRW (CE, then CS_CE gamma 1)", ("--gamma", "1", "--drw-epoch", "{drw}")),
    Arm("balanced_softmax", "Balanced Softmax", ("--loss", "balanced-softmax"), needs="loss"),
    Arm("ce_posthoc", "CE + post-hoc adjustment (tau 1)", (), needs="adjust", trained=False),
    Arm("ce_posthoc_half", "CE + post-hoc adjustment (tau 0.5)", (), needs="adjust", trained=False, tau=0.5),
    Arm("ce_posthoc_auto", "CE + post-hoc adjustment (tau chosen on validation)", (), needs="tau-auto",
        trained=False, tau="auto"),
    Arm("ce_taunorm_auto", "CE + tau-normalisation (tau chosen on validation)", (), needs="tau-auto", trained=False,
        tau="auto", method="tau-norm"),
    Arm("drs", "DRS (CE, class-balanced sampling deferred)",
        ("--gamma", "0", "--drw-epoch", "1", "--sampler", "balanced", "--sampler-epoch", "{drw}"), needs="sampler"),
    # Without label smoothing (the base config's epsilon 0.1 caps a logit margin at log 91, below log 100)
    Arm("ce_plain", "CE, no label smoothing", ("--gamma", "0", "--drw-epoch", "1"), smoothing=False),
    Arm("balanced_softmax_plain", "Balanced Softmax, no label smoothing", ("--loss", "balanced-softmax"),
        needs="loss", smoothing=False),
    Arm("ce_plain_posthoc", "CE, no label smoothing, + post-hoc adjustment (tau 1)", (), needs="adjust",
        trained=False, smoothing=False),
)


def available(arm: Arm, gen_help: str, top_help: str, adjust_help: str = "") -> str:
    """Why this version of the tool cannot run `arm`, or '' when it can."""
    if arm.needs == "loss" and "--loss" not in gen_help:
        return "this ppcls_csce has no `gen --loss` (Balanced Softmax, issue 10)"
    if arm.needs == "sampler" and "--sampler" not in gen_help:
        return "this ppcls_csce has no `gen --sampler` (LongTailSampler, issue 11)"
    if arm.needs == "adjust" and not re.search(r"^\s+adjust\b", top_help, re.M):
        return "this ppcls_csce has no `adjust` command (post-hoc adjustment, issue 10)"
    if arm.needs == "tau-auto" and not ("tau-norm" in adjust_help and "auto" in adjust_help):
        return "this ppcls_csce has no `adjust --tau auto` / `--method tau-norm` (issue 25)"
    return ""


def arm_named(key: str) -> Arm:
    """The arm of that key (a derived arm's baseline, by name)."""
    return next(arm for arm in ARMS if arm.key == key)
