"""bench/mutants.py stays current: every mutation's target text occurs exactly once, its mutant compiles, and the
tests it runs exist (the mutants themselves run in CI: python bench/mutants.py)."""

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mutants", REPO / "bench" / "mutants.py")
assert _spec is not None and _spec.loader is not None
mutants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mutants)


@pytest.mark.parametrize("mutation", mutants.MUTATIONS, ids=lambda m: m.name)
def test_each_mutation_applies_once_and_compiles(mutation) -> None:
    text = (REPO / mutation.path).read_text(encoding="utf-8")
    assert text.count(mutation.old) == 1, f"{mutation.name}: update its target text in bench/mutants.py"
    compile(text.replace(mutation.old, mutation.new), mutation.path, "exec")
    files = [arg for arg in mutation.tests if arg.startswith("tests/")]
    assert files and all((REPO / name).is_file() for name in files)


def test_names_are_unique_and_every_safety_line_is_covered() -> None:
    names = [mutation.name for mutation in mutants.MUTATIONS]
    assert len(names) == len(set(names))
    for family in ("weights", "class-balanced", "logit-adjustment", "drw-switch", "sampler-rank", "sampler-epoch-seed",
                   "metric-recall", "shot-groups", "atomic-rename", "atomic-keeps-mode", "eval-name-nfkc",
                   "fix-exit-code", "install-rollback"):
        assert any(name.startswith(family) for name in names), family
