"""Hand mutations: each one breaks a formula or a safety line the tests must guard; a mutant that survives is a
missing test.

    python bench/mutants.py            # every mutation; exit 1 when any survives or any target text is gone
    python bench/mutants.py --list     # the mutations, with the file each one changes
    python bench/mutants.py -k sampler # only those whose name contains "sampler"

Each mutation replaces one small exact text (which must occur exactly once) in a copy of the repository in a
temporary folder, then runs only the tests named with it there (pytest -x, no byte-code cache, so a restored file
is never run from a stale .pyc). Killed: the tests fail. A target text that is missing or not unique is reported,
the run goes on, and the exit code is 1: the mutation must be updated with the code it guards. Nothing in this
checkout changes. The tests that need PaddleClas (the sampler's, through ImageNetDataset) take the checkout of
PPCLS_CSCE_PADDLECLAS (default: ../shared/PaddleClas beside the repository, as tests/conftest.py does); without
one they are skipped and their mutants survive, so the run fails rather than pass untested. Run it after the
suite passes (CI: .ci/run): a test that fails unmutated would count every mutant of its file as killed.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, NamedTuple, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]


class Mutation(NamedTuple):
    name: str
    path: str  # relative to the repository
    old: str
    new: str
    tests: Sequence[str]  # pytest arguments: the tests that guard this text, and only those


M = Mutation
RULES_FIXTURES = ["tests/test_rules.py", "-k", "fixture"]
MUTATIONS: List[Mutation] = [
    # --- the formulas: weights, class-balanced rescale, logit adjustment, iterations per epoch, DRW switch step ---
    M("weights-cs-ce", "ppcls_csce/params.py", "(n_min / count) ** gamma", "(n_min / count) * gamma",
      ["tests/test_params.py"]),
    M("class-balanced-rescale", "ppcls_csce/params.py", "scale = len(counts) / math.fsum(raw)",
      "scale = 1.0 / math.fsum(raw)", ["tests/test_params.py"]),
    M("class-balanced-effective-number", "ppcls_csce/params.py", "-math.expm1(count * log_beta)",
      "-math.expm1((count + 1) * log_beta)", ["tests/test_params.py"]),
    M("logit-adjustment", "ppcls_csce/params.py", "tau * math.log(count)", "tau * math.log(count + 1)",
      ["tests/test_params.py"]),
    M("underflow-threshold", "ppcls_csce/params.py", "if gamma * log_ratio >= LOG_FLOAT32_TINY:",
      "if gamma * log_ratio >= 2 * LOG_FLOAT32_TINY:", ["tests/test_params.py", "-k", "underflow"]),
    M("epoch-iterations-per-card", "ppcls_csce/drw.py", "math.ceil(images / world_size)", "images // world_size",
      ["tests/test_ppconfig.py"]),
    M("ppconfig-drop-last-default", "ppcls_csce/ppconfig.py", 'sampler.get("drop_last", False)',
      'sampler.get("drop_last", True)', ["tests/test_ppconfig.py"]),
    M("ppconfig-update-freq-guard", "ppcls_csce/ppconfig.py", "    if iters < update_freq:\n", "    if False:\n",
      ["tests/test_ppconfig.py"]),
    M("ppconfig-loss-sections", "ppcls_csce/ppconfig.py", '    if isinstance(unlabel, dict) and "Train" in unlabel:',
      "    if False:", ["tests/test_ppconfig.py"]),
    M("drw-default-epoch", "ppcls_csce/drw.py", "round(PLAIN_SHARE * epochs) + 1", "round(PLAIN_SHARE * epochs)",
      ["tests/test_params.py", "tests/test_gen.py", "-k", "drw or default"]),
    M("drw-switch-step", "ppcls_csce/loss.py", "(drw[0] - 1) * drw[1]", "drw[0] * drw[1]",
      ["tests/test_loss.py", "-k", "drw_switch"]),
    M("drw-switch-compare", "ppcls_csce/loss.py", "self.train_steps >= self.switch_step",
      "self.train_steps > self.switch_step", ["tests/test_loss.py", "-k", "drw_switch"]),
    # --- the sampler: each rank its own share of one epoch, drawn from (seed, epoch) ---
    M("sampler-rank-split", "ppcls_csce/sampler.py", "start = self.local_rank * self.num_samples", "start = 0",
      ["tests/test_sampler.py"]),
    M("sampler-epoch-seed", "ppcls_csce/sampler.py", "np.random.default_rng([self.seed, epoch_index])",
      "np.random.default_rng(self.seed)", ["tests/test_sampler.py"]),
    # --- the metric: per-class recall, and the shot groups (one rule for stats, LongTailAcc and the report) ---
    M("metric-recall", "ppcls_csce/metric.py", "np.divide(self.correct, self.total,",
      "np.divide(self.correct, self.total + 1,", ["tests/test_metric.py"]),
    M("metric-unseen-classes", "ppcls_csce/metric.py", "                index = index[seen[index]]\n", "",
      ["tests/test_metric.py"]),
    M("shot-groups-many-threshold", "ppcls_csce/counts.py", '"many" if count > MANY_SHOT_ABOVE',
      '"many" if count >= MANY_SHOT_ABOVE', ["tests/test_counts.py", "tests/test_shot_groups.py"]),
    M("shot-groups-few-threshold", "ppcls_csce/counts.py", '"few" if count < FEW_SHOT_BELOW',
      '"few" if count <= FEW_SHOT_BELOW', ["tests/test_counts.py", "tests/test_shot_groups.py"]),
    M("shot-groups-fallback", "ppcls_csce/counts.py", "    if all(groups.values()):\n        return groups",
      "    if True:\n        return groups", ["tests/test_counts.py", "tests/test_shot_groups.py"]),
    # --- safety lines: atomic writes, eval()'d names, --fix, install's roll-back, Ctrl-C, the report ---
    M("atomic-rename-through-symlink", "ppcls_csce/atomic.py", "os.replace(tmp_name, target)",
      "os.replace(tmp_name, path)", ["tests/test_atomic.py"]),
    M("atomic-keeps-mode", "ppcls_csce/atomic.py", "os.chmod(tmp_name, info.st_mode & 0o7777)",
      "os.chmod(tmp_name, 0o644)", ["tests/test_atomic.py"]),
    M("eval-name-nfkc", "ppcls_csce/rules/eval_names.py",
      'seen = unicodedata.normalize("NFKC", name)\n    as_python', "seen = name\n    as_python",
      ["tests/test_eval_names.py", "tests/test_rules.py", "-k", "name"]),
    M("eval-names-models", "ppcls_csce/rules/eval_names.py", 'return path[1:2] == ("models",) and',
      "return False and", ["tests/test_rules.py", "-k", "evaluated_model"]),
    M("eval-names-base-loss", "ppcls_csce/rules/eval_names.py", 'key == "base_loss_name"',
      'key == "base_loss_names"', ["tests/test_rules.py", "-k", "evaluated_model"]),
    M("fix-exit-code", "ppcls_csce/validate.py", "1 if bad or any(result.fixed for result in results) else 0",
      "1 if bad else 0", ["tests/test_validate.py", "-k", "fix"]),
    M("install-rollback-restore", "ppcls_csce/atomic.py", "                    write_atomic(target, before)\n",
      "                    pass\n", ["tests/test_hostile.py", "-k", "ctrl_c_during_install or ctrl_c_during_uninstall"]),
    M("install-rollback-unlink", "ppcls_csce/atomic.py", "                        os.unlink(target)\n",
      "                        pass\n", ["tests/test_hostile.py", "-k", "ctrl_c_during_install"]),
    M("cli-ctrl-c", "ppcls_csce/exits.py", "INTERRUPTED = 130", "INTERRUPTED = 1",
      ["tests/test_cli.py", "tests/test_hostile.py", "-k", "ctrl_c"]),
    M("report-github-percent", "ppcls_csce/report.py", '.replace("%", "%25")', "", ["tests/test_report.py"]),
    M("report-github-cr", "ppcls_csce/report.py", '.replace("\\r", "%0D")', "", ["tests/test_report.py"]),
    M("report-github-lf", "ppcls_csce/report.py", '.replace("\\n", "%0A")', "", ["tests/test_report.py"]),
    M("report-github-colon", "ppcls_csce/report.py", '.replace(":", "%3A")', "", ["tests/test_report.py"]),
    M("report-github-comma", "ppcls_csce/report.py", '.replace(",", "%2C")', "", ["tests/test_report.py"]),
    M("report-escape-lines", "ppcls_csce/report.py", "    if text.isprintable():\n        return text",
      "    if True:\n        return text", ["tests/test_report.py"]),
    M("same-list-twice", "ppcls_csce/scanner.py", "            if same is not path:", "            if False:",
      ["tests/test_scanner.py", "-k", "twice"]),
    # --- the rules, and gen, which runs them on what it would write ---
    M("stale-class-num-bound", "ppcls_csce/rules/stale.py",
      "scan_lists(lists, ppconfig.delimiter(context.source), class_num)",
      "scan_lists(lists, ppconfig.delimiter(context.source), None)",
      ["tests/test_rules.py", "-k", "configured_class_count"]),
    M("schedule-start-after-epochs", "ppcls_csce/rules/schedule.py", "and start > epochs:",
      "and start > epochs + 1:", ["tests/test_rules.py", "-k", "drw_schedule"]),
    M("schedule-iters-compare", "ppcls_csce/rules/schedule.py", "and given != iters:", "and given < iters:",
      RULES_FIXTURES),
    M("schedule-batch-size", "ppcls_csce/ppconfig.py", 'not positive_int(sampler.get("batch_size"))',
      'sampler.get("batch_size") is None', ["tests/test_gen.py", "-k", "schedule"]),
    M("delimiter-empty", "ppcls_csce/rules/dataset.py", "not (isinstance(value, str) and value)",
      "not isinstance(value, str)", RULES_FIXTURES),
    M("relabel-rule", "ppcls_csce/rules/relabel.py", "if entries and ppconfig.relabels(context.source):",
      "if False:", ["tests/test_gen.py", "-k", "relabel"]),
    M("class-count-rule", "ppcls_csce/rules/class_count.py", "if isinstance(counts, list) and len(counts) != value:",
      "if False:", RULES_FIXTURES),
    M("gen-sets-class-num", "ppcls_csce/gen.py", "set_class_num = (keys, class_num)", "set_class_num = None",
      ["tests/test_gen.py", "-k", "class_num_sets"]),
    M("gen-checks-result", "ppcls_csce/gen.py",
      "raise ProblemsError([in_given(problem, source, result, edits) for problem in problems])", "pass",
      ["tests/test_gen.py", "-k", "relabel or schedule"]),
    M("gen-result-located-in-given-file", "ppcls_csce/checks.py", "        shift += len(edit.new) - (edit.end - edit.start)",
      "        pass", ["tests/test_checks.py", "-k", "given_file"]),
    M("gen-result-inside-an-edit", "ppcls_csce/checks.py", "            offset = edit.start + shift  # inside",
      "            offset = offset  # inside", ["tests/test_checks.py", "-k", "given_file"]),
    M("edit-empty-flow", "ppcls_csce/edit.py", "return TextEdit(close, close, pairs)",
      'return TextEdit(close, close, ", " + pairs)', ["tests/test_edit.py"]),
    M("edit-trailing-comma", "ppcls_csce/edit.py", "end = _value_end(text, *mapping.value[-1])  # before",
      "end = mapping.end_mark.index - 1  # before", ["tests/test_edit.py"]),
    M("edit-alias-end", "ppcls_csce/edit.py",
      "    if value_node.start_mark.index < key_node.end_mark.index:\n        alias",
      "    if False:\n        alias", ["tests/test_edit.py"]),
    M("edit-block-scalar", "ppcls_csce/edit.py", 'value_node.style in ("|", ">")', "False", ["tests/test_edit.py"]),
]


def paddleclas_checkout() -> Optional[str]:
    """PPCLS_CSCE_PADDLECLAS, else ../shared/PaddleClas beside the repository (absolute: the copy is elsewhere)."""
    given = os.environ.get("PPCLS_CSCE_PADDLECLAS")
    if given:
        return str(Path(given).resolve())
    beside = REPO.parent / "shared" / "PaddleClas"
    return str(beside.resolve()) if beside.is_dir() else None


def run_one(mutation: Mutation, folder: Path, env: dict) -> str:
    """'killed', 'SURVIVED', or why the mutation could not be made."""
    target = folder / mutation.path
    text = target.read_text(encoding="utf-8")
    found = text.count(mutation.old)
    if found != 1:
        return f"TARGET TEXT FOUND {found} TIMES (not once): update bench/mutants.py"
    target.write_text(text.replace(mutation.old, mutation.new), encoding="utf-8")
    try:
        try:
            compile(target.read_text(encoding="utf-8"), str(target), "exec")
        except SyntaxError as error:
            return f"MUTANT DOES NOT COMPILE ({error.msg}, line {error.lineno}): update bench/mutants.py"
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                               "-W", "ignore:No ccache found", *mutation.tests],
                              cwd=folder, env=env, capture_output=True, text=True)
        return "killed" if done.returncode != 0 else "SURVIVED"
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
            print(f"{mutation.name:36} {mutation.path}")
        return 0
    began = time.perf_counter()
    failed = []
    with tempfile.TemporaryDirectory(prefix="ppcls-csce-mutants-") as tmp:
        folder = Path(tmp) / "repo"
        shutil.copytree(REPO, folder, ignore=shutil.ignore_patterns(
            ".git", "__pycache__", "*.egg-info", "output", ".venv*", "build", "dist", ".pytest_cache"))
        env = {**os.environ, "PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1"}
        checkout = paddleclas_checkout()
        if checkout is not None:
            env["PPCLS_CSCE_PADDLECLAS"] = checkout
        for mutation in chosen:
            start = time.perf_counter()
            outcome = run_one(mutation, folder, env)
            print(f"{outcome:8} {mutation.name} ({time.perf_counter() - start:.1f} s)", flush=True)
            if outcome != "killed":
                failed.append(mutation.name)
    print(f"{len(chosen) - len(failed)} of {len(chosen)} mutants killed in {time.perf_counter() - began:.0f} s"
          + (f"; not killed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
