"""The validate rules: one small module per rule family, every rule in the RULES registry below.

A rule is a pure check of one config (its text and the user's options): an id (printed as `[id]` after its
message), a severity, a one-line summary, and a check whose docstring is its documentation; tests/fixtures/validate
holds a bad and a good config for each. Rules run in the order listed; validate sorts the problems by position.
To add a rule: write `check_x(context)` yielding Problems in a module here, wrap it in a Rule, append it to that
module's RULES, and add its fixtures (tests check them).

IDS are the ids raised outside the registry (the YAML loader, the list scanner, a command's own preconditions,
unusable input): documented here too, never run as rules.
"""

from typing import Dict, List, Union

from . import (class_count, command, consistency, csce_params, dataset, eval_names, installed, loss_shape, plugins,
               relabel, schedule, smoothing, stale, underflow, yaml_file)
from . import eval_sampler, metric_shape, paddleclas_loader, shared_edit  # hostile input (issue 22): PaddleClas's asserts, sharing
from .base import Context, DocumentedId, Options, Rule

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
    *installed.RULES,
    *paddleclas_loader.RULES, *metric_shape.RULES, *eval_sampler.RULES,
]
IDS: List[DocumentedId] = [*yaml_file.IDS, *stale.IDS, *command.IDS, *shared_edit.IDS]
BY_ID: Dict[str, Union[Rule, DocumentedId]] = {code.id: code for code in [*RULES, *IDS]}

__all__ = ["BY_ID", "IDS", "RULES", "Context", "DocumentedId", "Options", "Rule"]
