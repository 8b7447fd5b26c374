"""The pydantic model delegates every rule to params, and maps errors to key paths."""

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
