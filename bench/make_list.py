"""Write a long-tailed PaddleClas train list (ImageNet-style paths) for the scanner benchmark.

Class c gets round(n_max * imbalance ** (-c / (K - 1))) images (the exponential profile of the
long-tailed CIFAR/ImageNet papers), scaled so the total is exactly `lines`. Lines are grouped by
class, as ImageNet's own train_list.txt is. The same arguments always give the same bytes.

    python bench/make_list.py --lines 10000000 --classes 1000 --imbalance 100 --seed 0 -o train_list.txt
"""

import argparse
import random
from pathlib import Path
from typing import List, Optional, Sequence

_BATCH = 200_000  # lines formatted per write: keeps memory small for any line count


def class_counts(lines: int, classes: int, imbalance: float) -> List[int]:
    """Exponential long-tailed profile summing to exactly `lines`, every class at least 1 image."""
    if classes < 1 or lines < classes:
        raise ValueError("need at least one class and at least one line per class")
    if imbalance < 1:
        raise ValueError("imbalance is N_max / N_min, so it must be >= 1")
    steps = max(classes - 1, 1)
    shape = [imbalance ** (-c / steps) for c in range(classes)]
    scale = lines / sum(shape)
    counts = [max(1, int(round(scale * s))) for s in shape]
    # Put the rounding difference on the head classes (largest first) so the total is exact.
    diff = lines - sum(counts)
    c = 0
    while diff != 0:
        step = 1 if diff > 0 else -1
        if counts[c] + step >= 1:
            counts[c] += step
            diff -= step
        c = (c + 1) % classes
    return counts


def synset_ids(classes: int, rng: random.Random) -> List[str]:
    """ImageNet-looking WordNet ids (n + 8 digits), distinct, sorted like ImageNet's class order."""
    ids = rng.sample(range(1_000_000, 15_000_000), classes)
    return [f"n{i:08d}" for i in sorted(ids)]


def write_list(output: Path, lines: int, classes: int, imbalance: float, seed: int) -> List[int]:
    rng = random.Random(seed)
    counts = class_counts(lines, classes, imbalance)
    wnids = synset_ids(classes, rng)
    with open(output, "w", encoding="ascii", newline="\n") as handle:
        batch: List[str] = []
        for label, (wnid, count) in enumerate(zip(wnids, counts)):
            first = rng.randrange(1, 20_000)
            for image in range(first, first + count):
                batch.append(f"train/{wnid}/{wnid}_{image}.JPEG {label}\n")
                if len(batch) >= _BATCH:
                    handle.write("".join(batch))
                    batch.clear()
        handle.write("".join(batch))
    return counts


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--imbalance", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    counts = write_list(args.output, args.lines, args.classes, args.imbalance, args.seed)
    print(f"{args.output}: {sum(counts)} lines, {len(counts)} classes, N_max/N_min = {max(counts) / min(counts):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
