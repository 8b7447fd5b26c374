"""From counts to the weight table."""

import pytest

from ppcls_csce.errors import CsceError
from ppcls_csce.scanner import ListCounts
from ppcls_csce.weights import ClassCountOrigin, build_table


def counts(mapping):
    return ListCounts(counts=dict(mapping), samples=sum(mapping.values()), problems=[], problem_total=0)


def test_class_num_defaults_to_max_label_plus_one():
    assert len(build_table(counts({0: 3, 4: 1}), None, 1.0, clamp_empty=True).num_class_list) == 5
    assert len(build_table(counts({0: 3}), 7, 1.0, clamp_empty=True).num_class_list) == 7


def test_an_empty_list_names_the_file():
    with pytest.raises(CsceError) as caught:
        build_table(counts({}), None, 1.0, sources="lists/train.txt")
    [problem] = caught.value.problems
    assert (problem.path, problem.rule) == ("lists/train.txt", "list-classes") and "empty" in problem.message


def test_a_configured_class_count_is_named_where_it_came_from():
    origin = ClassCountOrigin("cfg.yaml", 5, 14, "Arch.class_num")
    with pytest.raises(CsceError) as caught:
        build_table(counts({label: 2 for label in range(6)}), 1000, 1.0, sources="train.txt", origin=origin)
    [problem] = caught.value.problems
    assert problem.as_text().startswith("cfg.yaml:5:14: error: Arch.class_num is 1000, but train.txt has labels 0..5")
    assert "--class-num 6 (gen --write sets Arch.class_num too)" in problem.message
    assert problem.rule == "csce-class-count"


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
