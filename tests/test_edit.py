"""Byte-preserving YAML edits."""

import pytest
import yaml

from ppcls_csce.edit import TextEdit, apply_edits, set_keys, yaml_float, yaml_int_list
from ppcls_csce.errors import CsceError
from ppcls_csce.yamlsource import parse_yaml


@pytest.mark.parametrize("value", [1.0, 0.5, 1e-3, 1e-05, 2.5e20, 0.0, 123456.789])
def test_yaml_float_reads_back_as_the_same_float(value):
    text = yaml_float(value)
    loaded = yaml.safe_load(f"x: {text}")["x"]
    assert isinstance(loaded, float) and loaded == value


def test_int_list_is_one_flow_line():
    text = yaml_int_list(list(range(1, 1001)))
    assert "\n" not in text and yaml.safe_load(text) == list(range(1, 1001))


def test_set_key_adds_after_the_last_key_keeping_comments_and_crlf():
    text = "L:\r\n  - CELoss:\r\n      weight: 1.0  # keep me\r\nNext: 1\r\n"
    source = parse_yaml(text)
    mapping = source.node_at(("L", 0, "CELoss"))
    new = apply_edits(text, [*set_keys(text, mapping, [("gamma", "0.5")])])
    assert new == "L:\r\n  - CELoss:\r\n      weight: 1.0  # keep me\r\n      gamma: 0.5\r\nNext: 1\r\n"


def test_set_key_replaces_an_existing_value_only():
    text = "a: {weight: 1.0, gamma: 2.0}  # c\nb:\n  gamma: 3.0\n  n: [1,\n      2]\n"
    source = parse_yaml(text)
    edits = [
        *set_keys(text, source.node_at(("a",)), [("gamma", "0.5")]),
        *set_keys(text, source.node_at(("b",)), [("n", "[7, 8]")]),
        *set_keys(text, source.node_at(("a",)), [("n", "[1]")]),
    ]
    assert apply_edits(text, edits) == "a: {weight: 1.0, gamma: 0.5, n: [1]}  # c\nb:\n  gamma: 3.0\n  n: [7, 8]\n"


def test_set_key_fills_an_empty_value_and_handles_a_missing_final_newline():
    text = "m:\n  gamma:\n  weight: 1.0"
    source = parse_yaml(text)
    mapping = source.node_at(("m",))
    new = apply_edits(text, [*set_keys(text, mapping, [("gamma", "1.0")]), *set_keys(text, mapping, [("x", "2")])])
    assert yaml.safe_load(new) == {"m": {"gamma": 1.0, "weight": 1.0, "x": 2}}
    assert new == "m:\n  gamma: 1.0\n  weight: 1.0\n  x: 2"


def test_overlapping_edits_are_refused_and_identical_ones_merge():
    assert apply_edits("abc", [TextEdit(1, 2, "X"), TextEdit(1, 2, "X")]) == "aXc"
    with pytest.raises(CsceError):
        apply_edits("abc", [TextEdit(0, 2, "X"), TextEdit(1, 3, "Y")])


# --- several keys into one mapping compose, whatever the mapping's last bytes are --------------------------------

COMPOSE_CASES = [
    ("- CELoss: {}\n", "- CELoss: {gamma: 1.0, n: [3, 4]}\n"),
    ("- CELoss: {weight: 1.0}\n", "- CELoss: {weight: 1.0, gamma: 1.0, n: [3, 4]}\n"),
    ("- CELoss: {weight: 1.0,}\n", "- CELoss: {weight: 1.0, gamma: 1.0, n: [3, 4],}\n"),
    ("- CELoss: {weight: 1.0,  # why\n   }\n", "- CELoss: {weight: 1.0, gamma: 1.0, n: [3, 4],  # why\n   }\n"),
    ("- CELoss: {\n    weight: 1.0  # why\n  }\n", "- CELoss: {\n    weight: 1.0, gamma: 1.0, n: [3, 4]  # why\n  }\n"),
    ("- CELoss:\n    weight: 1.0\n    reduction: |-\n      mean\n\n- X: 1\n",
     "- CELoss:\n    weight: 1.0\n    reduction: |-\n      mean\n    gamma: 1.0\n    n: [3, 4]\n\n- X: 1\n"),
]


@pytest.mark.parametrize("text, wanted", COMPOSE_CASES)
def test_keys_added_to_one_mapping_compose(text, wanted):
    mapping = parse_yaml(text).node_at((0, "CELoss"))
    new = apply_edits(text, set_keys(text, mapping, [("gamma", "1.0"), ("n", "[3, 4]")]))
    assert new == wanted
    assert yaml.safe_load(new)[0]["CELoss"]["n"] == [3, 4]


def test_a_key_after_an_alias_lands_in_the_aliasing_mapping():
    """README's shared counts: Eval's last value is `*counts`, whose node is Train's; Eval's key goes into Eval."""
    text = ("Train:\n  - C:\n      num_class_list: &counts [1, 2]\n      gamma: 1.0\n"
            "Eval:\n  - C:\n      num_class_list: *counts\nNext: 1\n")
    source = parse_yaml(text)
    edits = [*set_keys(text, source.node_at(("Train", 0, "C")), [("gamma", "0.5"), ("num_class_list", "[3, 4]")]),
             *set_keys(text, source.node_at(("Eval", 0, "C")), [("gamma", "0.5"), ("num_class_list", "[3, 4]")])]
    new = apply_edits(text, edits)
    assert new == ("Train:\n  - C:\n      num_class_list: &counts [3, 4]\n      gamma: 0.5\n"
                   "Eval:\n  - C:\n      num_class_list: *counts\n      gamma: 0.5\nNext: 1\n")


def test_yaml_float_is_params_speller():
    from ppcls_csce import params

    for value in (1e-05, 2.5e20, 0.5):
        assert yaml_float(value) == params.yaml_float_text(repr(value))
