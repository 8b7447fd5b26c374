"""The one statement of the CostSensitiveCE rules."""

import math

import pytest
import yaml
from hypothesis import given, strategies as st

from ppcls_csce import params


CIFAR10_LT = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


def test_cifar10_lt_weights_match_the_paper_formula():
    weights = params.class_weights(CIFAR10_LT, 1.0)
    expected = [0.01, 0.016683, 0.02784, 0.046425, 0.077519, 0.129199, 0.215517, 0.359712, 0.60241, 1.0]
    assert [round(w, 6) for w in weights] == expected


def test_gamma_zero_is_plain_cross_entropy_and_half_is_square_root():
    assert params.class_weights(CIFAR10_LT, 0.0) == [1.0] * 10
    half = params.class_weights([400, 100], 0.5)
    assert half == [pytest.approx(0.5), 1.0]


@pytest.mark.parametrize("bad", [[], [3, 0], [3, -1], [3, True], [3, 3.0], "3,4", None, 7, ["3"]])
def test_num_class_list_refuses(bad):
    with pytest.raises(params.ParamError):
        params.check_num_class_list(bad)


def test_num_class_list_error_points_at_the_element():
    with pytest.raises(params.ParamError) as caught:
        params.check_num_class_list([5, 4, 0, 2])
    assert caught.value.loc == ("num_class_list", 2)
    assert "num_class_list[2] is 0" in str(caught.value)


@pytest.mark.parametrize("bad", [-0.5, float("inf"), float("nan"), "1e-3", True, None])
def test_gamma_refuses(bad):
    with pytest.raises(params.ParamError):
        params.check_gamma(bad)


def test_string_gamma_message_gives_the_float_spelling():
    with pytest.raises(params.ParamError, match=r"write 1\.0e-3 for a float"):
        params.check_gamma("1e-3")


@pytest.mark.parametrize("text, spelled", [("1e-3", "1.0e-3"), ("2E5", "2.0E+5"), ("0.5", "0.5"), ("3e+2", "3.0e+2")])
def test_yaml_float_text_reads_back_as_a_float(text, spelled):
    assert params.yaml_float_text(text) == spelled
    assert yaml.safe_load(f"x: {spelled}")["x"] == pytest.approx(float(text))


def test_coerce_number_for_the_loss_only():
    assert params.coerce_number("1e-3") == pytest.approx(0.001)
    assert params.coerce_number("12") == 12 and isinstance(params.coerce_number("12"), int)
    assert params.coerce_number("abc") == "abc"
    assert params.coerce_number(0.5) == 0.5


@pytest.mark.parametrize("good", [None, 0.1, 0.5])
def test_epsilon_accepts(good):
    assert params.check_epsilon(good) == good


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, "0.1"])
def test_epsilon_refuses(bad):
    with pytest.raises(params.ParamError):
        params.check_epsilon(bad)


def test_weight_and_reduction():
    assert params.check_combining_weight(2) == 2.0
    for bad in (0, -1, float("nan"), "1.0", False):
        with pytest.raises(params.ParamError):
            params.check_combining_weight(bad)
    assert params.check_reduction("sum") == "sum"
    with pytest.raises(params.ParamError):
        params.check_reduction("avg")


def test_drw_keys_come_together():
    assert params.check_drw(None, None) is None
    assert params.check_drw(160, 97) == (160, 97)
    for bad in ((160, None), (None, 97), (0, 97), (160, 0), (True, 97), (1.5, 97)):
        with pytest.raises(params.ParamError):
            params.check_drw(*bad)


@given(st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=50), st.floats(0, 3))
def test_weights_are_in_0_1_and_the_rarest_class_gets_1(counts, gamma):
    weights = params.class_weights(counts, gamma)
    assert all(0 < w <= 1.0 for w in weights)
    assert weights[counts.index(min(counts))] == 1.0
    # more images never means a larger weight
    order = sorted(range(len(counts)), key=lambda c: counts[c])
    assert all(weights[a] >= weights[b] or math.isclose(weights[a], weights[b]) for a, b in zip(order, order[1:]))
