"""What a PaddleClas config says about the things this tool needs: class count, train list, batches, losses.

Facts from PaddleClas's source (engine, build_loss, ImageNetDataset, build_dataloader); each reader
returns the key path too, so callers can point at the line.
"""

from typing import Any, List, Optional, Tuple

from .drw import epoch_iterations
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


GLOBAL: Path_ = ("Global",)


def positive_int(value: Any) -> bool:
    """A whole number >= 1 (not a bool): an epoch count, a batch size, an iteration count."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def epoch_length_problems(source: YamlSource, needed: bool = False) -> List[Tuple[Path_, str]]:
    """What is wrong with the keys iters_per_epoch is computed from, each with its key path. `needed`: the
    caller must compute it (gen writing DRW keys), so a missing sampler or batch_size, or a sampler whose
    length this tool cannot derive, is a problem too; otherwise those only make the comparison impossible."""
    found: List[Tuple[Path_, str]] = []
    section = source.get(GLOBAL)
    section = section if isinstance(section, dict) else {}
    epochs = section.get("epochs")
    if "epochs" in section and not positive_int(epochs):
        found.append((GLOBAL + ("epochs",), "Global.epochs must be a positive integer (PaddleClas trains epochs "
                                            f"1..Global.epochs), got {epochs!r}"))
    for name in ("iter_per_epoch", "update_freq"):
        value = section.get(name)
        if value is not None and not positive_int(value):
            found.append((GLOBAL + (name,), f"Global.{name} must be a positive integer, got {value!r}"))
    if section.get("iter_per_epoch"):
        return found  # it overrides what the sampler gives
    sampler = source.get(SAMPLER)
    if not isinstance(sampler, dict):
        if needed:
            found.append((SAMPLER[:2], "DataLoader.Train.sampler is missing: the iterations per epoch come from its "
                                       "batch_size (or set Global.iter_per_epoch)"))
        return found
    if ("batch_size" in sampler or needed) and not positive_int(sampler.get("batch_size")):
        got = f"got {sampler['batch_size']!r}" if "batch_size" in sampler else "it is missing"
        found.append((SAMPLER + (("batch_size",) if "batch_size" in sampler else ()),
                      f"DataLoader.Train.sampler.batch_size must be a positive integer, {got}"))
    name = sampler.get("name", DEFAULT_SAMPLER)
    if needed and name not in COUNTABLE_SAMPLERS:
        found.append((SAMPLER + ("name",), f"the train sampler is {name}, whose batches per epoch this tool cannot "
                                           "derive; set Global.iter_per_epoch"))
    if "drop_last" in sampler and not isinstance(sampler["drop_last"], bool):
        found.append((SAMPLER + ("drop_last",),
                      f"DataLoader.Train.sampler.drop_last must be true or false, got {sampler['drop_last']!r}"))
    return found


def iters_per_epoch(source: YamlSource, samples: int, world_size: int = 1) -> int:
    """How many times the engine calls the train loss per epoch (engine.iter_per_epoch on Linux).

    len(DistributedBatchSampler) (drw.epoch_iterations: ceil(samples / world_size) / batch_size, floored with
    drop_last, rounded up without); `Global.iter_per_epoch` overrides it; then floored to a multiple of
    `Global.update_freq` (set to 1 when there are fewer iterations than that). The keys must have no
    epoch_length_problems; a sampler other than DistributedBatchSampler or LongTailSampler (whose len() is
    DistributedBatchSampler's) is a ValueError.
    """
    global_section = source.get(GLOBAL) or {}
    fixed = global_section.get("iter_per_epoch")
    if fixed:
        iters = int(fixed)
    else:
        sampler = source.get(SAMPLER)
        name = sampler.get("name", DEFAULT_SAMPLER)
        if name not in COUNTABLE_SAMPLERS:
            raise ValueError(f"the train sampler is {name}, whose batches per epoch this tool cannot derive")
        floor, ceil = epoch_iterations(samples, int(sampler["batch_size"]), world_size)
        iters = floor if sampler.get("drop_last", False) else ceil
    update_freq = int(global_section.get("update_freq", 1))
    if iters < update_freq:
        update_freq = 1
    return iters // update_freq * update_freq
