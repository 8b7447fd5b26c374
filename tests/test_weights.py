"""From counts to the weight table."""

import pytest

from ppcls_csce.errors import CsceError
from ppcls_csce.scanner import ListCounts
from ppcls_csce.weights import build_table, resolve_class_num


def counts(mapping):
    return ListCounts(counts=dict(mapping), samples=sum(mapping.values()), problems=[], problem_total=0)


def test_class_num_defaults_to_max_label_plus_one():
    assert resolve_class_num(counts({0: 3, 4: 1}), None) == 5
    assert resolve_class_num(counts({0: 3}), 7) == 7


def test_empty_classes_are_named():
    with pytest.raises(CsceError, match=r"classes 1, 2, 3 of 5 have no training images"):
        build_table(counts({0: 9, 4: 1}), None, 1.0)


def test_many_empty_classes_are_summarised():
    with pytest.raises(CsceError, match=r"\.\.\. \(999 in all\)"):
        build_table(counts({0: 9}), 1000, 1.0)


def test_clamp_counts_empty_classes_as_one():
    table = build_table(counts({0: 9, 2: 3}), None, 1.0, clamp_empty=True)
    assert table.num_class_list == [9, 1, 3] and table.clamped == [1]
    assert table.samples == 12 and table.weights[1] == 1.0


def test_summary_and_ratio():
    table = build_table(counts({0: 400, 1: 100, 2: 4}), None, 0.5)
    assert table.imbalance_ratio == 100.0
    assert table.weights == pytest.approx([0.1, 0.2, 1.0])
    assert "3 classes, 504 samples, imbalance ratio 100" in table.summary()
