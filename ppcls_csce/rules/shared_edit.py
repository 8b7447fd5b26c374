"""The rule of an edit that would reach, through YAML sharing, a place nobody asked to change."""

from ..edit import SHARED_RULE
from .base import ERROR, DocumentedId

SHARED_EDIT = DocumentedId(
    SHARED_RULE, ERROR,
    "gen or validate --fix: the edit lands in a value an anchor shares with another place (an alias or a `<<:` "
    "merge key), so it would change that place too; refused, nothing written.",
    doc="YAML lets one value serve several places: `sampler: &s {...}` in DataLoader.Train and `sampler: *s` (or "
        "`<<: *s`) in DataLoader.Eval are one node. Editing it in place would give Eval the LongTailSampler that "
        "`gen --sampler` writes for Train (class-balanced sampling with replacement in evaluation: wrong figures), "
        "or change any other section that borrows a loss entry, a class count or a metric list. Every edit of gen "
        "and of validate --fix is checked against the anchors of the file before anything is written: one that "
        "lands in a shared value is refused at the anchor, unless the same edit was asked for at every place "
        "that uses it (`num_class_list: *counts` in two loss entries that both get the counts). Fix: write the "
        "value out in full at each place, then run again.",
)

IDS = [SHARED_EDIT]
