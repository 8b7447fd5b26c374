"""LongTailAcc's per-batch update against one CPU eval step of a ResNet18 at 32 px, in one run.

The eval step is what PaddleClas's eval loop does per batch before it calls the metrics: the forward pass
of the model in eval mode without gradients. The metric's cost is its whole call (argmax, the copy to
numpy, two bincounts) on that step's logits; paddle.metric.accuracy (what TopkAcc calls) is shown for
comparison. Interleaved, medians, ratios within this run. The issue's target: at most 5% of the step.

    python bench/bench_metric.py [--quick]
"""

import argparse
import statistics
import time
from typing import Callable, Dict, List

import numpy as np
import paddle

from ppcls_csce.metric import LongTailAcc

CLASSES = 1000


def timed(action: Callable[[], object], repeats: int) -> List[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def report(quick: bool = False) -> str:
    """The markdown table and its verdict (bench/run.py collects it)."""
    out: List[str] = []
    repeats = 5 if quick else 15
    paddle.set_device("cpu")
    model = paddle.vision.models.resnet18(num_classes=CLASSES)
    model.eval()
    counts = [max(1, round(1280 * 100 ** (-c / (CLASSES - 1)))) for c in range(CLASSES)]  # ImageNet-LT-like
    out.append(f"### LongTailAcc per eval step: ResNet18, 3x32x32 inputs, {CLASSES} classes, CPU ({paddle.get_device()}), median of {repeats}\n")
    out.append("| batch | eval step (ms) | LongTailAcc update (ms) | share of the step | accuracy top-1 (ms) |")
    out.append("|---|---|---|---|---|")
    worst = 0.0
    for batch in ((64,) if quick else (32, 64, 128)):
        rng = np.random.default_rng(batch)
        images = paddle.to_tensor(rng.normal(size=(batch, 3, 32, 32)).astype("float32"))
        labels = paddle.to_tensor(rng.integers(0, CLASSES, size=(batch, 1)).astype("int64"))
        metric = LongTailAcc(counts)
        with paddle.no_grad():
            logits = model(images)
            step: Dict[str, List[float]] = {"step": [], "metric": [], "accuracy": []}
            for _ in range(repeats):  # interleaved, so the machine's load falls on all three alike
                step["step"] += timed(lambda: model(images).numpy(), 1)
                step["metric"] += timed(lambda: metric(logits, labels), 1)
                step["accuracy"] += timed(lambda: float(paddle.metric.accuracy(logits, labels, k=1)), 1)
        model_ms, metric_ms, accuracy_ms = (1000 * statistics.median(step[key]) for key in ("step", "metric", "accuracy"))
        worst = max(worst, metric_ms / model_ms)
        out.append(f"| {batch} | {model_ms:.2f} | {metric_ms:.3f} | {100 * metric_ms / model_ms:.2f}% | {accuracy_ms:.3f} |")
    out.append("")
    out.append(f"worst share {100 * worst:.2f}% (target <= 5%): {'met' if worst <= 0.05 else 'NOT met'}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one batch size, 5 repeats")
    print(report(quick=parser.parse_args().quick), end="")
