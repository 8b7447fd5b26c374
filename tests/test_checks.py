"""checks.py: the one way a command checks a config (a named subset of the rules), and the loader's rule ids."""

import re

import pytest

from ppcls_csce import yamlsource
from ppcls_csce.checks import check_source, load_config, require_clean
from ppcls_csce.errors import ProblemsError
from ppcls_csce.rules import BY_ID, Options
from ppcls_csce.yamlsource import parse_yaml

CONFIG = ("Arch:\n  name: R\n  class_num: 3\nDataLoader:\n  Train:\n    dataset:\n      name: ImageNetDataset\n"
          "      relabel: True\nLoss:\n  Train:\n    - FocalLoss: {weight: 1.0}\n")


CSCE = CONFIG.replace("FocalLoss: {weight: 1.0}", "CostSensitiveCE: {weight: 1.0, num_class_list: [3, 2, 1]}")


def test_only_runs_the_named_rules():
    assert [p.rule for p in check_source(parse_yaml(CONFIG, "c.yaml"))[0]] == []  # no CostSensitiveCE: all fine
    source = parse_yaml(CSCE, "c.yaml")
    assert [p.rule for p in check_source(source)[0]] == ["csce-relabel"]
    assert [p.rule for p in check_source(source, Options(), ["csce-relabel", "loss-shape"])[0]] == ["csce-relabel"]
    assert [p.rule for p in check_source(source, Options(), ["loss-shape"])[0]] == []


def test_require_clean_raises_every_error_at_once():
    text = CSCE.replace("class_num: 3", "class_num: 0")
    with pytest.raises(ProblemsError) as caught:
        require_clean(parse_yaml(text, "c.yaml"), Options(), ["csce-relabel", "csce-class-count"])
    assert [p.as_text().split(": error: ")[0] for p in caught.value.problems] == ["c.yaml:3:14", "c.yaml:8:16"]


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
