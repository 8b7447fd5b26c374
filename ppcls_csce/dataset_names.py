"""The names PaddleClas binds to ImageNetDataset (`ClsDataset = ImageNetDataset` for PaddleX, ...).

A config may name its train dataset by any of them: PaddleX 3 rewrites every classification template to
`ClsDataset`. Read from a checkout's `ppcls/data/__init__.py` when one is given (the source text, never
imported), else the fixed list below, which a test holds to a real PaddleClas develop checkout.
"""

import ast
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet, Optional, Union

IMAGENET = "ImageNetDataset"
# ppcls/data/__init__.py binds ClsDataset and ShiTuRecDataset to ImageNetDataset on develop, ClsDataset and
# ShiTuDataset on release/2.5.2: the union of both (tests/test_paddlex.py reads both checkouts).
KNOWN_ALIASES: FrozenSet[str] = frozenset({IMAGENET, "ClsDataset", "ShiTuRecDataset", "ShiTuDataset"})


def aliases_in(source: str) -> FrozenSet[str]:
    """ImageNetDataset and every top-level `NAME = ImageNetDataset` (or `= OTHER_ALIAS`) of a module's text."""
    names = {IMAGENET}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in names:
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return frozenset(names)


@lru_cache(maxsize=8)
def _read(init: str) -> FrozenSet[str]:
    try:
        return aliases_in(Path(init).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return KNOWN_ALIASES


def imagenet_names(paddleclas: Optional[Union[str, Path]] = None) -> FrozenSet[str]:
    """The names of ImageNetDataset: the checkout's own (when given and readable), else KNOWN_ALIASES."""
    if paddleclas is None:
        return KNOWN_ALIASES
    return _read(str(Path(paddleclas) / "ppcls" / "data" / "__init__.py"))


def is_imagenet(name: object, paddleclas: Optional[Union[str, Path]] = None) -> bool:
    """Whether a `DataLoader.<mode>.dataset.name` is ImageNetDataset under another name (or itself)."""
    return isinstance(name, str) and name in imagenet_names(paddleclas)
