"""One epoch of index sampling, LongTailSampler against DistributedBatchSampler, in one run.

1,000,000 images in 1,000 classes (exponential profile, imbalance 100), batch size 256, one rank: the
time from iter() to the last batch, as the DataLoader consumes it. Candidates run interleaved (epoch by
epoch), each figure is the median over the repeats, and the ratio is taken within this run. The issue's
target: at most 2x DistributedBatchSampler (shuffle: True, the usual training sampler).

    python bench/bench_sampler.py [--quick]
"""

import argparse
import statistics
import time
from typing import Dict, List

import numpy as np
from paddle.io import DistributedBatchSampler

from ppcls_csce.sampler import LongTailSampler


class Labels:
    """What the samplers read from an ImageNetDataset: len() and the `labels` list (of np.int64, as there)."""

    def __init__(self, images: int, classes: int) -> None:
        profile = 100.0 ** (-np.arange(classes) / (classes - 1))
        counts = np.maximum(1, np.floor(profile / profile.sum() * images)).astype(int)
        counts[0] += images - counts.sum()
        labels = np.repeat(np.arange(classes, dtype=np.int64), counts)
        np.random.default_rng(0).shuffle(labels)
        self.labels = list(labels)

    def __len__(self) -> int:
        return len(self.labels)


def epoch_seconds(sampler) -> float:
    start = time.perf_counter()
    drawn = 0
    for batch in sampler:
        drawn += len(batch)
    elapsed = time.perf_counter() - start
    assert drawn == sampler.num_samples
    return elapsed


def report(quick: bool = False) -> str:
    """The markdown table and its verdict (bench/run.py collects it)."""
    out: List[str] = []
    images, repeats = (100_000, 3) if quick else (1_000_000, 7)
    data = Labels(images, 1000)
    start = time.perf_counter()
    candidates: Dict[str, object] = {
        "DistributedBatchSampler (shuffle)": DistributedBatchSampler(data, 256, shuffle=True),
    }
    build_dbs = time.perf_counter() - start
    builds: Dict[str, float] = {"DistributedBatchSampler (shuffle)": build_dbs}
    for name, kwargs in (("LongTailSampler power 1.0 (instance-balanced)", {"power": 1.0}),
                         ("LongTailSampler power 0.5 (square-root)", {"power": 0.5}),
                         ("LongTailSampler power 0.0 (class-balanced)", {"power": 0.0}),
                         ("LongTailSampler progressive (epoch 1 of 2)", {"progressive": True, "total_epochs": 2})):
        start = time.perf_counter()
        candidates[name] = LongTailSampler(data, 256, **kwargs)
        builds[name] = time.perf_counter() - start
    times: Dict[str, List[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, sampler in candidates.items():
            if isinstance(sampler, LongTailSampler):
                sampler.set_epoch(0)
            times[name].append(epoch_seconds(sampler))
    base = statistics.median(times["DistributedBatchSampler (shuffle)"])
    out.append(f"### LongTailSampler, one epoch: {images:,} images, 1,000 classes, batch 256, 1 rank; median of {repeats} epochs\n")
    out.append("| sampler | one epoch (s) | ratio to DistributedBatchSampler | construction (s) |")
    out.append("|---|---|---|---|")
    for name in candidates:
        median = statistics.median(times[name])
        out.append(f"| {name} | {median:.3f} | {median / base:.2f}x | {builds[name]:.3f} |")
    worst = max(statistics.median(t) for n, t in times.items() if n.startswith("LongTail")) / base
    out.append("")
    out.append(f"worst LongTailSampler ratio {worst:.2f}x (target <= 2x): {'met' if worst <= 2 else 'NOT met'}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 images, 3 repeats")
    print(report(quick=parser.parse_args().quick), end="")
