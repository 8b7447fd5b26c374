"""Shared test data: the real PaddleClas configs and list files shaped like PaddleClas's own."""

from pathlib import Path
from typing import Dict, List, Sequence

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CONFIGS = REPO.parent / "shared" / "paddleclas-configs"
EXAMPLES = REPO / "examples"


def real_configs() -> List[Path]:
    """The 91 PaddleClas configs kept in ../shared for testing (read-only)."""
    configs = sorted(SHARED_CONFIGS.rglob("*.yaml"))
    assert len(configs) >= 90, f"expected the shared PaddleClas configs in {SHARED_CONFIGS}"
    return configs


def list_lines(counts: Sequence[int], delimiter: str = " ") -> List[str]:
    """ImageNet-style lines: `train/<synset>/<synset>_<n>.JPEG<delimiter><label>`, classes interleaved."""
    lines = []
    for label, count in enumerate(counts):
        synset = f"n{1440764 + label * 7919:08d}"
        lines.extend(f"train/{synset}/{synset}_{i + 1}.JPEG{delimiter}{label}" for i in range(count))
    lines.sort(key=lambda line: hash(line) % 9973)
    return lines


def write_list(path: Path, counts: Sequence[int], delimiter: str = " ") -> Path:
    path.write_text("\n".join(list_lines(counts, delimiter)) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def long_tail_list(tmp_path: Path) -> Path:
    """A 10-class list with CIFAR-10-LT's shape scaled down (imbalance 100)."""
    return write_list(tmp_path / "train_list.txt", [500, 300, 180, 108, 65, 39, 23, 14, 8, 5])


def counts_of(counts: Sequence[int]) -> Dict[int, int]:
    return {label: count for label, count in enumerate(counts)}
