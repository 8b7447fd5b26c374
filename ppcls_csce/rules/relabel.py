"""`relabel: True` on the train dataset, which breaks the order the counts are listed in."""

from typing import Iterator

from .. import ppconfig
from ..report import Problem
from .base import ERROR, Context, Rule, loss_entries


def check_relabel(context: Context) -> Iterator[Problem]:
    """With CostSensitiveCE, BalancedSoftmaxCE or ClassBalancedCE, `DataLoader.Train.dataset.relabel` must not be true: PaddleClas's ImageNetDataset
    maps labels through `enumerate(set(labels))`, in Python set order, not sorted order, so counts listed for
    labels 0..K-1 would belong to other classes. Relabel the list itself to 0..K-1 instead."""
    entries = loss_entries(context)
    if entries and ppconfig.relabels(context.source):
        name = entries[0].name
        yield context.problem(
            RELABEL, ppconfig.TRAIN_DATASET + ("relabel",),
            f"relabel: True with {name}: PaddleClas relabels in Python set order, not sorted order, so "
            "num_class_list would not line up with the classes; relabel the list to 0..K-1 and set relabel: False",
        )


RELABEL = Rule(
    "csce-relabel", ERROR,
    "`relabel: True` on the train dataset together with one of the three count-driven losses.",
    check=check_relabel,
)

RULES = [RELABEL]
