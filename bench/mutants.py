"""Hand mutations: each one breaks a boundary the tests must guard; a mutant that survives is a missing test.

    python bench/mutants.py            # every mutation; exit 1 when any survives
    python bench/mutants.py --list     # the mutations
    python bench/mutants.py -k report  # only those whose name contains "report"

Each mutation replaces one exact text (which must occur exactly once) in a copy of the repository in a temporary
folder, then runs the tests named with it there (pytest -x). Killed: the tests fail. Nothing in this checkout
changes.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, NamedTuple, Sequence

REPO = Path(__file__).resolve().parents[1]


class Mutation(NamedTuple):
    name: str
    path: str  # relative to the repository
    old: str
    new: str
    tests: Sequence[str]  # pytest arguments


MUTATIONS: List[Mutation] = [
    Mutation("report-github-percent", "ppcls_csce/report.py", '.replace("%", "%25")', "", ["tests/test_report.py"]),
    Mutation("report-github-cr", "ppcls_csce/report.py", '.replace("\\r", "%0D")', "", ["tests/test_report.py"]),
    Mutation("report-github-lf", "ppcls_csce/report.py", '.replace("\\n", "%0A")', "", ["tests/test_report.py"]),
    Mutation("report-github-colon", "ppcls_csce/report.py", '.replace(":", "%3A")', "", ["tests/test_report.py"]),
    Mutation("report-github-comma", "ppcls_csce/report.py", '.replace(",", "%2C")', "", ["tests/test_report.py"]),
    Mutation("report-escape-lines", "ppcls_csce/report.py", "    if text.isprintable():\n        return text",
             "    if True:\n        return text", ["tests/test_report.py"]),
    Mutation("ppconfig-per-rank-ceil", "ppcls_csce/ppconfig.py", "math.ceil(samples / world_size)",
             "samples // world_size", ["tests/test_ppconfig.py"]),
    Mutation("ppconfig-drop-last-default", "ppcls_csce/ppconfig.py", 'sampler.get("drop_last", False)',
             'sampler.get("drop_last", True)', ["tests/test_ppconfig.py"]),
    Mutation("ppconfig-update-freq-guard", "ppcls_csce/ppconfig.py", "    if iters < update_freq:\n",
             "    if False:\n", ["tests/test_ppconfig.py"]),
    Mutation("ppconfig-loss-sections", "ppcls_csce/ppconfig.py",
             '    if isinstance(unlabel, dict) and "Train" in unlabel:', "    if False:", ["tests/test_ppconfig.py"]),
    Mutation("eval-names-models", "ppcls_csce/rules/eval_names.py", 'return path[1:2] == ("models",) and',
             "return False and", ["tests/test_rules.py", "-k", "evaluated_model"]),
    Mutation("eval-names-base-loss", "ppcls_csce/rules/eval_names.py", 'key == "base_loss_name"',
             'key == "base_loss_names"', ["tests/test_rules.py", "-k", "evaluated_model"]),
    Mutation("stale-class-num-bound", "ppcls_csce/rules/stale.py",
             "scan_lists(lists, ppconfig.delimiter(context.source), class_num)",
             "scan_lists(lists, ppconfig.delimiter(context.source), None)",
             ["tests/test_rules.py", "-k", "configured_class_count"]),
    Mutation("schedule-start-after-epochs", "ppcls_csce/rules/schedule.py", "and start > epochs:",
             "and start > epochs + 1:", ["tests/test_rules.py", "-k", "drw_schedule"]),
    Mutation("schedule-iters-compare", "ppcls_csce/rules/schedule.py", "and given != iters:", "and given < iters:",
             ["tests/test_rules.py", "-k", "fixture"]),
    Mutation("schedule-batch-size", "ppcls_csce/rules/schedule.py",
             'not _positive_int(sampler.get("batch_size"))', 'sampler.get("batch_size") is None',
             ["tests/test_rules.py", "-k", "fixture"]),
    Mutation("underflow-threshold", "ppcls_csce/rules/underflow.py", "if gamma * log_ratio >= LOG_FLOAT32_TINY:",
             "if gamma * log_ratio >= 2 * LOG_FLOAT32_TINY:", ["tests/test_rules.py", "-k", "underflow"]),
    Mutation("delimiter-empty", "ppcls_csce/rules/dataset.py", "not (isinstance(value, str) and value)",
             "not isinstance(value, str)", ["tests/test_rules.py", "-k", "fixture"]),
    Mutation("edit-empty-flow", "ppcls_csce/edit.py", "return TextEdit(close, close, pairs)",
             'return TextEdit(close, close, ", " + pairs)', ["tests/test_edit.py"]),
    Mutation("edit-trailing-comma", "ppcls_csce/edit.py",
             "end = _value_end(text, *mapping.value[-1])  # before",
             "end = mapping.end_mark.index - 1  # before", ["tests/test_edit.py"]),
    Mutation("edit-alias-end", "ppcls_csce/edit.py",
             "    if value_node.start_mark.index < key_node.end_mark.index:\n        alias",
             "    if False:\n        alias", ["tests/test_edit.py"]),
    Mutation("edit-block-scalar", "ppcls_csce/edit.py", 'value_node.style in ("|", ">")', "False",
             ["tests/test_edit.py"]),
    Mutation("gen-sets-class-num", "ppcls_csce/gen.py", "set_class_num = (keys, class_num)", "set_class_num = None",
             ["tests/test_gen.py", "-k", "class_num_sets"]),
    Mutation("gen-checks-result", "ppcls_csce/gen.py", "    if errors_of(problems):\n        raise ProblemsError(problems)"
             "  # nothing is written", "    if False:\n        pass", ["tests/test_gen.py", "-k", "underflow or schedule"]),
    Mutation("relabel-planned", "ppcls_csce/rules/relabel.py", " or context.options.csce_planned", "",
             ["tests/test_gen.py", "-k", "relabel"]),
    Mutation("weights-twice", "ppcls_csce/weights.py", "        if key in seen:", "        if False:",
             ["tests/test_gen.py", "-k", "twice"]),
    Mutation("cli-ctrl-c", "ppcls_csce/cli.py", "            return 130", "            return 1",
             ["tests/test_cli.py", "-k", "ctrl_c"]),
]


def run_one(mutation: Mutation, folder: Path) -> bool:
    """True when the tests kill the mutant."""
    target = folder / mutation.path
    text = target.read_text(encoding="utf-8")
    if text.count(mutation.old) != 1:
        raise SystemExit(f"{mutation.name}: the text to mutate occurs {text.count(mutation.old)} times in "
                         f"{mutation.path}, not once; update bench/mutants.py")
    target.write_text(text.replace(mutation.old, mutation.new), encoding="utf-8")
    try:
        env = {**os.environ, "PYTHONPATH": str(folder)}
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                               "-W", "ignore:No ccache found", *mutation.tests],
                              cwd=folder, env=env, capture_output=True, text=True)
        return done.returncode != 0
    finally:
        target.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("-k", default="", help="only mutations whose name contains this")
    args = parser.parse_args(argv)
    chosen = [mutation for mutation in MUTATIONS if args.k in mutation.name]
    if args.list:
        for mutation in chosen:
            print(f"{mutation.name:32} {mutation.path}")
        return 0
    with tempfile.TemporaryDirectory(prefix="ppcls-csce-mutants-") as tmp:
        folder = Path(tmp) / "repo"
        shutil.copytree(REPO, folder, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "output"))
        survivors = []
        for mutation in chosen:
            start = time.perf_counter()
            killed = run_one(mutation, folder)
            print(f"{'killed  ' if killed else 'SURVIVED'} {mutation.name} ({time.perf_counter() - start:.1f} s)",
                  flush=True)
            if not killed:
                survivors.append(mutation.name)
    print(f"{len(chosen) - len(survivors)} of {len(chosen)} mutants killed; {len(survivors)} survived"
          + (f": {', '.join(survivors)}" if survivors else ""))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
