"""The validate rules: one small module per rule family, every rule in the RULES registry below.

Each rule has an id (printed as `[id]` after its message), a severity, a one-line summary and a docstring
saying what it catches and why; the README's rules table has a row for each (with a bad example and its
fix), and tests/fixtures/validate a bad and a good config. Rules run in the order listed; validate sorts
the problems by position. To add a rule: write `check_x(context)` yielding Problems in a module here, wrap
it in a Rule, append it to that module's RULES, and add its fixtures and README row (tests check both).
"""

from typing import Dict, List

from . import (class_count, command, consistency, csce_params, dataset, eval_names, installed, loss_shape, plugins,
               relabel, schedule, smoothing, stale, underflow, yaml_file)
from . import eval_sampler, metric_shape, paddleclas_loader, shared_edit  # hostile input (issue 22): PaddleClas's asserts, sharing
from .base import Context, Options, Rule

RULES: List[Rule] = [
    *yaml_file.RULES,
    *loss_shape.RULES,
    *eval_names.RULES,
    *csce_params.RULES,
    *class_count.RULES,
    *relabel.RULES,
    *dataset.RULES,
    *schedule.RULES,
    *underflow.RULES,
    *smoothing.RULES,
    *consistency.RULES,
    *stale.RULES,
    *plugins.RULES,
    *paddleclas_loader.RULES, *metric_shape.RULES, *eval_sampler.RULES,
]
# The rules only commands run (gen's preconditions, input that is not a config): never part of validate.
COMMAND_RULES: List[Rule] = list(command.RULES) + installed.RULES + shared_edit.RULES
BY_ID: Dict[str, Rule] = {rule.id: rule for rule in RULES + COMMAND_RULES}

__all__ = ["BY_ID", "COMMAND_RULES", "RULES", "Context", "Options", "Rule"]
