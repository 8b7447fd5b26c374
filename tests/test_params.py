"""The one statement of the CostSensitiveCE rules."""

import math

import pytest
import yaml
from hypothesis import given, strategies as st

from ppcls_csce import drw, params


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


# --- class-balanced weights, logit adjustment, the registry ------------------------------------------------


def test_class_balanced_weights_by_hand_and_at_the_edges():
    # beta 0.5, counts [1, 2]: raw 1 and 2/3, rescaled to sum to 2
    assert params.class_balanced_weights([1, 2], 0.5) == [pytest.approx(1.2), pytest.approx(0.8)]
    assert params.class_balanced_weights(CIFAR10_LT, 0.0) == [1.0] * 10
    weights = params.class_balanced_weights(CIFAR10_LT, 0.9999)
    assert math.fsum(weights) == pytest.approx(10)
    # beta close to 1: effective number ~ n, so the weights approach C * (1/n) / sum(1/n)
    close = params.class_balanced_weights([1000, 10], 1 - 1e-12)
    assert close == [pytest.approx(2 * (1 / 1000) / (1 / 1000 + 1 / 10), rel=1e-6),
                     pytest.approx(2 * (1 / 10) / (1 / 1000 + 1 / 10), rel=1e-6)]


@given(st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=40), st.floats(0, 0.99999))
def test_class_balanced_weights_sum_to_c_and_favour_rare_classes(counts, beta):
    weights = params.class_balanced_weights(counts, beta)
    assert math.fsum(weights) == pytest.approx(len(counts), rel=1e-9)
    order = sorted(range(len(counts)), key=lambda c: counts[c])
    assert all(weights[a] >= weights[b] * (1 - 1e-12) for a, b in zip(order, order[1:]))


def test_logit_adjustment_is_tau_log_counts():
    assert params.logit_adjustment([1, 10], 0.5) == [0.0, pytest.approx(0.5 * math.log(10))]
    assert params.logit_adjustment([7, 3], 0.0) == [0.0, 0.0]


@pytest.mark.parametrize("rule, good, bad", [
    (params.check_tau, [0, 0.5, 1, 2.0], [-0.1, float("inf"), float("nan"), "1.0", True, None]),
    (params.check_beta, [0, 0.9, 0.9999], [1, 1.5, -0.1, float("nan"), "0.99", False, None]),
])
def test_tau_and_beta_rules(rule, good, bad):
    for value in good:
        assert rule(value) == float(value)
    for value in bad:
        with pytest.raises(params.ParamError):
            rule(value)


def test_registry_describes_the_three_losses():
    assert list(params.LOSSES) == ["CostSensitiveCE", "ClassBalancedCE", "BalancedSoftmaxCE"]
    assert [spec.key for spec in params.LOSSES.values()] == ["CS_CELoss", "ClassBalancedCELoss", "BalancedSoftmaxCELoss"]
    assert params.LOSSES["CostSensitiveCE"].params == ("num_class_list", "gamma", "epsilon", "reduction",
                                                       "drw_start_epoch", "iters_per_epoch")
    tau = params.loss_spec("BalancedSoftmaxCE")
    assert tau.params == ("num_class_list", "tau", "epsilon", "reduction", "drw_start_epoch", "iters_per_epoch")
    assert not tau.weighted and tau.per_class([1, 10], 1.0) == params.logit_adjustment([1, 10], 1.0)
    assert params.loss_spec("ClassBalancedCE").per_class is params.class_balanced_weights
    with pytest.raises(params.ParamError, match="unknown loss 'CELoss'"):
        params.loss_spec("CELoss")


def test_entry_problems_per_loss():
    base = {"weight": 1.0, "num_class_list": [10, 3]}
    assert params.entry_problems({**base, "gamma": 2.0}) == []  # CostSensitiveCE by default
    assert params.entry_problems({**base, "tau": 2.0}, "BalancedSoftmaxCE") == []
    [unknown] = params.entry_problems({**base, "tau": 2.0})
    assert (unknown.loc, unknown.at_key) == (("tau",), True)
    [unknown] = params.entry_problems({**base, "gamma": 2.0}, "ClassBalancedCE")
    assert "unknown parameter 'gamma'" in str(unknown)
    assert params.entry_problems({**base, "beta": 0.99, "drw_start_epoch": 2, "iters_per_epoch": 4}, "ClassBalancedCE") == []
    [beta] = params.entry_problems({**base, "beta": 1.0}, "ClassBalancedCE")
    assert beta.loc == ("beta",) and "[0, 1)" in str(beta)


def test_entry_problems_are_all_found_in_one_pass():
    """A broken DRW pair does not hide the other fields' problems (pydantic's model check did)."""
    found = params.entry_problems({"num_class_list": [3, 0], "gamma": -1, "drw_start_epoch": 2, "gama": 1})
    assert sorted((problem.loc, problem.at_key) for problem in found) == [
        ((), False), ((), False), (("gama",), True), (("gamma",), False), (("num_class_list", 1), False)]
    assert {str(problem).split(":")[0] for problem in found if not problem.loc} == {
        "weight is missing", "deferred re-weighting needs both drw_start_epoch and iters_per_epoch; iters_per_epoch is missing"}


def test_weight_underflow_at_float32s_smallest_normal():
    counts = [1_000_000, 1]  # (1e-6) ** gamma falls below 2 ** -126 past gamma = 126 log 2 / log 1e6 ~ 6.32
    label, log10_weight, safe = params.weight_underflow(counts, 20.0)
    assert label == 0 and log10_weight == pytest.approx(-120.0) and safe == pytest.approx(126 * math.log(2) / math.log(1e6))
    assert params.weight_underflow(counts, safe * 0.999) is None
    assert params.weight_underflow(counts, safe * 1.001) is not None
    assert params.weight_underflow([4, 4], 1e6) is None

def test_epoch_iterations_and_the_drift_message():
    assert drw.epoch_iterations(1000, 64) == (15, 16)
    assert drw.epoch_iterations(1000, 64, world_size=2) == (7, 8)  # 500 per card
    for iters in (15, 16):
        assert drw.drw_drift_message("CostSensitiveCE", 3, iters, 1000, 64, 1) is None
    message = drw.drw_drift_message("CostSensitiveCE", 3, 16, 1000, 8, 1)
    assert "125 iterations per epoch" in message and "with drop_last" not in message  # 1000 / 8 is exact
    assert "after 32 training steps will come at epoch 1, iteration 33, not at the start of epoch 3" in message
    assert "iters_per_epoch: 125" in message


def test_resume_message_says_where_the_run_stands():
    assert "past the DRW switch at step 8" in drw.resume_message("CostSensitiveCE", 9, 8)
    assert "comes after 3 more steps, not 8" in drw.resume_message("CostSensitiveCE", 5, 8)
