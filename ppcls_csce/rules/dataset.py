"""What PaddleClas's ImageNetDataset needs of its own keys, before any loss is involved."""

from typing import Iterator

from ..report import Problem
from .base import ERROR, Context, Rule


def check_delimiter(context: Context) -> Iterator[Problem]:
    """`delimiter` of a DataLoader dataset must be a non-empty string (or absent, one space): ImageNetDataset
    calls `line.split(delimiter)`, which fails on the first line for a number (`delimiter: 3`) or an empty
    string; gen and validate would otherwise read the list with a space and count something else."""
    loaders = context.source.get(("DataLoader",))
    if not isinstance(loaders, dict):
        return
    for mode, loader in loaders.items():
        dataset = loader.get("dataset") if isinstance(loader, dict) else None
        if isinstance(dataset, dict) and "delimiter" in dataset:
            value = dataset["delimiter"]
            if value is not None and not (isinstance(value, str) and value):
                yield context.problem(DELIMITER, ("DataLoader", mode, "dataset", "delimiter"),
                                      f"DataLoader.{mode}.dataset.delimiter must be a non-empty string (PaddleClas "
                                      f"splits each list line on it), got {value!r}; quote it, e.g. \" \" or \"\\t\"")


DELIMITER = Rule(
    "dataset-delimiter", ERROR,
    "A dataset `delimiter` that is not a non-empty string (`delimiter: 3`, `delimiter: \"\"`).",
    check=check_delimiter,
)

RULES = [DELIMITER]
