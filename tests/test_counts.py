"""counts.py: the sampling probabilities, the progressive schedule and the shot groups, against direct formulas."""

import ast
import math
import sys
from pathlib import Path

import pytest

from ppcls_csce import counts
from ppcls_csce.counts import (CountsError, epoch_probabilities, instance_balanced, progressive_probabilities,
                               sampling_probabilities, shot_groups, shot_rule)

COUNTS = [500, 120, 40, 9, 1]


@pytest.mark.parametrize("power", [1.0, 0.5, 0.0, 2.0])
def test_probabilities_are_n_to_the_power(power: float) -> None:
    got = sampling_probabilities(COUNTS, power)
    weights = [n ** power for n in COUNTS]
    assert got == pytest.approx([w / sum(weights) for w in weights], rel=1e-12)
    assert math.fsum(got) == pytest.approx(1.0, abs=1e-15)


def test_named_powers() -> None:
    assert sampling_probabilities(COUNTS, 1.0)[4] == pytest.approx(1 / 670)  # instance-balanced
    assert sampling_probabilities(COUNTS, 0.0) == pytest.approx([0.2] * 5)  # class-balanced
    sqrt = sampling_probabilities([400, 100, 4], 0.5)
    assert sqrt == pytest.approx([20 / 32, 10 / 32, 2 / 32])


def test_progressive_schedule_end_points_and_middle() -> None:
    total = sum(COUNTS)
    assert progressive_probabilities(COUNTS, 0, 10) == pytest.approx([n / total for n in COUNTS])
    assert progressive_probabilities(COUNTS, 10, 10) == pytest.approx([0.2] * 5)
    assert progressive_probabilities(COUNTS, 5, 10) == pytest.approx([0.5 * n / total + 0.1 for n in COUNTS])


def test_epoch_schedule_deferred_and_progressive() -> None:
    ib = sampling_probabilities(COUNTS, 1.0)
    # deferred class-balanced: instance-balanced for epochs 1..E-1, class-balanced from E (counted from 1)
    assert epoch_probabilities(COUNTS, 160, power=0.0, start_epoch=161) == ib
    assert epoch_probabilities(COUNTS, 161, power=0.0, start_epoch=161) == pytest.approx([0.2] * 5)
    assert instance_balanced(160, power=0.0, start_epoch=161) and not instance_balanced(161, power=0.0, start_epoch=161)
    # progressive from the start over T = 200: t = epoch, class-balanced at the last epoch
    assert epoch_probabilities(COUNTS, 100, progressive=True, total_epochs=200) == pytest.approx(
        progressive_probabilities(COUNTS, 100, 200))
    assert epoch_probabilities(COUNTS, 200, progressive=True, total_epochs=200) == pytest.approx([0.2] * 5)
    # deferred progressive: the ramp runs over epochs E..T
    assert epoch_probabilities(COUNTS, 150, progressive=True, start_epoch=101, total_epochs=200) == pytest.approx(
        progressive_probabilities(COUNTS, 50, 100))
    assert not instance_balanced(1, progressive=True)
    with pytest.raises(CountsError, match="needs total_epochs"):
        epoch_probabilities(COUNTS, 1, progressive=True)


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf"), True, "0.5", None])
def test_bad_power_is_a_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match="power must be a number >= 0"):
        sampling_probabilities(COUNTS, bad)  # type: ignore[arg-type]


def test_empty_class_breaks_balanced_and_progressive_only() -> None:
    with_empty = [10, 0, 3]
    assert sampling_probabilities(with_empty, 1.0)[1] == 0.0
    assert sampling_probabilities(with_empty, 0.5)[1] == 0.0
    with pytest.raises(CountsError, match="class 1 has no images, so class-balanced sampling"):
        sampling_probabilities(with_empty, 0.0)
    with pytest.raises(CountsError, match="class 1 has no images, so progressively balanced"):
        progressive_probabilities(with_empty, 1, 10)
    assert progressive_probabilities(with_empty, 0, 10)[1] == 0.0
    for bad in ([], [0, 0], [3, -1], [2.5, 1]):
        with pytest.raises(CountsError):
            sampling_probabilities(bad, 1.0)
    for start in (0, -1, 1.5, True):
        with pytest.raises(CountsError, match="start_epoch must be"):
            epoch_probabilities(COUNTS, 1, power=0.0, start_epoch=start)  # type: ignore[arg-type]
        with pytest.raises(CountsError, match="start_epoch must be"):
            counts.check_start_epoch(start, 10)
    with pytest.raises(CountsError, match="after the last epoch"):
        counts.check_start_epoch(11, 10)


def test_shot_groups_by_imagenet_lt_thresholds() -> None:
    groups = shot_groups([101, 100, 20, 19, 500, 1])
    assert groups == {"many": [0, 4], "medium": [1, 2], "few": [3, 5]}
    assert shot_rule([101, 100, 19]).startswith("many > 100, medium 20..100, few < 20")


def test_shot_groups_fall_back_to_thirds_when_a_group_would_be_empty() -> None:
    # no class above 100: thirds by count, most frequent first, ties by label
    assert shot_groups([30, 10, 50, 5, 20, 10, 40]) == {"many": [0, 2, 6], "medium": [1, 4], "few": [3, 5]}
    assert shot_groups([5, 5, 5]) == {"many": [0], "medium": [1], "few": [2]}
    assert shot_groups([9, 1]) == {"many": [0], "medium": [1], "few": []}
    assert "thirds" in shot_rule([30, 10, 50])


def test_counts_imports_the_standard_library_only() -> None:
    """install inlines counts.py into PaddleClas, where neither numpy nor this package need be importable."""
    tree = ast.parse(Path(counts.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(alias.name.split(".")[0] in sys.stdlib_module_names for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and str(node.module).split(".")[0] in sys.stdlib_module_names
