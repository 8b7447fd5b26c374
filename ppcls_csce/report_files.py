"""The report's files as text: report.md (for people), report.json (everything in it, for programs),
per_class.csv and confusion.csv. Rendering only: report_run.py writes them, all at once, after everything
is computed."""

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .classreport import ECE_BINS, ClassReport, count_order
from .counts import SHOT_GROUPS


@dataclass
class Entry:
    """One model in the report: its short label, where its logits came from, its figures."""

    label: str
    source: str
    report: ClassReport


def _num(value: float) -> Optional[float]:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


def _pct(value: float) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{100 * value:.2f}%"


def _delta(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{100 * value:+.2f}"


def class_label(label: int, names: Dict[int, str]) -> str:
    return f"{label} {names[label]}" if label in names else str(label)


def _confused(report: ClassReport, label: int, names: Dict[int, str]) -> str:
    return "; ".join(f"{class_label(other, names)} ({count})" for other, count in report.confused_with[label])


def summary(report: ClassReport) -> Dict[str, Any]:
    """The headline figures of one model (fractions; None where undefined)."""
    figures: Dict[str, Any] = {"images": report.images, "classes": report.class_num, "top1": _num(report.top1),
                               "balanced_acc": _num(report.balanced_acc), "macro_f1": _num(report.macro_f1),
                               "ece": _num(report.ece)}
    for name in SHOT_GROUPS:
        if name in report.shot_acc:
            figures[f"{name}_acc"] = _num(report.shot_acc[name])
    return figures


SUMMARY_ROWS = (("top1", "top-1"), ("balanced_acc", "balanced accuracy"), ("macro_f1", "macro-F1"),
                ("many_acc", "many-shot accuracy"), ("medium_acc", "medium-shot accuracy"),
                ("few_acc", "few-shot accuracy"), ("ece", f"ECE ({ECE_BINS} bins)"))


def per_class_rows(entries: Sequence[Entry], names: Dict[int, str]) -> List[Dict[str, Any]]:
    """One row per class (training-count order) and model: the per_class.csv and report.json rows."""
    first = entries[0].report
    rows = []
    for label in count_order(first).tolist():
        for entry in entries:
            report = entry.report
            rows.append({
                "model": entry.label, "class": label, "name": names.get(label, ""),
                "train_count": None if report.train_counts is None else int(report.train_counts[label]),
                "eval_count": int(report.eval_count[label]), "predicted_count": int(report.predicted_count[label]),
                "precision": _num(report.precision[label]), "recall": _num(report.recall[label]),
                "f1": _num(report.f1[label]),
                "recall_delta": _num(report.recall[label] - first.recall[label]) if entry is not entries[0] else None,
                "f1_delta": _num(report.f1[label] - first.f1[label]) if entry is not entries[0] else None,
                "confused_with": [{"class": other, "images": count} for other, count in report.confused_with[label]],
            })
    return rows


def render_json(entries: Sequence[Entry], meta: Dict[str, Any], names: Dict[int, str]) -> str:
    data = {"meta": meta, "definitions": DEFINITIONS,
            "models": [{"label": entry.label, "source": entry.source, **summary(entry.report),
                        "shot_rule": entry.report.shot_rule,
                        "shot_classes": {name: len(group) for name, group in entry.report.shot_classes.items()},
                        "reliability": {"edges": entry.report.reliability.edges.round(6).tolist(),
                                        "count": entry.report.reliability.count.tolist(),
                                        "confidence": [_num(v) for v in entry.report.reliability.confidence],
                                        "accuracy": [_num(v) for v in entry.report.reliability.accuracy]}}
                       for entry in entries],
            "per_class": per_class_rows(entries, names)}
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def per_class_csv(entries: Sequence[Entry], names: Dict[int, str]) -> str:
    out = io.StringIO()
    columns = ["model", "class", "name", "train_count", "eval_count", "predicted_count", "precision", "recall", "f1",
               "recall_delta", "f1_delta", "confused_with"]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in per_class_rows(entries, names):
        row["confused_with"] = " ".join(f"{item['class']}:{item['images']}" for item in row["confused_with"])
        writer.writerow(["" if row[key] is None else row[key] for key in columns])
    return out.getvalue()


def confusion_csv(report: ClassReport) -> str:
    """Row = true class, column = predicted class, counts; a header row and column of class ids."""
    out = io.StringIO()
    out.write("true\\predicted," + ",".join(map(str, range(report.class_num))) + "\n")
    body = np.column_stack([np.arange(report.class_num), report.confusion])
    np.savetxt(out, body, fmt="%d", delimiter=",")
    return out.getvalue()


DEFINITIONS = {
    "prediction": "argmax of the logits",
    "recall": "right / evaluation images of the class (undefined without images)",
    "precision": "right / images predicted as the class (undefined when none is)",
    "f1": "2 TP / (2 TP + FP + FN)",
    "balanced_acc": "mean recall over the classes with evaluation images",
    "macro_f1": "mean F1 over the classes with evaluation images",
    "shot_acc": "mean recall over a shot group's classes that have evaluation images",
    "ece": f"Guo et al. 2017: {ECE_BINS} equal-width bins of the top softmax probability, "
           "sum of |bin|/N * |accuracy - mean confidence|",
}


def render_markdown(entries: Sequence[Entry], meta: Dict[str, Any], names: Dict[int, str],
                    pictures: Sequence[str]) -> str:
    first = entries[0].report
    lines = ["# Per-class report", ""]
    lines += [f"- {key}: {value}" for key, value in meta.items() if value not in (None, "")]
    lines += [f"- models: " + ", ".join(f"`{entry.label}` ({entry.source})" for entry in entries), ""]
    header = "| figure | " + " | ".join(entry.label for entry in entries)
    if len(entries) > 1:  # differences in percentage points (ECE: as is)
        header += " | " + " | ".join(f"{entry.label} - {entries[0].label}" for entry in entries[1:])
    lines += [header + " |", "|---" * (2 * len(entries)) + "|"]
    for key, title in SUMMARY_ROWS:
        values = [summary(entry.report).get(key) for entry in entries]
        if all(value is None for value in values) and key.endswith("_acc") and key != "balanced_acc":
            continue
        cells = [_pct(value) if key != "ece" else ("-" if value is None else f"{value:.4f}") for value in values]
        deltas = ["-" if value is None or values[0] is None else
                  f"{value - values[0]:+.4f}" if key == "ece" else _delta(value - values[0]) for value in values[1:]]
        lines.append(f"| {title} | " + " | ".join(cells + deltas) + " |")
    lines += ["", f"{first.images} evaluation images, {first.class_num} classes."
              + (" Differences in percentage points (ECE as is)." if len(entries) > 1 else "")]
    if first.shot_rule:
        sizes = ", ".join(f"{name} {len(first.shot_classes[name])}" for name in SHOT_GROUPS)
        lines.append(f"Shot groups ({sizes} classes): {first.shot_rule}.")
    lines += ["Balanced accuracy and macro-F1 average over the classes that have evaluation images; ECE uses "
              f"{ECE_BINS} equal-width confidence bins (Guo et al., ICML 2017).", ""]
    lines += [f"![{picture}]({picture})" for picture in pictures] + [""]
    lines += ["## Per class", "", "Ordered by training count, most first. `taken for`: the classes its images are "
              "most often predicted as (images).", ""]
    if len(entries) == 1:
        lines += ["| class | train | eval | precision | recall | F1 | taken for |", "|---|---|---|---|---|---|---|"]
        for label in count_order(first).tolist():
            train = "-" if first.train_counts is None else str(first.train_counts[label])
            lines.append(f"| {class_label(label, names)} | {train} | {first.eval_count[label]} | "
                         f"{_pct(first.precision[label])} | {_pct(first.recall[label])} | {_pct(first.f1[label])} | "
                         f"{_confused(first, label, names)} |")
    else:
        recalls = " | ".join(f"recall {entry.label}" for entry in entries)
        deltas = " | ".join(f"recall {entry.label} - {entries[0].label}" for entry in entries[1:])
        lines += [f"| class | train | eval | {recalls} | {deltas} | taken for ({entries[-1].label}) |",
                  "|---" * (4 + 2 * len(entries) - 1) + "|"]
        for label in count_order(first).tolist():
            train = "-" if first.train_counts is None else str(first.train_counts[label])
            cells = [_pct(entry.report.recall[label]) for entry in entries]
            cells += [_delta(entry.report.recall[label] - first.recall[label]) for entry in entries[1:]]
            lines.append(f"| {class_label(label, names)} | {train} | {first.eval_count[label]} | "
                         + " | ".join(cells) + f" | {_confused(entries[-1].report, label, names)} |")
    return "\n".join(lines) + "\n"


def terminal_summary(entries: Sequence[Entry]) -> str:
    """A few lines for the terminal: the headline figures of each model."""
    lines = []
    for entry in entries:
        figures = summary(entry.report)
        shots = " ".join(f"{name} {_pct(figures[f'{name}_acc'])}" for name in SHOT_GROUPS if f"{name}_acc" in figures)
        ece = "-" if figures["ece"] is None else f"{figures['ece']:.4f}"
        lines.append(f"{entry.label}: top-1 {_pct(figures['top1'])}, balanced {_pct(figures['balanced_acc'])}, "
                     f"macro-F1 {_pct(figures['macro_f1'])}, ECE {ece}"
                     + (f"; {shots}" if shots else ""))
    return "\n".join(lines) + "\n"
