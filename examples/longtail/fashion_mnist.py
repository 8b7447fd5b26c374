"""Long-tailed Fashion-MNIST through PaddleClas's own tools/train.py: CE, CS_CE, DRW and the rest.

One command runs every (arm, seed) not finished yet, so an interrupted run resumes where it stopped:

    python examples/longtail/fashion_mnist.py                 # the full schedule, 3 seeds
    python examples/longtail/fashion_mnist.py --quick --out /tmp/lt   # a few hundred images, 2 epochs

Per seed: a long-tailed train split of Fashion-MNIST (the CIFAR-10-LT imbalance-100 profile, which
class is rare drawn from the seed) written as PNG files and a PaddleClas list, and the balanced test set.
PaddleClas is copied from --paddleclas into the work folder, `python -m ppcls_csce install` puts the
loss in, and every arm's config is written by `python -m ppcls_csce gen` from one real config of
ppcls/configs. Arms of one seed share the split, the initial weights (Global.seed) and the batch order
(PaddleClas's sampler shuffles by epoch number). Each trained model is read back (lteval.py) and
scored on the test set; ltreport.py writes results.json, results.md and the plot into --out.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import ltdata  # noqa: E402
import ltreport  # noqa: E402
from ltengine import (FULL, QUICK, Schedule, default_paddleclas, engine_info, evaluate,  # noqa: E402
                      overrides, prepare_base, prepare_paddleclas, saved_model, tool)


@dataclass(frozen=True)
class Arm:
    """One method: how gen writes its config, and what of the tool it needs."""

    key: str
    label: str
    gen: Sequence[str]  # gen flags; "{drw}" becomes the deferred epoch
    needs: str = ""  # "" | "loss" | "sampler" | "adjust": a gen flag or command not every version has
    trained: bool = True  # False: derived from the CE model, no training
    tau: float = 1.0  # a derived arm's post-hoc adjustment, tau * log(prior)
    smoothing: bool = True  # False: gen writes it from the base config with the label smoothing taken out

    @property
    def baseline(self) -> str:
        """The CE arm of the same label smoothing: what the arm is paired with, and a derived arm's model."""
        return "ce" if self.smoothing else "ce_plain"


ARMS = (
    Arm("ce", "CE", ("--gamma", "0", "--drw-epoch", "1")),  # --drw-epoch 1: no DRW (gen defers by default)
    Arm("cs_ce", "CS_CE (gamma 1, from epoch 1)", ("--gamma", "1", "--drw-epoch", "1")),
    Arm("drw", "DRW (CE, then CS_CE gamma 1)", ("--gamma", "1", "--drw-epoch", "{drw}")),
    Arm("balanced_softmax", "Balanced Softmax", ("--loss", "balanced-softmax"), needs="loss"),
    Arm("ce_posthoc", "CE + post-hoc adjustment (tau 1)", (), needs="adjust", trained=False),
    Arm("ce_posthoc_half", "CE + post-hoc adjustment (tau 0.5)", (), needs="adjust", trained=False, tau=0.5),
    Arm("drs", "DRS (CE, class-balanced sampling deferred)",
        ("--gamma", "0", "--drw-epoch", "1", "--sampler", "balanced", "--sampler-epoch", "{drw}"), needs="sampler"),
    # Without label smoothing (the base config's epsilon 0.1 caps a logit margin at log 91, below log 100)
    Arm("ce_plain", "CE, no label smoothing", ("--gamma", "0", "--drw-epoch", "1"), smoothing=False),
    Arm("balanced_softmax_plain", "Balanced Softmax, no label smoothing", ("--loss", "balanced-softmax"),
        needs="loss", smoothing=False),
    Arm("ce_plain_posthoc", "CE, no label smoothing, + post-hoc adjustment (tau 1)", (), needs="adjust",
        trained=False, smoothing=False),
)


def available(arm: Arm, gen_help: str, top_help: str) -> str:
    """Why this version of the tool cannot run `arm`, or '' when it can."""
    if arm.needs == "loss" and "--loss" not in gen_help:
        return "this ppcls_csce has no `gen --loss` (Balanced Softmax, issue 10)"
    if arm.needs == "sampler" and "--sampler" not in gen_help:
        return "this ppcls_csce has no `gen --sampler` (LongTailSampler, issue 11)"
    if arm.needs == "adjust" and not re.search(r"^\s+adjust\b", top_help, re.M):
        return "this ppcls_csce has no `adjust` command (post-hoc adjustment, issue 10)"
    return ""


def prepare_data(folder: Path, data: Path, schedule: Schedule, seed: int) -> Dict[str, object]:
    """PNG files and list files of the seed's train split and the test set; their paths and counts."""
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
    return {"train_list": train_list, "test_list": test_list, "counts": per_class}


def run_one(arm: Arm, seed: int, copy: Path, work: Path, data: Path, split: Dict[str, object],
            schedule: Schedule, log: Path) -> Dict[str, Any]:
    """Train (unless the arm is derived), evaluate and return the run's record."""
    start = time.time()
    output = work / "runs" / f"{arm.key}_seed{seed}"
    config = work / "configs" / f"{arm.key}_seed{seed}.yaml"
    options = overrides(schedule, seed, data, split, output)
    train_seconds = 0.0
    if arm.trained:
        shutil.rmtree(output, ignore_errors=True)  # a half-finished run starts again
        output.mkdir(parents=True)
        flags = [flag.replace("{drw}", str(schedule.drw_epoch)) for flag in arm.gen]
        base = work / "configs" / ("base.yaml" if arm.smoothing else "base_plain.yaml")
        tool("gen", "--train-list", str(split["train_list"]), "--config", str(base), *flags, "-o", str(config))
        command = [sys.executable, "tools/train.py", "-c", str(config)] + [
            item for option in options for item in ("-o", option)]
        with log.open("a") as handle:
            handle.write(f"\n$ cd {copy} && {' '.join(command)}\n")
            handle.flush()
            done = subprocess.run(command, cwd=copy, stdout=handle, stderr=subprocess.STDOUT)
        train_seconds = time.time() - start
        model = saved_model(output, schedule.arch)
        if done.returncode != 0 or model is None:
            raise SystemExit(f"tools/train.py failed for {arm.key} seed {seed} (exit {done.returncode}): see {log}")
    else:  # ce_posthoc: adjust the CE model's logits by the train prior, no training
        ce_model = saved_model(work / "runs" / f"{arm.baseline}_seed{seed}", schedule.arch)
        if ce_model is None:
            raise SystemExit(f"{arm.key} needs the {arm.baseline} model of seed {seed}: run that arm first")
        output.mkdir(parents=True, exist_ok=True)
        model = output / "adjusted.pdparams"
        tool("adjust", "--model", str(ce_model), "--train-list", str(split["train_list"]), "--tau", str(arm.tau),
             "-o", str(model))
        config = work / "configs" / f"{arm.baseline}_seed{seed}.yaml"
    result = evaluate(copy, config, model, options)
    return {"arm": arm.key, "label": arm.label, "seed": seed, "counts": split["counts"], **result,
            "train_seconds": round(train_seconds, 1), "wall_seconds": round(time.time() - start, 1),
            "gen_flags": [flag.replace("{drw}", str(schedule.drw_epoch)) for flag in arm.gen],
            "overrides": options}


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
    parser.add_argument("--quick", action="store_true", help="300 images, 2 epochs, 30 test images a class, 2 seeds")
    args = parser.parse_args(argv)
    if args.quick and "--seeds" not in (argv if argv is not None else sys.argv):
        args.seeds = 2
    if args.seeds < 1 or (args.epochs is not None and args.epochs < 1):
        parser.error("--seeds and --epochs must be >= 1")
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
    for folder in (out / "runs", work / "configs", work / "data", work / "runs"):
        folder.mkdir(parents=True, exist_ok=True)
    log = work / "train.log"
    gen_help, top_help = tool("gen", "--help").stdout, tool("--help").stdout
    arms = [arm for arm in ARMS if arm.key in args.arm_keys]
    runnable, skipped = [], {}
    for arm in arms:
        reason = available(arm, gen_help, top_help)
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
    copy = prepare_paddleclas(paddleclas, work)
    prepare_base(copy, schedule, work / "configs" / "base.yaml")
    todo = [(arm, seed) for seed in range(args.seeds) for arm in runnable]
    # derived runs whose CE model is not in this work folder (a new machine) last: they train CE again first
    todo.sort(key=lambda run: not run[0].trained and ce_model_missing(work, run[0], run[1], schedule))
    print(f"{len(todo)} runs: arms {', '.join(a.key for a in runnable)} x seeds 0..{args.seeds - 1}; "
          f"{schedule.epochs} epochs of {schedule.arch} at {schedule.image_size} px, DRW from epoch "
          f"{schedule.drw_epoch}; training log {log}", flush=True)
    for number, (arm, seed) in enumerate(todo, 1):
        record_path = out / "runs" / f"{arm.key}_seed{seed}.json"
        if record_path.exists():
            record = json.loads(record_path.read_text())
            if record.get("schedule") == asdict(schedule):
                print(f"[{number}/{len(todo)}] {arm.key} seed {seed}: done before, kept", flush=True)
                continue
            print(f"[{number}/{len(todo)}] {arm.key} seed {seed}: finished under another schedule, run again",
                  flush=True)
        print(f"[{number}/{len(todo)}] {arm.key} seed {seed}: running ({time.strftime('%H:%M:%S')})", flush=True)
        split = prepare_data(args.data, work / "data", schedule, seed)
        if not arm.trained and ce_model_missing(work, arm, seed, schedule):
            # a derived arm on a new work folder: its CE model is gone, so train that CE again (same seed)
            print(f"[{number}/{len(todo)}] {arm.baseline} seed {seed}: its model is not in {work}, training it "
                  f"again for {arm.key}", flush=True)
            source = next(a for a in ARMS if a.key == arm.baseline)
            ce_record = run_one(source, seed, copy, work, work / "data", split, schedule, log)
            ce_record["schedule"] = asdict(schedule)
            ltreport.write_json(out / "runs" / f"{source.key}_seed{seed}.json", ce_record)
            redo = [a for a in runnable if not a.trained and a.key != arm.key and a.baseline == source.key]
            for other in redo:  # they were from the old model
                again = run_one(other, seed, copy, work, work / "data", split, schedule, log)
                again["schedule"] = asdict(schedule)
                ltreport.write_json(out / "runs" / f"{other.key}_seed{seed}.json", again)
        record = run_one(arm, seed, copy, work, work / "data", split, schedule, log)
        record["schedule"] = asdict(schedule)
        ltreport.write_json(record_path, record)
        print(f"[{number}/{len(todo)}] {arm.key} seed {seed}: top-1 {100 * record['top1']:.1f}%, "
              f"{record['wall_seconds']:.0f} s", flush=True)
        report(out, schedule, info, skipped)
    report(out, schedule, info, skipped)
    print(f"wrote {out / 'results.md'}, {out / 'results.json'}, {out / ltreport.PLOT}", flush=True)
    return 0


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
