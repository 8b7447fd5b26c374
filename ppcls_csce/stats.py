"""stats: what the train list looks like to the chosen loss (its weights, or Balanced Softmax's logit adjustment
tau * log n_c), as a table, JSON or a bar chart."""

import io
import json
from pathlib import Path
from typing import Dict, Union

from .atomic import write_png
from .errors import CsceError
from .counts import FEW_SHOT_BELOW, MANY_SHOT_ABOVE, by_thresholds, shot_rule
from .weights import WeightTable
from .shell import command


def values_key(table: WeightTable) -> str:
    """The JSON key of the per-class values: `weights`, or `logit_adjustment` (BalancedSoftmaxCE)."""
    return "weights" if table.spec.weighted else "logit_adjustment"


def as_dict(table: WeightTable) -> Dict[str, object]:
    shots = table.shots()
    return {
        "loss": table.loss,
        "classes": len(table.num_class_list),
        "samples": table.samples,
        table.spec.strength: table.strength,
        "num_class_list": table.num_class_list,
        values_key(table): table.weights,
        "imbalance_ratio": table.imbalance_ratio,
        "shots": {name: {"classes": labels, "count": len(labels)} for name, labels in shots.items()},
        "shot_thresholds": {"many_above": MANY_SHOT_ABOVE, "few_below": FEW_SHOT_BELOW},
        "shot_rule": shot_rule(table.num_class_list),
        "clamped_empty_classes": table.clamped,
    }


def render_json(table: WeightTable) -> str:
    return json.dumps(as_dict(table), indent=2) + "\n"


def shots_line(table: WeightTable) -> str:
    """How many classes each shot group has, and by which rule (counts.shot_groups, as LongTailAcc groups them)."""
    shots = table.shots()
    if by_thresholds(table.num_class_list):
        return (f"many-shot (>{MANY_SHOT_ABOVE}): {len(shots['many'])} classes, medium ({FEW_SHOT_BELOW}-"
                f"{MANY_SHOT_ABOVE}): {len(shots['medium'])}, few-shot (<{FEW_SHOT_BELOW}): {len(shots['few'])}")
    return (f"shot groups by {shot_rule(table.num_class_list)}: many {len(shots['many'])} classes, medium "
            f"{len(shots['medium'])}, few {len(shots['few'])}")


def render_text(table: WeightTable) -> str:
    shots = table.shots()
    shot_of = {label: name for name, labels in shots.items() for label in labels}
    out = io.StringIO()
    out.write(f"{table.summary()}\n")
    out.write(shots_line(table) + "\n\n")
    out.write(f"{table.loss}: {table.spec.formula}\n")
    out.write(f"{'class':>7} {'images':>10} {'share':>8} {table.column:>10}  shot\n")
    total = sum(table.num_class_list)
    for label, (count, weight) in enumerate(zip(table.num_class_list, table.weights)):
        out.write(f"{label:>7} {count:>10} {count / total:>8.2%} {weight:>10.6f}  {shot_of[label]}\n")
    return out.getvalue()


def plot(table: WeightTable, path: Union[str, Path]) -> None:
    """Counts sorted from most to fewest, weights on a second axis; written atomically."""
    try:
        import matplotlib
    except ImportError:
        raise CsceError(f"--plot needs matplotlib: {command('pip', 'install', 'ppcls-csce[plot]')}") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = sorted(range(len(table.num_class_list)), key=lambda label: -table.num_class_list[label])
    counts = [table.num_class_list[label] for label in order]
    weights = [table.weights[label] for label in order]
    figure, count_axis = plt.subplots(figsize=(10, 4.5))
    count_axis.bar(range(len(counts)), counts, color="#4C72B0", width=1.0 if len(counts) > 60 else 0.8)
    count_axis.set_yscale("log")
    count_axis.set_xlabel("classes, sorted by training images")
    count_axis.set_ylabel("training images (log)")
    weight_axis = count_axis.twinx()
    weight_axis.plot(range(len(weights)), weights, color="#C44E52", marker="." if len(weights) <= 60 else None)
    weight_axis.set_ylabel(f"{table.loss} {table.column} ({table.spec.strength} {table.strength:g})", color="#C44E52")
    count_axis.set_title(
        f"{len(counts)} classes, {table.samples} images, imbalance ratio {table.imbalance_ratio:.4g}"
    )
    if len(counts) <= 40:
        count_axis.set_xticks(range(len(counts)), [str(label) for label in order])
    figure.tight_layout()
    write_png(figure, path)
    plt.close(figure)
