"""Secondary long-tail experiment (the main one is ../fashion_mnist.py): does CS_CE help? An experiment on scikit-learn's bundled digits, end to end through the tool.

For each imbalance ratio and seed it draws a balanced test split and an exponentially long-tailed
train split, writes both as PaddleClas list files, runs `csce-config gen` on the train list to get
the loss block, builds `CostSensitiveCE` from that block exactly as PaddleClas's `build_loss` does
(pop `weight`, pass the rest), and trains one small paddle MLP per method, overriding keys of the
block the way `tools/train.py -o Loss.Train.0.CostSensitiveCE.gamma=...` would:

    CE        gamma 0   (all weights 1: plain cross-entropy)
    CS_CE     gamma 1   (gen's block as printed)
    CS_CE^0.5 gamma 0.5 (the reference code's "square" CS_CE)
    DRW       gamma 1 plus drw_start_epoch / iters_per_epoch (plain CE, then CS_CE)

Within a seed every method sees the same split, the same initial weights and the same batch order,
so the comparison is paired. Writes OUT/results.md (mean +- std over seeds), OUT/results.json (every
seed's numbers) and OUT/per_class_accuracy.png; with --keep-lists the list files stay in OUT/lists/.

Full run:  python examples/longtail/digits/run.py
Tiny run:  python examples/longtail/digits/run.py --seeds 1 --epochs 3 --ratios 10 --out /tmp/lt
"""

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import yaml

from ppcls_csce.atomic import write_atomic, write_png
from ppcls_csce.params import LOSS_NAME, COMBINING_WEIGHT

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Method:
    """One row of the table: the gamma the loss gets, and whether its weights are deferred (DRW)."""

    name: str
    gamma: float
    drw: bool


METHODS = (
    Method("CE", 0.0, False),
    Method("CS_CE (gamma 1)", 1.0, False),
    Method("CS_CE (gamma 0.5)", 0.5, False),
    Method("DRW (CE, then CS_CE gamma 1)", 1.0, True),
)
COLUMNS = ("overall", "balanced", "many", "medium", "few")


@dataclass(frozen=True)
class Settings:
    seeds: int
    epochs: int
    ratios: Tuple[int, ...]
    n_max: int
    test_per_class: int
    batch_size: int
    lr: float
    hidden: int
    drw_fraction: float
    out: Path
    keep_lists: bool


# ---------------------------------------------------------------- data and list files


def long_tail_counts(n_max: int, ratio: float, num_classes: int) -> List[int]:
    """n_c = n_max * (1/ratio)^(c/(C-1)), rounded, so n_max / n_min is the ratio asked for."""
    return [max(1, int(round(n_max * (1.0 / ratio) ** (c / (num_classes - 1))))) for c in range(num_classes)]


def draw_split(
    target: np.ndarray, counts: Sequence[int], test_per_class: int, seed: int
) -> Tuple[List[Tuple[int, int]], List[Tuple[int, int]]]:
    """Balanced test split first, long-tailed train split from the rest: (image index, label) pairs.

    Which digit becomes the head class is drawn per seed (label = rank by training count), so no
    single hard digit is always the rarest class.
    """
    rng = np.random.default_rng(seed)
    digits = rng.permutation(len(counts))  # digits[rank] = the digit that gets counts[rank] images
    train: List[Tuple[int, int]] = []
    test: List[Tuple[int, int]] = []
    for rank, digit in enumerate(digits):
        pool = rng.permutation(np.flatnonzero(target == digit))
        if len(pool) < test_per_class + counts[rank]:
            raise SystemExit(
                f"error: digit {digit} has {len(pool)} images, fewer than {test_per_class} test + {counts[rank]} train"
            )
        test += [(int(i), rank) for i in pool[:test_per_class]]
        train += [(int(i), rank) for i in pool[test_per_class : test_per_class + counts[rank]]]
    return train, test


def write_list(path: Path, pairs: Sequence[Tuple[int, int]]) -> None:
    """PaddleClas list format, `path label`; the paths name load_digits() rows (no image files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, "".join(f"digits/{index:04d}.png {label}\n" for index, label in pairs).encode())


def read_list(path: Path) -> Tuple[np.ndarray, np.ndarray]:
    """Read back a list written above: training uses exactly what the list file says."""
    indices, labels = [], []
    for line in path.read_text().splitlines():
        image, label = line.strip().split(" ")[:2]
        indices.append(int(Path(image).stem))
        labels.append(int(label))
    return np.asarray(indices), np.asarray(labels, dtype="int64")


def gen_loss_entry(train_list: Path, gamma: float = 1.0) -> Dict[str, object]:
    """Run `csce-config gen` and return the CostSensitiveCE keyword arguments, as build_loss would."""
    command = [sys.executable, "-m", "ppcls_csce", "gen", "--train-list", str(train_list), "--gamma", str(gamma)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise SystemExit(f"error: csce-config gen failed on {train_list}: {message}")
    entry = yaml.safe_load(done.stdout)["Loss"]["Train"][0]
    params = dict(entry[LOSS_NAME])
    params.pop(COMBINING_WEIGHT)
    return params


# ---------------------------------------------------------------- training


def set_threads() -> None:
    """One thread per process: the net is tiny, and extra threads only fight other processes."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def train_and_predict(
    settings: Settings,
    loss_params: Dict[str, object],
    drw: bool,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    seed: int,
) -> np.ndarray:
    """Train the MLP with one loss; return test predictions. Same seed -> same init and batch order."""
    import paddle

    from ppcls_csce.loss import CostSensitiveCE

    paddle.seed(seed)
    np.random.seed(seed)
    num_classes = int(y_train.max()) + 1
    model = paddle.nn.Sequential(
        paddle.nn.Linear(x_train.shape[1], settings.hidden),
        paddle.nn.ReLU(),
        paddle.nn.Linear(settings.hidden, settings.hidden),
        paddle.nn.ReLU(),
        paddle.nn.Linear(settings.hidden, num_classes),
    )
    iters_per_epoch = math.ceil(len(y_train) / settings.batch_size)  # drop_last: False
    params = dict(loss_params)
    if drw:
        params["drw_start_epoch"] = drw_start_epoch(settings.epochs, settings.drw_fraction)
        params["iters_per_epoch"] = iters_per_epoch
    loss_fn = CostSensitiveCE(**params)
    loss_fn.train()
    # The reference code's CIFAR schedule scaled down: lr / 10 at 80% and 90% of training,
    # DRW switching at 80% (its 200 epochs, steps at 160 and 180, DRW from 160).
    schedule = paddle.optimizer.lr.MultiStepDecay(settings.lr, milestones=lr_milestones(settings.epochs), gamma=0.1)
    optimizer = paddle.optimizer.Momentum(
        learning_rate=schedule, momentum=0.9, weight_decay=5e-4, parameters=model.parameters()
    )
    order_rng = np.random.default_rng(seed)
    x_all = paddle.to_tensor(x_train)
    y_all = paddle.to_tensor(y_train)
    model.train()
    for _ in range(settings.epochs):
        order = paddle.to_tensor(order_rng.permutation(len(y_train)))
        for start in range(0, len(y_train), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            logits = model(paddle.gather(x_all, batch))
            loss = loss_fn(logits, paddle.gather(y_all, batch))["CS_CELoss"]
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
        schedule.step()
    model.eval()
    with paddle.no_grad():
        return model(paddle.to_tensor(x_test)).argmax(axis=1).numpy()


def lr_milestones(epochs: int) -> List[int]:
    """Epochs (counted from 0) after which the lr drops to a tenth: 80% and 90% of training."""
    return sorted({m for m in (int(epochs * 0.8), int(epochs * 0.9)) if 0 < m < epochs})


def drw_start_epoch(epochs: int, fraction: float) -> int:
    """The first CS_CE epoch, counted from 1 as the loss's drw_start_epoch is."""
    return min(epochs, int(epochs * fraction) + 1)


# ---------------------------------------------------------------- metrics and output


def per_class_accuracy(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    return np.array([float(np.mean(y_pred[y_true == c] == c)) for c in range(num_classes)])


def shot_groups(num_classes: int) -> Dict[str, List[int]]:
    """Thirds of the classes by training count (labels are ranks: 0 = most images)."""
    third = num_classes // 3
    return {
        "many": list(range(third)),
        "medium": list(range(third, num_classes - third)),
        "few": list(range(num_classes - third, num_classes)),
    }


def scores(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> Dict[str, object]:
    per_class = per_class_accuracy(y_true, y_pred, num_classes)
    result: Dict[str, object] = {
        "overall": float(np.mean(y_true == y_pred)),
        "balanced": float(per_class.mean()),
        "per_class": [round(value, 6) for value in per_class.tolist()],
    }
    for group, classes in shot_groups(num_classes).items():
        result[group] = float(per_class[classes].mean())
    return result


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; 0 for one seed)."""
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def render_markdown(settings: Settings, runs: Dict, counts: Dict[int, List[int]], command: str, seconds: float) -> str:
    lines = [
        "# Long-tailed digits: CE vs CS_CE vs DRW (secondary experiment)",
        "",
        "Secondary experiment, kept as a fast sanity check (3.5 min, no PaddleClas needed): a 3-layer MLP on 8x8 digits trained outside PaddleClas. The main evidence is ../fashion_mnist.py (PaddleClas's tools/train.py).",
        "",
        f"Generated by `{command}` in {seconds:.0f} s.",
        "",
        f"Test accuracy in %, mean ± std (sample std) over {settings.seeds} seed(s); "
        f"balanced test split of {settings.test_per_class} images per class.",
        "",
        "| imbalance | method | " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    for ratio in settings.ratios:
        for method in METHODS:
            cells = []
            for column in COLUMNS:
                mean, std = mean_std([run[column] for run in runs[ratio][method.name]])
                cells.append(f"{100 * mean:.1f} ± {100 * std:.1f}")
            lines.append(f"| {ratio} | {method.name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Paired difference against CE on the same seed (same split, same initial weights, same batches), "
        "balanced and few-shot accuracy, percentage points, mean ± std; wins = seeds where the method beats CE (a tie is no win):",
        "",
        "| imbalance | method | Δ balanced | balanced wins | Δ few | few wins |",
        "|---|---|---|---|---|---|",
    ]
    for ratio in settings.ratios:
        for method in METHODS[1:]:
            cells = []
            for column in ("balanced", "few"):
                diffs = [
                    100 * (run[column] - base[column])
                    for run, base in zip(runs[ratio][method.name], runs[ratio][METHODS[0].name])
                ]
                mean, std = mean_std(diffs)
                wins = sum(diff > 0 for diff in diffs)
                cells += [f"{mean:+.1f} ± {std:.1f}", f"{wins}/{len(diffs)}"]
            lines.append(f"| {ratio} | {method.name} | " + " | ".join(cells) + " |")
    num_classes = len(counts[settings.ratios[0]])
    groups = shot_groups(num_classes)
    lines += [
        "",
        "## Setup",
        "",
        "- Data: scikit-learn `load_digits()` (1,797 8x8 images, 10 classes), pixels / 16. Per seed: "
        f"{settings.test_per_class} test images per class drawn first, then a long-tailed train split from "
        f"the rest, n_c = {settings.n_max} * (1/ratio)^(c/9), rounded; which digit gets which count is drawn per seed.",
        "- Overall and balanced accuracy coincide because the test split has the same number of images in every class.",
        f"- Shot groups (thirds of the classes by training count): many = the {len(groups['many'])} largest "
        f"classes, medium = the next {len(groups['medium'])}, few = the {len(groups['few'])} smallest.",
    ]
    for ratio in settings.ratios:
        c = counts[ratio]
        pick = lambda name: ", ".join(str(c[i]) for i in groups[name])  # noqa: E731
        lines.append(
            f"  - imbalance {ratio}: num_class_list from `csce-config gen` = {c}; "
            f"many {pick('many')}; medium {pick('medium')}; few {pick('few')} images."
        )
    lines += [
        f"- Model: MLP 64-{settings.hidden}-{settings.hidden}-10 (ReLU), paddle, CPU. Momentum SGD 0.9, lr "
        f"{settings.lr}, weight decay 5e-4, batch {settings.batch_size}, {settings.epochs} epochs, lr / 10 after "
        f"epoch(s) {', '.join(map(str, lr_milestones(settings.epochs))) or '(none)'}.",
        "- Loss: `ppcls_csce.loss.CostSensitiveCE`, built from the `Loss.Train` entry that `csce-config gen` prints "
        "for the train list (`weight` popped, the rest passed on). Each method overrides `gamma` in that block (CE: 0). DRW: "
        f"drw_start_epoch {drw_start_epoch(settings.epochs, settings.drw_fraction)} (plain CE before it, CS_CE "
        "gamma 1 from it).",
        "- Within a seed all methods share the split, the initial weights and the batch order.",
        "",
    ]
    return "\n".join(lines)


def plot(settings: Settings, runs: Dict, counts: Dict[int, List[int]], path: Path) -> None:
    """Per-class test accuracy (mean over seeds) against the class's training count, log x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, axes = plt.subplots(1, len(settings.ratios), figsize=(5.5 * len(settings.ratios), 4.2), squeeze=False)
    markers = ("o", "s", "^", "D")
    for axis, ratio in zip(axes[0], settings.ratios):
        x = np.asarray(counts[ratio])
        for method, marker in zip(METHODS, markers):
            per_class = np.array([run["per_class"] for run in runs[ratio][method.name]])
            axis.plot(x, 100 * per_class.mean(axis=0), marker=marker, label=method.name, alpha=0.85)
        axis.set_xscale("log")
        axis.set_xticks(x, [str(count) for count in x], fontsize=7)
        axis.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        axis.set_title(f"imbalance {ratio}, {settings.seeds} seed(s)")
        axis.set_xlabel("training images of the class (log)")
        axis.set_ylabel("test accuracy of the class, %")
        axis.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    write_png(figure, path)
    plt.close(figure)


# ---------------------------------------------------------------- main


def parse_args(argv: Optional[List[str]]) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (0..N-1)")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--ratios", type=int, nargs="+", default=[10, 100], help="imbalance ratios n_max / n_min")
    parser.add_argument("--n-max", type=int, default=100, help="training images of the largest class")
    parser.add_argument("--test-per-class", type=int, default=70)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--drw-fraction", type=float, default=0.8, help="DRW switches after this share of epochs")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this script's folder)")
    parser.add_argument("--keep-lists", action="store_true", help="keep the list files in OUT/lists/")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.epochs < 1 or args.n_max < 1 or args.test_per_class < 1 or args.batch_size < 1:
        parser.error("--seeds, --epochs, --n-max, --test-per-class and --batch-size must be >= 1")
    if any(ratio < 1 for ratio in args.ratios) or not 0 < args.drw_fraction < 1:
        parser.error("ratios must be >= 1 and --drw-fraction in (0, 1)")
    return Settings(
        seeds=args.seeds,
        epochs=args.epochs,
        ratios=tuple(dict.fromkeys(args.ratios)),
        n_max=args.n_max,
        test_per_class=args.test_per_class,
        batch_size=args.batch_size,
        lr=args.lr,
        hidden=args.hidden,
        drw_fraction=args.drw_fraction,
        out=args.out,
        keep_lists=args.keep_lists,
    )


def run_ratio_seed(
    settings: Settings, images: np.ndarray, target: np.ndarray, profile: List[int], ratio: int, seed: int, lists: Path
) -> Dict[str, Dict[str, object]]:
    """One split through the tool and all four methods on it: method name -> scores."""
    num_classes = len(profile)
    train_pairs, test_pairs = draw_split(target, profile, settings.test_per_class, seed)
    folder = lists / f"ratio{ratio}" / f"seed{seed}"
    write_list(folder / "train_list.txt", train_pairs)
    write_list(folder / "test_list.txt", test_pairs)
    train_idx, y_train = read_list(folder / "train_list.txt")
    test_idx, y_test = read_list(folder / "test_list.txt")
    if set(train_idx.tolist()) & set(test_idx.tolist()):
        raise SystemExit(f"error: {folder}: a training image is in the test split")
    entry = gen_loss_entry(folder / "train_list.txt")
    if entry["num_class_list"] != profile or entry["gamma"] != 1.0:
        raise SystemExit(f"error: gen gave {entry} for {folder / 'train_list.txt'}; the split has {profile}")
    results = {}
    for method in METHODS:
        pred = train_and_predict(
            settings, {**entry, "gamma": method.gamma}, method.drw, images[train_idx], y_train, images[test_idx], seed
        )
        results[method.name] = scores(y_test, pred, num_classes)
    return results


def require(*modules: str) -> None:
    """One line instead of an ImportError traceback when the experiment's extras are missing."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(
            f"error: the long-tail example needs {', '.join(missing)}: pip install -e '.[paddle,plot,test]'"
        )


def main(argv: Optional[List[str]] = None) -> int:
    settings = parse_args(argv)
    require("paddle", "sklearn", "matplotlib")
    set_threads()
    from sklearn.datasets import load_digits

    started = time.perf_counter()
    digits = load_digits()
    images = (digits.data / 16.0).astype("float32")
    num_classes = int(digits.target.max()) + 1
    settings.out.mkdir(parents=True, exist_ok=True)
    runs: Dict[int, Dict[str, List[Dict[str, object]]]] = {}
    counts: Dict[int, List[int]] = {}
    with tempfile.TemporaryDirectory(prefix="longtail-lists-") as scratch:
        lists = settings.out / "lists" if settings.keep_lists else Path(scratch)
        for ratio in settings.ratios:
            counts[ratio] = long_tail_counts(settings.n_max, ratio, num_classes)
            runs[ratio] = {method.name: [] for method in METHODS}
            for seed in range(settings.seeds):
                results = run_ratio_seed(settings, images, digits.target, counts[ratio], ratio, seed, lists)
                for name, result in results.items():
                    runs[ratio][name].append(result)
                summary = ", ".join(f"{name} {100 * r['balanced']:.1f}" for name, r in results.items())
                print(f"imbalance {ratio} seed {seed}: balanced accuracy {summary}", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    command = "python examples/longtail/digits/run.py" + _flags_text(argv)
    write_atomic(settings.out / "results.md", render_markdown(settings, runs, counts, command, seconds).encode())
    write_atomic(settings.out / "results.json", (json.dumps({"counts": counts, "runs": runs}) + "\n").encode())
    plot(settings, runs, counts, settings.out / "per_class_accuracy.png")
    print(f"wrote results.md, results.json and per_class_accuracy.png to {settings.out} ({seconds:.0f} s)", file=sys.stderr)
    return 0


def _flags_text(argv: Optional[List[str]]) -> str:
    flags = sys.argv[1:] if argv is None else argv
    return "".join(" " + (flag if flag and " " not in flag else repr(flag)) for flag in flags)


if __name__ == "__main__":
    sys.exit(main())
