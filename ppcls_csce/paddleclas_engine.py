"""What a PaddleClas checkout's own code does for a batch sampler, read from its source, never imported.

Why: LongTailSampler relies on two things PaddleClas added in 2023 (release/2.5.1 and later): the engine calls the
batch sampler's `set_epoch` when it resumes from Global.checkpoints, and build_dataloader passes `total_epochs`
(Global.epochs) to a sampler whose constructor names it. Older checkouts (release/2.4, release/2.5) do neither:
a resumed deferred or progressive sampler silently starts its schedule again at epoch 1, and `progressive: True`
without a written `total_epochs` refuses to start. PaddleClas has no version number to ask, so this module reads
the code itself (ast, standard library only: validate imports it).
"""

import ast
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, List, Optional, Tuple

ENGINE_DIR = "ppcls/engine"
DATA_INIT = "ppcls/data/__init__.py"
SINCE = "PaddleClas release/2.5.1 and later"


@dataclass(frozen=True)
class EngineSupport:
    """What the checkout's engine does for a batch sampler (each True on release/2.5.1 and later)."""

    root: str
    sets_epoch: bool  # a call `<...>.batch_sampler.set_epoch(...)` somewhere under ppcls/engine/
    fills_total_epochs: bool  # ppcls/data/__init__.py names `total_epochs` (build_dataloader fills it)


def _trees(paths: List[Path]) -> List[ast.AST]:
    trees = []
    for path in paths:
        try:
            trees.append(ast.parse(path.read_bytes(), str(path)))
        except (OSError, SyntaxError, ValueError):
            continue  # a file that does not parse cannot call set_epoch either
    return trees


def _calls_set_epoch(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "set_epoch":
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if "sampler" in name:
                return True
    return False


def _names_total_epochs(tree: ast.AST) -> bool:
    return any(isinstance(node, ast.Constant) and node.value == "total_epochs" for node in ast.walk(tree))


@lru_cache(maxsize=8)
def engine_support(paddleclas: str) -> EngineSupport:
    """Read once per checkout and run (validate asks for every file it checks)."""
    root = Path(paddleclas)
    engine = sorted((root / ENGINE_DIR).rglob("*.py")) if (root / ENGINE_DIR).is_dir() else []
    sets_epoch = any(_calls_set_epoch(tree) for tree in _trees(engine))
    fills = any(_names_total_epochs(tree) for tree in _trees([root / DATA_INIT]))
    return EngineSupport(str(paddleclas), sets_epoch, fills)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def sampler_caveats(support: EngineSupport, sampler: Any, epochs: Any) -> List[str]:
    """What this checkout's engine does wrong with this DataLoader.Train.sampler mapping (a LongTailSampler)."""
    if not isinstance(sampler, dict):
        return []
    progressive = sampler.get("progressive") is True
    start = sampler.get("start_epoch", 1)
    deferred = _whole(start) and start > 1
    caveats = []
    if (progressive or deferred) and not support.sets_epoch:
        schedule = ("restarts its progressive schedule at epoch 1" if progressive
                    else f"draws instance-balanced again until epoch {start}")
        caveats.append(
            f"LongTailSampler: the PaddleClas in {support.root} never calls the batch sampler's set_epoch (nothing "
            f"under {ENGINE_DIR}/ does), so a run resumed from Global.checkpoints {schedule}, without a word; a run "
            f"from the start is right. {SINCE} call it on resume: train with one of those, or do not resume this run")
    if progressive and "total_epochs" not in sampler and not support.fills_total_epochs:
        value = epochs if _whole(epochs) and epochs >= 1 else "Global.epochs"
        caveats.append(
            f"LongTailSampler: progressive: True needs total_epochs, and the PaddleClas in {support.root} does not "
            f"fill it ({DATA_INIT} never names it; {SINCE} do): add total_epochs: {value} to the sampler "
            "(csce-config gen --sampler progressive writes it), else the sampler refuses to start")
    return caveats


def install_caveat(paddleclas: str) -> Optional[Tuple[str, str]]:
    """(file, message) for `install` to print once when the checkout's engine predates 2023; None otherwise."""
    support = engine_support(str(paddleclas))
    parts = []
    if not support.sets_epoch:
        parts.append("never calls the batch sampler's set_epoch: a LongTailSampler with start_epoch > 1 or "
                     "progressive: True, resumed from Global.checkpoints, starts its schedule again at epoch 1 "
                     "(instance-balanced draws) without a word")
    if not support.fills_total_epochs:
        parts.append("does not fill a sampler's total_epochs from Global.epochs: progressive: True needs "
                     "total_epochs written in the config")
    if not parts:
        return None
    where = ENGINE_DIR if not support.sets_epoch else DATA_INIT
    return (str(Path(paddleclas) / where),
            f"this PaddleClas {'; it '.join(parts)} ({SINCE} do both); validate --paddleclas {paddleclas} "
            "names the configs this concerns")
