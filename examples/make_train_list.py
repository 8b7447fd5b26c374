"""Write the bundled example: a long-tailed PaddleClas train list (10 classes, imbalance 100) and a balanced val list.

Class c gets round(N_MAX * (1 / IMBALANCE) ** (c / (C - 1))) images: the exponential profile of CIFAR-LT
and ImageNet-LT. Paths are ImageNet-style (`train/<synset>/<synset>_<n>.JPEG label`); the synsets are
Imagenette's ten classes. Deterministic: the same files every run.

    python examples/make_train_list.py            # writes examples/train_list.txt and examples/val_list.txt
"""

import argparse
import random
from pathlib import Path
from typing import List

SYNSETS = [
    "n01440764", "n02102040", "n02979186", "n03000684", "n03028079",
    "n03394916", "n03417042", "n03425413", "n03445777", "n03888605",
]  # tench, springer, cassette player, chain saw, church, French horn, garbage truck, gas pump, golf ball, parachute
N_MAX = 1000
IMBALANCE = 100
VAL_PER_CLASS = 50


def long_tail_counts(classes: int = len(SYNSETS), n_max: int = N_MAX, imbalance: float = IMBALANCE) -> List[int]:
    return [round(n_max * (1 / imbalance) ** (c / (classes - 1))) for c in range(classes)]


def write_lists(folder: Path, seed: int = 0) -> None:
    rng = random.Random(seed)
    train = [
        f"train/{synset}/{synset}_{number}.JPEG {label}"
        for label, (synset, count) in enumerate(zip(SYNSETS, long_tail_counts()))
        for number in rng.sample(range(1, 13000), count)
    ]
    rng.shuffle(train)
    val = [
        f"val/ILSVRC2012_val_{label * VAL_PER_CLASS + i + 1:08d}.JPEG {label}"
        for label in range(len(SYNSETS))
        for i in range(VAL_PER_CLASS)
    ]
    (folder / "train_list.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
    (folder / "val_list.txt").write_text("\n".join(val) + "\n", encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="folder to write into")
    write_lists(parser.parse_args().out)
