"""LongTailSampler: class-aware re-sampling for PaddleClas, as a drop-in for DistributedBatchSampler.

PaddleClas's build_dataloader builds `DataLoader.Train.sampler` by `eval(name)(dataset, **keys)` and (release/2.5.1
and later) fills `total_epochs` from Global.epochs because the constructor names it, and its engine calls
`set_epoch` on resume; older ones do neither (paddleclas_engine.py reads which a checkout does). It subclasses DistributedBatchSampler
so that len() (iters_per_epoch, the lr schedule, the loss's DRW step count) is the same with either.
"""

import logging
from typing import Any, Iterator, List, Optional

import numpy as np
from paddle.io import DistributedBatchSampler

from .counts import CountsError, check_power, check_start_epoch, epoch_probabilities, instance_balanced, sampler_problems

_log = logging.getLogger("ppcls")  # PaddleClas's own logger: messages land in its training log


class SamplerError(CountsError):
    """A LongTailSampler config that cannot work, found at construction rather than mid-training."""



class LongTailSampler(DistributedBatchSampler):
    """Draws each class with probability p_c ~ n_c^power (or the progressive schedule), images uniformly
    within a class, cycling through a per-epoch shuffle of the class so that no image repeats in an
    epoch before all of its class were drawn. Instance-balanced epochs are PaddleClas's usual shuffle.

    Every rank draws the same global epoch from (seed, epoch) and keeps its own contiguous share, so the
    shares are disjoint and together make one epoch of total_size = ceil(N / ranks) * ranks draws.
    """

    def __init__(self, dataset: Any, batch_size: int, shuffle: bool = True, drop_last: bool = False,
                 power: Optional[float] = None, progressive: bool = False, start_epoch: int = 1,
                 total_epochs: Optional[int] = None, seed: int = 0, num_replicas: Optional[int] = None,
                 rank: Optional[int] = None) -> None:
        given = dict(batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, power=power, progressive=progressive,
                     start_epoch=start_epoch, seed=seed, num_replicas=num_replicas, rank=rank)
        problems = sampler_problems(given, total_epochs)  # the check validate's sampler-params rule makes too
        if problems:
            raise SamplerError(problems[0][1])
        self.power = 1.0 if power is None else check_power(power)
        self.start_epoch = check_start_epoch(start_epoch, total_epochs)
        super().__init__(dataset, int(batch_size), num_replicas=num_replicas, rank=rank, shuffle=True,
                         drop_last=drop_last)
        self.progressive, self.total_epochs, self.seed = progressive, total_epochs, int(seed)
        self.labels = self._labels(dataset)
        self.class_counts = np.bincount(self.labels)
        self._by_class = np.argsort(self.labels, kind="stable")  # image indices grouped by class
        self._class_start = np.concatenate(([0], np.cumsum(self.class_counts)[:-1]))
        for epoch in sorted({self.start_epoch, total_epochs or self.start_epoch}):  # empty classes: fail now
            self.probabilities(epoch)
        _log.info("LongTailSampler: %s; %d classes, %d images, %d batches per epoch per rank",
                  self.describe(), len(self.class_counts), len(self.labels), len(self))

    @staticmethod
    def _labels(dataset: Any) -> np.ndarray:
        labels = getattr(dataset, "labels", None)
        if labels is None:
            raise SamplerError(f"LongTailSampler needs a dataset with a `labels` list (as ImageNetDataset has); "
                               f"{type(dataset).__name__} has none")
        labels = np.asarray(labels).reshape(-1)
        if labels.size != len(dataset) or labels.size == 0 or not np.issubdtype(labels.dtype, np.integer):
            raise SamplerError(f"LongTailSampler: the dataset's labels must be {len(dataset)} whole numbers, "
                               f"one per image (got {labels.size} of type {labels.dtype})")
        if labels.min() < 0:
            raise SamplerError(f"LongTailSampler: label {int(labels.min())} is negative")
        return labels.astype(np.int64)

    def describe(self) -> str:
        """What the sampler will do, in one phrase (logged once at construction)."""
        if self.progressive:
            what = "progressively balanced"
        else:
            what = {1.0: "instance-balanced", 0.5: "square-root", 0.0: "class-balanced"}.get(
                self.power, f"n_c^{self.power:g}")
        if self.start_epoch > 1:
            what += f" from epoch {self.start_epoch} (instance-balanced before)"
        return what

    def probabilities(self, epoch: int) -> List[float]:
        """The class probabilities of epoch `epoch`, counted from 1."""
        try:
            return epoch_probabilities(self.class_counts.tolist(), epoch, self.power, self.progressive,
                                       self.start_epoch, self.total_epochs)
        except CountsError as error:
            raise SamplerError(f"LongTailSampler: {error}") from None

    def draw(self, epoch_index: int) -> np.ndarray:
        """The whole epoch (all ranks, total_size indices) for epoch_index = epochs done before it."""
        rng = np.random.default_rng([self.seed, epoch_index])
        n_images = len(self.labels)
        if instance_balanced(epoch_index + 1, self.power, self.progressive, self.start_epoch):
            return np.resize(rng.permutation(n_images), self.total_size)  # padded by repeating, as DBS does
        cumulative = np.cumsum(self.probabilities(epoch_index + 1))
        classes = np.searchsorted(cumulative, rng.random(self.total_size) * cumulative[-1], side="right")
        classes = np.minimum(classes, len(cumulative) - 1).astype(np.int32)
        # Each class's images in a fresh random order, then the k-th draw of class c takes image k mod n_c.
        keys = self.labels[self._by_class] + rng.random(n_images)
        shuffled = self._by_class[np.argsort(keys)]
        order = np.argsort(classes, kind="stable")
        drawn = np.bincount(classes, minlength=len(cumulative))
        occurrence = np.arange(self.total_size) - np.repeat(np.cumsum(drawn) - drawn, drawn)
        sorted_classes = classes[order]
        picked = np.empty(self.total_size, dtype=np.int64)
        picked[order] = shuffled[self._class_start[sorted_classes] + occurrence % self.class_counts[sorted_classes]]
        return picked

    def rank_share(self, epoch_index: int) -> np.ndarray:
        """This rank's num_samples indices of the epoch."""
        start = self.local_rank * self.num_samples
        return self.draw(epoch_index)[start:start + self.num_samples]

    def __iter__(self) -> Iterator[List[int]]:
        share = self.rank_share(self.epoch).tolist()
        self.epoch += 1  # as DistributedBatchSampler does; the engine's set_epoch on resume sets it back
        stop = len(share) - len(share) % self.batch_size if self.drop_last else len(share)
        for start in range(0, stop, self.batch_size):
            yield share[start:start + self.batch_size]

    def set_epoch(self, epoch: int) -> None:
        """Epochs done so far: the next iteration draws epoch `epoch + 1` (counted from 1)."""
        self.epoch = int(epoch)


__all__ = ["LongTailSampler"]  # what install imports into ppcls/data/__init__.py
