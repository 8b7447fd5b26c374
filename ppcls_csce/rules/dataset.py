"""What PaddleClas's ImageNetDataset needs of its own keys, before any loss is involved."""

from typing import Iterator

from ..dataset_names import KNOWN_ALIASES, imagenet_names
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


def check_dataset_alias(context: Context) -> Iterator[Problem]:
    """With `--paddleclas DIR`: a dataset named by an alias of ImageNetDataset (ClsDataset, ShiTuRecDataset, ...)
    must be one that checkout's `ppcls/data/__init__.py` defines (read as text, never imported): PaddleClas
    eval()s the name at start-up, and ShiTuRecDataset, say, does not exist on release/2.5.2."""
    paddleclas = context.options.paddleclas
    loaders = context.source.get(("DataLoader",))
    if paddleclas is None or not isinstance(loaders, dict):
        return
    defined = imagenet_names(paddleclas)
    for mode, loader in loaders.items():
        dataset = loader.get("dataset") if isinstance(loader, dict) else None
        name = dataset.get("name") if isinstance(dataset, dict) else None
        if isinstance(name, str) and name in KNOWN_ALIASES and name not in defined:
            yield context.problem(DATASET_ALIAS, ("DataLoader", mode, "dataset", "name"),
                                  f"{name} is not defined in {paddleclas}/ppcls/data/__init__.py (this PaddleClas "
                                  f"names ImageNetDataset {', '.join(sorted(defined))}): use one of those")


DATASET_ALIAS = Rule(
    "dataset-alias", ERROR,
    "validate --paddleclas: a dataset named by an alias of ImageNetDataset that this PaddleClas checkout does not "
    "define.",
    check=check_dataset_alias,
)
DELIMITER = Rule(
    "dataset-delimiter", ERROR,
    "A dataset `delimiter` that is not a non-empty string (`delimiter: 3`, `delimiter: \"\"`).",
    check=check_delimiter,
)

RULES = [DELIMITER, DATASET_ALIAS]
