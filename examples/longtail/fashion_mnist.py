"""Long-tailed Fashion-MNIST through PaddleClas's own tools/train.py: CE, CS_CE, DRW and the rest.

One command runs every (arm, seed) not finished yet, so an interrupted run resumes where it stopped:

    python examples/longtail/fashion_mnist.py                 # the full schedule, 3 seeds
    python examples/longtail/fashion_mnist.py --quick --out /tmp/lt   # a few hundred images, 2 epochs

Per seed: a long-tailed train split of Fashion-MNIST (the CIFAR-10-LT imbalance-100 profile, which
class is rare drawn from the seed) written as PNG files and a PaddleClas list, a balanced validation split
from the training images that split leaves out (where the `--tau auto` arms choose tau: the test set is
never used for a choice), and the balanced test set.
PaddleClas is copied from --paddleclas into the work folder, `python -m ppcls_csce install` puts the
loss in, and every arm's config is written by `python -m ppcls_csce gen` from one real config of
ppcls/configs. Arms of one seed share the split, the initial weights (Global.seed) and the batch order
(PaddleClas's sampler shuffles by epoch number). The methods are in ltarms.py. Each trained model is read
back and scored on the test set by one lteval.py process for all runs; ltreport.py writes results.json,
results.md and the plot into --out. --jobs N runs N (arm, seed) runs at once (each tools/train.py is a
process of its own; on the CPU it uses one core).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import ltdata  # noqa: E402
import ltreport  # noqa: E402
from ltarms import ARMS, Arm, arm_named, available  # noqa: E402
from ltengine import (FULL, QUICK, Evaluator, Schedule, default_paddleclas, engine_info,  # noqa: E402
                      overrides, prepare_base, prepare_paddleclas, saved_model, tool)


# Validation images a class for choosing tau (not in the Schedule: the trained runs do not depend on it).
FULL_VAL_PER_CLASS, QUICK_VAL_PER_CLASS = 500, 20


def prepare_data(folder: Path, data: Path, schedule: Schedule, seed: int, val_per_class: int) -> Dict[str, object]:
    """PNG files and list files of the seed's train split, its validation split (balanced, from the training
    images the train split leaves out) and the test set; their paths and counts."""
    test_list = data / "test_list.txt"
    if not test_list.exists():
        images, labels = ltdata.load(folder, "test")
        ltdata.write_split(images, labels, ltdata.balanced_test_indices(labels, schedule.test_per_class),
                           data, "test", test_list)
    train_list = data / f"train_seed{seed}.txt"
    per_class = ltdata.class_counts(seed, ltdata.scaled_counts(schedule.train_images))
    if not train_list.exists():
        images, labels = ltdata.load(folder, "train")
        ltdata.write_split(images, labels, ltdata.long_tail_indices(labels, per_class, seed), data,
                           "train", train_list)
    found = ltdata.list_counts(train_list)
    if [found.get(c, 0) for c in range(10)] != per_class:
        raise SystemExit(f"{train_list}: counts {found} are not the seed's split {per_class}: delete it")
    val_list = data / f"val{val_per_class}_seed{seed}.txt"
    if not val_list.exists():
        images, labels = ltdata.load(folder, "train")
        used = ltdata.long_tail_indices(labels, per_class, seed)
        ltdata.write_split(images, labels, ltdata.validation_indices(labels, val_per_class, used, seed), data,
                           "train", val_list)
    return {"train_list": train_list, "test_list": test_list, "val_list": val_list, "counts": per_class}


def run_one(arm: Arm, seed: int, copy: Path, work: Path, split: Dict[str, object], schedule: Schedule,
            evaluator: Evaluator) -> Dict[str, Any]:
    """Train (unless the arm is derived), evaluate and return the run's record."""
    start = time.time()
    output = work / "runs" / f"{arm.key}_seed{seed}"
    config = work / "configs" / f"{arm.key}_seed{seed}.yaml"
    options = overrides(schedule, seed, work / "data", split, output)
    log = work / "logs" / f"{arm.key}_seed{seed}.log"
    flags = [flag.replace("{drw}", str(schedule.drw_epoch)) for flag in arm.gen]
    train_seconds = 0.0
    if arm.trained:
        shutil.rmtree(output, ignore_errors=True)  # a half-finished run starts again
        output.mkdir(parents=True)
        base = work / "configs" / ("base.yaml" if arm.smoothing else "base_plain.yaml")
        tool("gen", "--train-list", str(split["train_list"]), "--config", str(base), *flags, "-o", str(config))
        command = [sys.executable, "tools/train.py", "-c", str(config)] + [
            item for option in options for item in ("-o", option)]
        with log.open("w") as handle:
            handle.write(f"$ cd {copy} && {' '.join(command)}\n")
            handle.flush()
            done = subprocess.run(command, cwd=copy, stdout=handle, stderr=subprocess.STDOUT)
        train_seconds = time.time() - start
        model = saved_model(output, schedule.arch)
        if done.returncode != 0 or model is None:
            raise SystemExit(f"tools/train.py failed for {arm.key} seed {seed} (exit {done.returncode}): see {log}")
    else:  # derived: the CE model adjusted post hoc (tau given, or chosen on the validation split), no training
        ce_model = saved_model(work / "runs" / f"{arm.baseline}_seed{seed}", schedule.arch)
        if ce_model is None:
            raise SystemExit(f"{arm.key} needs the {arm.baseline} model of seed {seed}: run that arm first")
        output.mkdir(parents=True, exist_ok=True)
        model = output / "adjusted.pdparams"
        config = work / "configs" / f"{arm.baseline}_seed{seed}.yaml"
        chosen = choose_and_adjust(arm, ce_model, config, split, options, output, evaluator)
    result = evaluator.evaluate(config, model, options)
    if not arm.trained:
        result.update(chosen)
    return {"arm": arm.key, "label": arm.label, "seed": seed, "counts": split["counts"], **result,
            "train_seconds": round(train_seconds, 1), "wall_seconds": round(time.time() - start, 1),
            "gen_flags": flags,
            "overrides": options}


def choose_and_adjust(arm: Arm, ce_model: Path, config: Path, split: Dict[str, object], options: List[str],
                      output: Path, evaluator: Evaluator) -> Dict[str, Any]:
    """`adjust` the CE model into output/adjusted.pdparams; with tau auto, on the CE model's logits of the
    validation split (one forward pass, saved as report --save-logits does): the chosen tau and the curve."""
    flags = ["--method", arm.method, "--tau", str(arm.tau)]
    if arm.tau != "auto":
        tool("adjust", "--model", str(ce_model), "--train-list", str(split["train_list"]), *flags,
             "-o", str(output / "adjusted.pdparams"))
        return {}
    logits = output / "val_logits.npz"
    val_options = [o for o in options if not o.startswith("DataLoader.Eval.dataset.cls_label_path=")]
    val_options.append(f"DataLoader.Eval.dataset.cls_label_path={split['val_list']}")
    val = evaluator.evaluate(config, ce_model, val_options, save_logits=logits)
    done = tool("adjust", "--model", str(ce_model), "--train-list", str(split["train_list"]), *flags,
                "--logits", str(logits), "--curve", str(output / "tau_curve.png"), "-o", str(output / "adjusted.pdparams"))
    rows = [line.split() for line in done.stdout.splitlines() if re.match(r"^\s+\d+\.\d\d\s", line)]
    curve = {"tau": [float(row[0]) for row in rows], "balanced": [float(row[1].rstrip("%")) / 100 for row in rows]}
    tau = next(float(row[0]) for row in rows if row[-1] == "chosen")
    return {"tau": tau, "val_curve": curve, "val_images": val["test_images"], "val_list": str(split["val_list"])}


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paddleclas", type=Path, default=None,
                        help="a PaddleClas checkout, copied, never written (default: $PPCLS_CSCE_PADDLECLAS, "
                             "else ../shared/PaddleClas)")
    parser.add_argument("--data", type=Path, default=ltdata.DEFAULT_DATA, help="folder of the Fashion-MNIST IDX files")
    parser.add_argument("--out", type=Path,
                        help="results folder (default: examples/longtail, or examples/longtail/quick with --quick)")
    parser.add_argument("--work", type=Path, help="images, PaddleClas copy, models (default: OUT/work)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--arms", default=",".join(arm.key for arm in ARMS),
                        help="comma-separated arms (default: all; unavailable ones are skipped with the reason)")
    parser.add_argument("--epochs", type=int, help="override the schedule's epochs")
    parser.add_argument("--report-only", action="store_true",
                        help="only rewrite results.* from the finished runs in OUT/runs (no training)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="runs at once (default 2, 1 on a one-core machine; on the CPU each tools/train.py "
                             "uses one core)")
    parser.add_argument("--quick", action="store_true", help="300 images, 2 epochs, 30 test images a class, 2 seeds")
    args = parser.parse_args(argv)
    if args.quick and "--seeds" not in (argv if argv is not None else sys.argv):
        args.seeds = 2
    if args.seeds < 1 or args.jobs < 1 or (args.epochs is not None and args.epochs < 1):
        parser.error("--seeds, --jobs and --epochs must be >= 1")
    known = {arm.key for arm in ARMS}
    args.arm_keys = [key for key in args.arms.split(",") if key]
    if not args.arm_keys or set(args.arm_keys) - known:
        parser.error(f"--arms: choose from {', '.join(sorted(known))}")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    schedule = QUICK if args.quick else FULL
    if args.epochs is not None:
        schedule = Schedule(**{**asdict(schedule), "epochs": args.epochs})
    out = args.out or (HERE / "quick" if args.quick else HERE)
    work = args.work or out / "work"
    paddleclas = args.paddleclas or default_paddleclas()
    if paddleclas is None or not (paddleclas / "tools" / "train.py").exists():
        print(f"error: {paddleclas or 'PPCLS_CSCE_PADDLECLAS is empty'}: no PaddleClas checkout (tools/train.py); "
              "pass --paddleclas DIR "
              "or set PPCLS_CSCE_PADDLECLAS", file=sys.stderr)
        return 2
    problem = ltdata.missing_data(args.data)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    for folder in (out / "runs", work / "configs", work / "data", work / "runs", work / "logs"):
        folder.mkdir(parents=True, exist_ok=True)
    gen_help, top_help = tool("gen", "--help").stdout, tool("--help").stdout
    adjust_help = tool("adjust", "--help").stdout if re.search(r"^\s+adjust\b", top_help, re.M) else ""
    runnable, skipped = [], {}
    for arm in (arm for arm in ARMS if arm.key in args.arm_keys):
        reason = available(arm, gen_help, top_help, adjust_help)
        if reason:
            skipped[arm.key] = reason
            print(f"skipping arm {arm.key}: {reason}", flush=True)
        else:
            runnable.append(arm)
    info = engine_info(paddleclas)
    if args.report_only:
        report(out, schedule, info, skipped)
        print(f"wrote {out / 'results.md'}, {out / 'results.json'}, {out / ltreport.PLOT} (no training)")
        return 0
    trained, derived = plan(runnable, args.seeds, out, work, schedule)
    todo = trained + derived
    print(f"{len(todo)} runs to do, {args.jobs} at once: arms {', '.join(a.key for a in runnable)} x seeds "
          f"0..{args.seeds - 1}; {schedule.epochs} epochs of {schedule.arch} at {schedule.image_size} px, DRW from "
          f"epoch {schedule.drw_epoch}; training logs in {work / 'logs'}", flush=True)
    if todo:
        copy = prepare_paddleclas(paddleclas, work)
        prepare_base(copy, schedule, work / "configs" / "base.yaml")
        val_per_class = QUICK_VAL_PER_CLASS if args.quick else FULL_VAL_PER_CLASS
        splits = {seed: prepare_data(args.data, work / "data", schedule, seed, val_per_class)
                  for seed in sorted({s for _, s in todo})}
        numbers = {run: number for number, run in enumerate(todo, 1)}
        with Evaluator(copy, work / "logs" / "eval.log") as evaluator:

            def record_run(arm: Arm, seed: int) -> None:
                """Run it and write its record (with the schedule, which says when a record can be reused)."""
                tag = f"[{numbers[arm, seed]}/{len(todo)}] {arm.key} seed {seed}"
                say(f"{tag}: running ({time.strftime('%H:%M:%S')})")
                record = run_one(arm, seed, copy, work, splits[seed], schedule, evaluator)
                record.update(jobs=args.jobs, schedule=asdict(schedule))  # runs at once: its wall time depends on it
                ltreport.write_json(record_path(out, arm, seed), record)
                say(f"{tag}: top-1 {100 * record['top1']:.1f}%, {record['wall_seconds']:.0f} s")

            for runs in (trained, derived):  # a derived run needs its CE model
                run_all(runs, args.jobs, record_run, lambda: report(out, schedule, info, skipped))
    report(out, schedule, info, skipped)
    print(f"wrote {out / 'results.md'}, {out / 'results.json'}, {out / ltreport.PLOT}", flush=True)
    return 0


Run = Tuple[Arm, int]


def plan(runnable: List[Arm], seeds: int, out: Path, work: Path, schedule: Schedule) -> Tuple[List[Run], List[Run]]:
    """The trained runs to do, then the derived ones; the rest is printed as kept.

    A run is to do when it has no record of this schedule. A derived run whose CE model is not in `work` (a new
    machine) trains that CE again first, and every derived arm of a CE trained now is done again, so that a derived
    arm and its pair come from one model (paddle's CPU training is not bit-for-bit repeatable).
    """
    trained: List[Run] = []
    derived: List[Run] = []
    for seed in range(seeds):
        for arm in runnable:
            path = record_path(out, arm, seed)
            if path.exists() and json.loads(path.read_text()).get("schedule") == asdict(schedule):
                continue
            if path.exists():
                print(f"{arm.key} seed {seed}: finished under another schedule, run again", flush=True)
            (trained if arm.trained else derived).append((arm, seed))
    for arm, seed in list(derived):
        baseline = arm_named(arm.baseline)
        if (baseline, seed) not in trained and ce_model_missing(work, arm, seed, schedule):
            print(f"{baseline.key} seed {seed}: its model is not in {work}, training it again for {arm.key}",
                  flush=True)
            trained.append((baseline, seed))
    derived += [(arm, seed) for seed in range(seeds) for arm in runnable
                if not arm.trained and (arm, seed) not in derived and (arm_named(arm.baseline), seed) in trained]
    for seed in range(seeds):
        for arm in runnable:
            if (arm, seed) not in trained + derived:
                print(f"{arm.key} seed {seed}: done before, kept", flush=True)
    return trained, derived


def run_all(runs: List[Run], jobs: int, do: Callable[[Arm, int], None], after_each: Callable[[], None]) -> None:
    """do(arm, seed) for every run, `jobs` at once; the first failure cancels the runs not started."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(do, arm, seed) for arm, seed in runs]
        try:
            for future in as_completed(futures):
                future.result()
                after_each()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


_SAY = threading.Lock()


def say(line: str) -> None:
    """A progress line, whole, although runs going on at once print."""
    with _SAY:
        print(line, flush=True)


def record_path(out: Path, arm: Arm, seed: int) -> Path:
    """The finished run's record: what makes the command resumable."""
    return out / "runs" / f"{arm.key}_seed{seed}.json"


def ce_model_missing(work: Path, arm: Arm, seed: int, schedule: Schedule) -> bool:
    """A derived arm's CE model is not in this work folder (a new machine): it must be trained again first."""
    return saved_model(work / "runs" / f"{arm.baseline}_seed{seed}", schedule.arch) is None


def report(out: Path, schedule: Schedule, info: Dict[str, object], skipped: Dict[str, str]) -> None:
    """results.json, results.md and the plot from every finished run of this schedule (redone after each run)."""
    records = [json.loads(path.read_text()) for path in sorted((out / "runs").glob("*.json"))]
    records = [r for r in records if r.get("schedule") == asdict(schedule)]
    if records:
        ltreport.write_all(out, records, [a for a in ARMS if a.key in {r["arm"] for r in records}], info,
                           asdict(schedule), skipped)


if __name__ == "__main__":
    sys.exit(main())
