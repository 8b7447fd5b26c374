"""The report's pictures as PNG bytes (matplotlib, Agg): the row-normalised confusion matrix in training-count
order (for many classes its most-confused part, the rule written on it), per-class recall against training
count (log scale), and the reliability diagram. Rendering only; report_run.py writes the files."""

import io
from typing import Dict, List, Sequence

import numpy as np

from .classreport import ClassReport, most_confused_classes
from .counts import FEW_SHOT_BELOW, MANY_SHOT_ABOVE, SHOT_GROUPS

MATRIX_LIMIT = 30  # classes drawn in a confusion matrix; above it, the most-confused part
_LABELLED = 30  # tick labels only up to this many classes


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    _pyplot().close(figure)
    return buffer.getvalue()


def _tick(label: int, names: Dict[int, str]) -> str:
    return f"{label} {names[label][:14]}" if label in names else str(label)


def confusion_png(report: ClassReport, names: Dict[int, str], title: str) -> bytes:
    """Rows: true class, columns: predicted, each row divided by its images; classes by training count."""
    plt = _pyplot()
    order = most_confused_classes(report, MATRIX_LIMIT)
    part = report.class_num > MATRIX_LIMIT
    rows = report.confusion[np.ix_(order, order)].astype(np.float64)
    totals = report.eval_count[order].astype(np.float64)[:, None]  # the row's images, all predictions
    normalised = np.divide(rows, totals, out=np.zeros_like(rows), where=totals > 0)
    size = max(4.5, min(12.0, 0.32 * len(order) + 2.5))
    figure, axes = plt.subplots(figsize=(size + 1.2, size))
    image = axes.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class's images")
    if len(order) <= _LABELLED:
        ticks = [_tick(int(label), names) for label in order]
        axes.set_xticks(range(len(order)), ticks, rotation=90, fontsize=7)
        axes.set_yticks(range(len(order)), ticks, fontsize=7)
        if len(order) <= 12:
            for i in range(len(order)):
                for j in range(len(order)):
                    if rows[i, j]:
                        axes.text(j, i, f"{normalised[i, j]:.2f}", ha="center", va="center", fontsize=7,
                                  color="white" if normalised[i, j] > 0.5 else "black")
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class (most training images first)")
    rule = (f"the {len(order)} of {report.class_num} classes with the most errors (missed + taken for them), "
            "in training-count order" if part else "all classes, in training-count order")
    axes.set_title(f"{title}: confusion, rows normalised\n{rule}", fontsize=9)
    figure.tight_layout()
    return _png(figure)


def recall_png(entries: Sequence[tuple], title: str) -> bytes:
    """Per-class recall against training count (log x), one marker per model; shot-group bounds drawn."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7.0, 4.5))
    markers = "os^Dv<>"
    for index, (label, report) in enumerate(entries):
        seen = report.eval_count > 0
        counts = np.maximum(report.train_counts, 1)[seen]
        axes.scatter(counts, report.recall[seen], s=14, alpha=0.7, marker=markers[index % len(markers)], label=label)
    first = entries[0][1]
    if first.shot_rule.startswith("many >"):
        for bound in (FEW_SHOT_BELOW, MANY_SHOT_ABOVE):
            axes.axvline(bound, color="grey", linestyle=":", linewidth=1)
    axes.set_xscale("log")
    axes.set_ylim(-0.03, 1.03)
    axes.set_xlabel("training images of the class (log scale)")
    axes.set_ylabel("recall on the evaluation list")
    groups = ", ".join(f"{name} {len(first.shot_classes.get(name, []))}" for name in SHOT_GROUPS)
    axes.set_title(f"{title}: per-class recall\nshot groups ({groups}): {first.shot_rule}", fontsize=8)
    if len(entries) > 1:
        axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return _png(figure)


def reliability_png(report: ClassReport, title: str) -> bytes:
    """Accuracy per confidence bin against the diagonal, with the images per bin below."""
    plt = _pyplot()
    table = report.reliability
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(5.5, 6.0), gridspec_kw={"height_ratios": [3, 1]},
                                         sharex=True)
    width = table.edges[1] - table.edges[0]
    centres = table.edges[:-1] + width / 2
    filled = table.count > 0
    top.bar(centres[filled], table.accuracy[filled], width=width, edgecolor="black", color="#4c72b0",
            label="accuracy")
    top.bar(centres[filled], (table.confidence - table.accuracy)[filled], bottom=table.accuracy[filled], width=width,
            color="#dd8452", alpha=0.5, edgecolor="#dd8452", label="gap to mean confidence")
    top.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(f"{title}: reliability, {len(centres)} bins, ECE {report.ece:.4f}", fontsize=9)
    top.legend(fontsize=8, loc="upper left")
    bottom.bar(centres, table.count, width=width, color="grey", edgecolor="black")
    bottom.set_xlim(0, 1)
    bottom.set_xlabel("confidence (top softmax probability)")
    bottom.set_ylabel("images")
    figure.tight_layout()
    return _png(figure)


def pictures(entries: Sequence[tuple], names: Dict[int, str], suffixes: List[str]) -> Dict[str, bytes]:
    """{file name: PNG} for (label, report) entries; suffixes tell the files of several models apart."""
    files: Dict[str, bytes] = {}
    for (label, report), suffix in zip(entries, suffixes):
        files[f"confusion{suffix}.png"] = confusion_png(report, names, label)
        files[f"reliability{suffix}.png"] = reliability_png(report, label)
    if entries[0][1].train_counts is not None:
        files["recall_vs_train_count.png"] = recall_png(entries, " vs ".join(label for label, _ in entries))
    return files
