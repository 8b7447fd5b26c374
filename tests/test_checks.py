"""checks.py: the one way a command checks a config (a named subset of the rules), and the loader's rule ids."""

import re

import pytest

from ppcls_csce import yamlsource
from ppcls_csce.checks import check_source, load_config, require_clean
from ppcls_csce.errors import ProblemsError
from ppcls_csce.rules import BY_ID, COMMAND_RULES, Options
from ppcls_csce.yamlsource import parse_yaml

CONFIG = ("Arch:\n  name: R\n  class_num: 3\nDataLoader:\n  Train:\n    dataset:\n      name: ImageNetDataset\n"
          "      relabel: True\nLoss:\n  Train:\n    - FocalLoss: {weight: 1.0}\n")


def test_only_runs_the_named_rules_and_command_rules_only_when_named():
    source = parse_yaml(CONFIG, "c.yaml")
    assert [p.rule for p in check_source(source)[0]] == []  # no CostSensitiveCE: validate finds nothing wrong
    planned = Options(csce_planned=True)
    assert [p.rule for p in check_source(source, planned, ["csce-relabel", "gen-loss"])[0]] == ["csce-relabel",
                                                                                               "gen-loss"]
    assert [p.rule for p in check_source(source, planned, ["gen-loss"])[0]] == ["gen-loss"]
    assert not any(p.rule in {r.id for r in COMMAND_RULES} for p in check_source(source, planned)[0])


def test_require_clean_raises_every_error_at_once():
    with pytest.raises(ProblemsError) as caught:
        require_clean(parse_yaml(CONFIG, "c.yaml"), Options(csce_planned=True), ["csce-relabel", "gen-loss"])
    assert [p.as_text().split(": error: ")[0] for p in caught.value.problems] == ["c.yaml:8:16", "c.yaml:10:3"]


def test_load_config_failures_are_problems_of_the_loader_rules(tmp_path):
    with pytest.raises(ProblemsError) as caught:
        load_config(str(tmp_path / "missing.yaml"))
    [problem] = caught.value.problems
    assert (problem.rule, problem.severity) == ("file", "error")


def test_every_rule_id_the_loader_raises_has_its_record():
    """yamlsource.py (another module's owner) names its rule ids as text; each must be a record here."""
    text = open(yamlsource.__file__, encoding="utf-8").read()
    raised = set(re.findall(r'rule="([a-z0-9-]+)"', text)) | {"yaml-syntax"}
    assert raised and raised <= set(BY_ID), raised - set(BY_ID)
