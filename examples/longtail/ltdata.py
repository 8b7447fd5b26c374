"""Fashion-MNIST as a long-tailed PaddleClas data set: IDX files in, PNG files and list files out.

Kept apart from the training driver so the split can be checked (and reused) without paddle.
The train split follows the CIFAR-10-LT imbalance-100 profile; which class gets which count is a
permutation drawn from the seed, so over seeds every kind of garment takes a turn at being rare. A balanced
validation split (for choosing a post-hoc tau) comes from the training images the train split leaves out.
"""

import gzip
import os
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

# CIFAR-10-LT, imbalance 100: n_i = 5000 * 0.01 ** (i / 9), as the reference code builds it.
LT_COUNTS = (5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50)
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DEFAULT_DATA = Path("/usr/share/datasets/fashion-mnist")
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
INSTALL_HINT = "install Debian's package: apt-get install dataset-fashion-mnist (or pass --data DIR)"


def find_idx(folder: Path, stem: str) -> Path:
    """The IDX file `stem` in `folder`, gzipped or not."""
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{folder}: no {stem}[.gz]: {INSTALL_HINT}")


def missing_data(folder: Path) -> str:
    """Why `folder` is not usable Fashion-MNIST, or '' when it is."""
    try:
        for images, labels in FILES.values():
            find_idx(folder, images), find_idx(folder, labels)
    except FileNotFoundError as error:
        return str(error)
    return ""


def read_idx(path: Path) -> np.ndarray:
    """An IDX array (uint8 data only, which is all Fashion-MNIST uses)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:  # type: ignore[operator]
        data = handle.read()
    if data[:2] != b"\0\0" or data[2] != 8:
        raise ValueError(f"{path}: not a uint8 IDX file")
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(folder: Path, part: str) -> Tuple[np.ndarray, np.ndarray]:
    """Images [N, 28, 28] and labels [N] of the 'train' or 'test' part."""
    images, labels = (read_idx(find_idx(folder, stem)) for stem in FILES[part])
    if len(images) != len(labels):
        raise ValueError(f"{folder}: {part} has {len(images)} images but {len(labels)} labels")
    return images, labels.astype(np.int64)


def scaled_counts(total: int) -> List[int]:
    """The LT profile shrunk to about `total` images (the --quick runs), every class keeping >= 2."""
    if total >= sum(LT_COUNTS):
        return list(LT_COUNTS)
    return [max(2, round(n * total / sum(LT_COUNTS))) for n in LT_COUNTS]


def class_counts(seed: int, counts: Sequence[int]) -> List[int]:
    """Training images per class label: counts[rank] goes to the class the seed's permutation puts there."""
    order = np.random.RandomState(seed).permutation(len(counts))
    per_class = [0] * len(counts)
    for rank, label in enumerate(order):
        per_class[int(label)] = int(counts[rank])
    return per_class


def long_tail_indices(labels: np.ndarray, per_class: Sequence[int], seed: int) -> np.ndarray:
    """Which training images the split keeps: a seeded random subset of each class, sorted."""
    rng = np.random.RandomState(10_000 + seed)
    keep = [rng.choice(np.flatnonzero(labels == c), n, replace=False) for c, n in enumerate(per_class)]
    return np.sort(np.concatenate(keep))


def validation_indices(labels: np.ndarray, per_class: int, used: np.ndarray, seed: int) -> np.ndarray:
    """A balanced held-out split from the training images the long-tailed split does not use (`used`): a seeded
    random `per_class` of each class's others, sorted. Adding it changes nothing of the train split (drawn before,
    from its own generator), so runs made before it stay valid; choosing on it keeps the test set unseen."""
    rng = np.random.RandomState(20_000 + seed)
    free = np.setdiff1d(np.arange(len(labels)), used)
    pick = [rng.choice(free[labels[free] == c], per_class, replace=False) for c in range(int(labels.max()) + 1)]
    return np.sort(np.concatenate(pick))


def balanced_test_indices(labels: np.ndarray, per_class: int) -> np.ndarray:
    """The first `per_class` test images of every class (all 1,000 each for the full test set)."""
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(10)]))


def write_split(images: np.ndarray, labels: np.ndarray, indices: np.ndarray, root: Path,
                folder: str, list_path: Path) -> None:
    """PNG files under root/folder and a list file `folder/NAME.png LABEL` (relative to root).

    The list is written last, through a temporary name, so a half-written split is never mistaken
    for a finished one on the next (resumed) run.
    """
    import cv2  # opencv-python-headless, a PaddleClas requirement anyway

    (root / folder).mkdir(parents=True, exist_ok=True)
    lines = []
    for index in indices:
        name = f"{folder}/{int(index):05d}.png"
        if not (root / name).exists():
            cv2.imwrite(str(root / name), images[index])
        lines.append(f"{name} {int(labels[index])}\n")
    tmp = list_path.with_name(list_path.name + ".tmp")
    tmp.write_text("".join(lines))
    os.replace(tmp, list_path)


def list_counts(list_path: Path) -> Dict[int, int]:
    """Images per label in a list file."""
    counts: Dict[int, int] = {}
    for line in list_path.read_text().splitlines():
        label = int(line.rsplit(" ", 1)[1])
        counts[label] = counts.get(label, 0) + 1
    return counts
