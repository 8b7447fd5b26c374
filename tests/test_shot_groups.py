"""One shot-group rule: `stats`, LongTailAcc (the metric install writes into PaddleClas) and the experiment's
report (examples/longtail/ltreport.py) put every class in the same group for any count list."""

import importlib.util
import json
import sys
from pathlib import Path
from typing import Dict, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from click.testing import CliRunner

from ppcls_csce.cli import cli

paddle = pytest.importorskip("paddle")  # LongTailAcc is a paddle Layer

from ppcls_csce.metric import LongTailAcc  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _ltreport():
    spec = importlib.util.spec_from_file_location("ltreport", REPO / "examples" / "longtail" / "ltreport.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LTREPORT = _ltreport()


def stats_groups(tmp: Path, counts: List[int]) -> Dict[str, List[int]]:
    """The groups `csce-config stats --format json` reports for a train list with these counts."""
    listing = tmp / "train.txt"
    listing.write_text("".join(f"img_{label}_{i}.jpg {label}\n" for label, n in enumerate(counts) for i in range(n)))
    done = CliRunner().invoke(cli, ["stats", "--train-list", str(listing), "--format", "json"])
    assert done.exit_code == 0, done.output
    shots = json.loads(done.output)["shots"]
    return {name: shots[name]["classes"] for name in ("many", "medium", "few")}


def report_groups(counts: List[int]) -> Dict[str, List[int]]:
    """The groups ltreport.metrics averages over, read back from its means: class c scores 2 ** -(c + 1), so each
    group's mean times its size is a sum of distinct powers of two, which names its classes."""
    per_class = [2.0 ** -(label + 1) for label in range(len(counts))]
    found = LTREPORT.metrics({"counts": counts, "per_class": per_class, "top1": 0.0})
    groups = {}
    for name in ("many", "medium", "few"):
        size = LTREPORT.shot_groups(counts)[name]  # only its length is used: the members come from the mean
        total = found[name] * len(size)
        groups[name] = [label for label in range(len(counts)) if int(total * 2 ** (label + 1)) % 2 == 1]
    return groups


def metric_groups(counts: List[int]) -> Dict[str, List[int]]:
    return LongTailAcc(counts).groups


def test_the_issue_example_is_grouped_alike(tmp_path: Path) -> None:
    """Classes of 32, 26 and 22 images: no class above 100, so thirds by count: many, medium, few."""
    expected = {"many": [0], "medium": [1], "few": [2]}
    assert stats_groups(tmp_path, [32, 26, 22]) == expected
    assert metric_groups([32, 26, 22]) == expected
    assert report_groups([32, 26, 22]) == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=300), min_size=3, max_size=12))
def test_stats_the_metric_and_the_report_agree_on_any_counts(tmp_path_factory, counts: List[int]) -> None:
    tmp = tmp_path_factory.mktemp("shots")
    from_stats = stats_groups(tmp, counts)
    assert from_stats == metric_groups(counts)
    assert from_stats == report_groups(counts)
    assert sorted(label for labels in from_stats.values() for label in labels) == list(range(len(counts)))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
