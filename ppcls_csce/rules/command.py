"""Rules that only a command checks: what gen needs of a config before it edits one, and bad input that is
not a config (a list file, a PaddleClas checkout, a missing dependency). Not run by validate: a config that
gen will not edit (FocalLoss, a multi-label dataset) is still a valid config."""

from typing import Iterator

from .. import params, ppconfig
from ..dataset_names import is_imagenet
from ..errors import INPUT_RULE
from ..report import Problem
from .base import ERROR, Context, Rule

TRAINABLE = (ppconfig.CE_NAME,) + tuple(params.LOSSES)


def check_gen_loss(context: Context) -> Iterator[Problem]:
    """gen edits a config only when Loss.Train is a list holding CELoss (which becomes the chosen loss) or one of
    CostSensitiveCE, BalancedSoftmaxCE, ClassBalancedCE (whose counts it updates): replacing any other loss would
    change what the model learns."""
    entries = context.source.get(("Loss", "Train"))
    if not isinstance(entries, list):
        yield context.problem(GEN_LOSS, ("Loss", "Train") if isinstance(context.source.get(("Loss",)), dict) else (),
                              "not a PaddleClas training config (no Loss.Train list); gen left it untouched")
        return
    names = {name for keys, name, _ in ppconfig.loss_entries(context.source) if keys[:2] == ("Loss", "Train")}
    if not names & set(TRAINABLE):
        found = ", ".join(sorted(names)) or "no loss"
        yield context.problem(GEN_LOSS, ("Loss", "Train"),
                              f"Loss.Train has {found} but no {', '.join(TRAINABLE)}; replacing "
                              "those losses would change what the model learns, so gen leaves it alone", at_key=True)


def check_gen_dataset(context: Context) -> Iterator[Problem]:
    """gen counts single-label ImageNetDataset lists (`path label` lines) only: the train dataset must be one
    (under any name PaddleClas binds to it, e.g. PaddleX's ClsDataset: dataset_names.py)."""
    dataset = ppconfig.train_dataset(context.source)
    if dataset is not None and not is_imagenet(dataset.get("name")):
        yield context.problem(GEN_DATASET, ppconfig.TRAIN_DATASET + ("name",),
                              f"the train dataset is {dataset.get('name')}, not a single-label ImageNetDataset list; "
                              "gen counts only those")


def check_smoke_loss(context: Context) -> Iterator[Problem]:
    """smoke runs every CostSensitiveCE, ClassBalancedCE and BalancedSoftmaxCE of Loss.Train: one must be there."""
    names = [name for keys, name, _ in ppconfig.loss_entries(context.source) if keys[:2] == ("Loss", "Train")]
    if not set(names) & set(params.LOSSES):
        found = ", ".join(names) or "no loss"
        yield context.problem(SMOKE_LOSS, ("Loss", "Train") if isinstance(context.source.get(("Loss",)), dict) else (),
                              f"Loss.Train has {found} but none of {', '.join(params.LOSSES)}; add one with: csce-config gen "
                              f"--config {context.path} --write", at_key=True)


GEN_LOSS = Rule(
    "gen-loss", ERROR,
    "gen: Loss.Train has no CELoss, CostSensitiveCE, BalancedSoftmaxCE or ClassBalancedCE (or is no list), so "
    "there is nothing to re-weight.",
    check=check_gen_loss,
)
GEN_DATASET = Rule(
    "gen-dataset", ERROR,
    "gen: the train dataset is not an ImageNetDataset, whose list gen can count.",
    check=check_gen_dataset,
)
SMOKE_LOSS = Rule(
    "smoke-loss", ERROR,
    "smoke: Loss.Train has no CostSensitiveCE, BalancedSoftmaxCE or ClassBalancedCE entry to build and run.",
    check=check_smoke_loss,
)
LIST_CLASSES = Rule(
    "list-classes", ERROR,
    "gen, stats, smoke: a class of 0..K-1 with no training image (its weight would be infinite), or an empty list.",
    doc="The weight of a class is (N_min / N_c) ** gamma, infinite for a class with no image: each such class is "
        "named, with where the class count K came from and how to change it (or --clamp-empty to count it as 1).",
)
INPUT = Rule(
    INPUT_RULE, ERROR,
    "Input a command cannot use: a list file that cannot be read, a folder that is no PaddleClas checkout, a "
    "missing optional dependency.",
    doc="Reported with the path it is about (or csce-config when it is about none) and exit 1, never a traceback.",
)

RULES = [GEN_LOSS, GEN_DATASET, SMOKE_LOSS, LIST_CLASSES, INPUT]
