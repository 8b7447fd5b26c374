"""The pydantic models are built from params and hold no rule of their own; check_entry locates every problem."""

from ppcls_csce.schema import CostSensitiveCEParams, check_entry


def test_valid_entry_has_no_issues_and_defaults():
    assert check_entry({"weight": 1.0, "num_class_list": [10, 3]}) == []
    model = CostSensitiveCEParams.model_validate({"weight": 1, "num_class_list": [10, 3]})
    assert model.gamma == 1.0 and model.epsilon is None and model.reduction == "mean"


def test_unknown_key_is_reported_at_the_key():
    (issue,) = check_entry({"weight": 1.0, "num_class_list": [3], "gama": 1.0})
    assert issue.loc == ("gama",) and issue.at_key
    assert "unknown parameter 'gama'" in issue.message


def test_missing_weight_and_counts():
    issues = check_entry({"gamma": 1.0})
    messages = " | ".join(issue.message for issue in issues)
    assert "weight is missing" in messages and "num_class_list is missing" in messages


def test_element_errors_carry_the_index():
    (issue,) = check_entry({"weight": 1.0, "num_class_list": [3, 2, 2.0]})
    assert issue.loc == ("num_class_list", 2)


def test_string_gamma_gets_the_yaml_hint():
    (issue,) = check_entry({"weight": 1.0, "num_class_list": [3], "gamma": "1e-3"})
    assert issue.loc == ("gamma",) and "1.0e-3" in issue.message


def test_drw_keys_must_come_together():
    (issue,) = check_entry({"weight": 1.0, "num_class_list": [3], "drw_start_epoch": 5})
    assert "iters_per_epoch is missing" in issue.message
    assert check_entry({"weight": 1.0, "num_class_list": [3], "drw_start_epoch": 5, "iters_per_epoch": 10}) == []


def test_not_a_mapping():
    (issue,) = check_entry([1, 2])
    assert issue.loc == ()


# --- the three losses ---------------------------------------------------------------------------------------

import pytest  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402

from ppcls_csce import params  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from ppcls_csce.schema import MODELS  # noqa: E402


def test_one_model_per_loss_with_the_registry_defaults():
    assert set(MODELS) == set(params.LOSSES)
    for name, model in MODELS.items():
        spec = params.LOSSES[name]
        assert model.model_fields[spec.strength].default == spec.default
        assert set(model.model_fields) == {params.COMBINING_WEIGHT, *spec.params}


@pytest.mark.parametrize("name, key, good, bad, message", [
    ("BalancedSoftmaxCE", "tau", 0.5, -1.0, "tau must be a finite number >= 0"),
    ("BalancedSoftmaxCE", "tau", 0.0, "1e-1", "write 1.0e-1 for a float"),
    ("ClassBalancedCE", "beta", 0.999, 1.0, "beta must be in [0, 1)"),
    ("ClassBalancedCE", "beta", 0.0, float("nan"), "beta must be in [0, 1)"),
])
def test_each_loss_checks_its_own_strength(name, key, good, bad, message):
    assert check_entry({"weight": 1.0, "num_class_list": [10, 3], key: good}, name=name) == []
    (issue,) = check_entry({"weight": 1.0, "num_class_list": [10, 3], key: bad}, name=name)
    assert issue.loc == (key,) and message in issue.message


def test_a_parameter_of_another_loss_is_unknown():
    (issue,) = check_entry({"weight": 1.0, "num_class_list": [3], "gamma": 1.0}, name="BalancedSoftmaxCE")
    assert issue.at_key and "unknown parameter 'gamma': PaddleClas passes it to BalancedSoftmaxCE()" in issue.message
    assert "tau" in issue.message
    (issue,) = check_entry({"weight": 1.0, "num_class_list": [3], "tau": 1.0})  # CostSensitiveCE by default
    assert "CostSensitiveCE()" in issue.message


def test_unknown_loss_name():
    with pytest.raises(params.ParamError, match="unknown loss 'FocalLoss'"):
        check_entry({}, name="FocalLoss")


_VALUE = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-2, 5),
                   st.sampled_from(["1e-3", "0.5", "mean"]), st.lists(st.integers(-1, 9), max_size=3))


@settings(max_examples=600, deadline=None)
@given(name=st.sampled_from(sorted(params.LOSSES)),
       extra=st.dictionaries(st.sampled_from(["gamma", "beta", "tau", "epsilon", "reduction", "drw_start_epoch",
                                              "iters_per_epoch", "weight", "num_class_list"]), _VALUE, max_size=3))
def test_the_model_accepts_exactly_what_the_rules_accept(name, extra):
    """The model holds no rule of its own: it validates an entry exactly when params.entry_problems finds nothing,
    and then gives the defaults the constructor has."""
    values = {"weight": 1.0, "num_class_list": [50, 7, 2], **extra}
    try:
        model = MODELS[name].model_validate(values)
    except ValidationError:
        model = None
    assert (model is not None) == (params.entry_problems(values, name) == [])
    if model is not None:
        spec = params.LOSSES[name]
        assert getattr(model, spec.strength) == values.get(spec.strength, spec.default)
