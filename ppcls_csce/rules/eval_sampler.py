"""Evaluation must see every image once: no re-sampling sampler in DataLoader.Eval."""

from typing import Any, Iterator, Tuple

from .. import ppconfig
from ..report import Problem
from .base import ERROR, Context, Keys, Rule, dotted

# Samplers that draw by class (with replacement, or P classes x K images), not every image once: our
# LongTailSampler and PaddleClas's identity samplers (ppcls/data/dataloader/), which are for training only.
RESAMPLING = (ppconfig.LONG_TAIL_SAMPLER, "PKSampler", "DistributedRandomIdentitySampler", "NaiveIdentityBatchSampler",
              "DomainShuffleBatchSampler")


def _eval_samplers(loader: Any, keys: Keys) -> Iterator[Tuple[Keys, Any]]:
    """(keys, sampler) of DataLoader.Eval's sampler and of its retrieval parts (Eval.Gallery, Eval.Query)."""
    if not isinstance(loader, dict):
        return
    if "sampler" in loader:
        yield keys + ("sampler",), loader["sampler"]
    for name, part in loader.items():
        if isinstance(part, dict) and "sampler" in part:
            yield keys + (name, "sampler"), part["sampler"]


def check_eval_sampler(context: Context) -> Iterator[Problem]:
    """A `DataLoader.Eval` sampler (or Eval.Gallery's, Eval.Query's) that re-samples, LongTailSampler above all
    (class-balanced with replacement), makes every evaluation figure wrong: some images are counted several
    times, others never. It usually arrives by sharing: DataLoader.Eval borrows Train's sampler through an anchor
    and alias or a `<<:` merge key, then `gen --sampler` (or a hand edit) changes Train's. Evaluation uses
    DistributedBatchSampler with `shuffle: False`."""
    loaders = context.source.get(("DataLoader",))
    if not isinstance(loaders, dict):
        return
    for keys, sampler in _eval_samplers(loaders.get("Eval"), ("DataLoader", "Eval")):
        name = sampler.get("name") if isinstance(sampler, dict) else None
        if name in RESAMPLING:
            node, name_node = context.source.node_at(keys), context.source.node_at(keys + ("name",))
            own = node is not None and name_node is not None and name_node.start_mark.index > node.start_mark.index
            yield context.problem(  # at the name, or at Eval's `sampler:` when the name is borrowed from elsewhere
                EVAL_SAMPLER, keys + ("name",) if own else keys, at_key=not own, message=
                f"{dotted(keys)} is a {name}: evaluation would draw images by class instead of each image once, so "
                "every eval figure would be wrong; use `name: DistributedBatchSampler` with `shuffle: False` (if "
                "it is Train's sampler shared through an anchor or `<<:` merge key, write Eval's own)")


EVAL_SAMPLER = Rule(
    "eval-sampler", ERROR,
    "A re-sampling sampler (LongTailSampler, PKSampler, ...) in DataLoader.Eval: the eval figures would be wrong.",
    check=check_eval_sampler,
)

RULES = [EVAL_SAMPLER]
