"""What a PaddleClas config says about the things this tool needs: class count, train list, batches, losses.

Facts from PaddleClas's source (engine, build_loss, ImageNetDataset, build_dataloader); each reader
returns the key path too, so callers can point at the line.
"""

import math
from typing import Any, List, Optional, Tuple

from .yamlsource import Key, YamlSource

Path_ = Tuple[Key, ...]
CE_NAME = "CELoss"
TRAIN_DATASET: Path_ = ("DataLoader", "Train", "dataset")
SAMPLER: Path_ = ("DataLoader", "Train", "sampler")
DEFAULT_SAMPLER = "DistributedBatchSampler"
LONG_TAIL_SAMPLER = "LongTailSampler"  # ppcls_csce/sampler.py: a DistributedBatchSampler subclass, the same len()
LONG_TAIL_METRIC = "LongTailAcc"  # ppcls_csce/metric.py: balanced and many/medium/few-shot accuracy
COUNTABLE_SAMPLERS = (DEFAULT_SAMPLER, LONG_TAIL_SAMPLER)  # the samplers whose batches per epoch are derived here
# gen --sampler: the LongTailSampler keys of each choice (sampler.py's constructor)
SAMPLER_CHOICES = {"power": {"power": "1.0"}, "sqrt": {"power": "0.5"}, "balanced": {"power": "0.0"},
                   "progressive": {"progressive": "True"}}


def class_num(source: YamlSource) -> Tuple[Optional[Any], Path_]:
    """`Arch.class_num`, or `Arch.Head.class_num` for RecModel configs; never `Arch.Neck.class_num` (an embedding size)."""
    arch = source.get(("Arch",))
    if not isinstance(arch, dict):
        return None, ("Arch",)
    if "class_num" in arch:
        return arch["class_num"], ("Arch", "class_num")
    head = arch.get("Head")
    if isinstance(head, dict) and "class_num" in head:
        return head["class_num"], ("Arch", "Head", "class_num")
    return None, ("Arch",)


def train_dataset(source: YamlSource) -> Optional[dict]:
    dataset = source.get(TRAIN_DATASET)
    return dataset if isinstance(dataset, dict) else None


def delimiter(source: YamlSource) -> str:
    """ImageNetDataset splits on a single space unless `delimiter` is set."""
    dataset = train_dataset(source) or {}
    value = dataset.get("delimiter")
    return value if isinstance(value, str) and value else " "


def relabels(source: YamlSource) -> bool:
    return bool((train_dataset(source) or {}).get("relabel", False))


def loss_sections(data: Any) -> List[Tuple[Path_, Any]]:
    """Every list PaddleClas hands to build_loss: each `Loss.<section>` (Train, Eval, MetaBIN's Basic, ...)
    and `UnLabelLoss.Train` (semi-supervised configs). The one list of loss sections: gen edits, smoke builds
    and validate checks exactly these."""
    found: List[Tuple[Path_, Any]] = []
    if not isinstance(data, dict):
        return found
    loss = data.get("Loss")
    if isinstance(loss, dict):
        found.extend((("Loss", name), value) for name, value in loss.items() if isinstance(name, str))
    unlabel = data.get("UnLabelLoss")
    if isinstance(unlabel, dict) and "Train" in unlabel:
        found.append((("UnLabelLoss", "Train"), unlabel["Train"]))
    return found


def loss_entries(source: YamlSource) -> List[Tuple[Path_, str, Any]]:
    """(key path ending in the loss name, loss name, parameters) of each single-key entry of every loss list
    (loss_sections: the one list of sections)."""
    found: List[Tuple[Path_, str, Any]] = []
    for section_keys, entries in loss_sections(source.data):
        if isinstance(entries, list):
            for index, entry in enumerate(entries):
                if isinstance(entry, dict) and len(entry) == 1:
                    name, values = next(iter(entry.items()))
                    found.append((section_keys + (index, name), str(name), values))
    return found


def iters_per_epoch(source: YamlSource, samples: int, world_size: int = 1) -> int:
    """How many times the engine calls the train loss per epoch (engine.iter_per_epoch on Linux).

    len(DistributedBatchSampler) = ceil(samples / world_size) / batch_size, floored with drop_last,
    rounded up without; `Global.iter_per_epoch` overrides it; then floored to a multiple of `Global.update_freq`
    (set to 1 when there are fewer iterations than that). The keys must have passed csce-drw-schedule
    (rules/schedule.py), which checks each one; a sampler other than DistributedBatchSampler or LongTailSampler
    (whose len() is DistributedBatchSampler's) is a ValueError.
    """
    global_section = source.get(("Global",)) or {}
    fixed = global_section.get("iter_per_epoch")
    if fixed:
        iters = int(fixed)
    else:
        sampler = source.get(SAMPLER)
        name = sampler.get("name", DEFAULT_SAMPLER)
        if name not in COUNTABLE_SAMPLERS:
            raise ValueError(f"the train sampler is {name}, whose batches per epoch this tool cannot derive")
        batch_size = int(sampler["batch_size"])
        per_rank = math.ceil(samples / world_size)
        iters = per_rank // batch_size if sampler.get("drop_last", False) else math.ceil(per_rank / batch_size)
    update_freq = int(global_section.get("update_freq", 1))
    if iters < update_freq:
        update_freq = 1
    return iters // update_freq * update_freq
