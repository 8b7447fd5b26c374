"""The validate rules: one small module per rule family, every rule in the RULES registry below.

Each rule has an id (printed as `[id]` after its message), a severity, a docstring saying what it catches
and why, and a bad example with its fix (the README's rules table is made from them). Rules run in the
order listed; validate sorts the problems by position. To add a rule: write `check_x(context)` yielding
Problems in a module here, wrap it in a Rule, and append it to that module's RULES.
"""

from typing import Dict, List

from . import class_count, consistency, csce_params, eval_names, loss_shape, relabel, stale, yaml_file
from .base import Context, Options, Rule

RULES: List[Rule] = [
    *yaml_file.RULES,
    *loss_shape.RULES,
    *eval_names.RULES,
    *csce_params.RULES,
    *class_count.RULES,
    *relabel.RULES,
    *consistency.RULES,
    *stale.RULES,
]
BY_ID: Dict[str, Rule] = {rule.id: rule for rule in RULES}

__all__ = ["BY_ID", "RULES", "Context", "Options", "Rule"]
