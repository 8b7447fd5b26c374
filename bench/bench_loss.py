"""CostSensitiveCE, ClassBalancedCE and BalancedSoftmaxCE forward + backward against what a PaddleClas user runs otherwise, on the CPU (and the GPU).

Hard labels against plain unweighted F.cross_entropy (the issues' target, for each of the three losses:
at most 10% overhead at N = 4096, C = 1000) and against Paddle's own F.cross_entropy(weight=w); mixup probabilities against
F.cross_entropy(soft_label=True); label smoothing against PaddleClas's CELoss(epsilon) computation
(log_softmax, very slow on paddle's CPU build). Candidates run interleaved, each timing is the median
of the repeats, and the ratio is taken within this one run. The machine's other load shows in the
small-N rows most (many tiny ops). Where paddle has CUDA and sees a GPU, the same rows run there too
(each step waits for the device, so the times are real).

    python bench/bench_loss.py [--quick]
"""

import argparse
import statistics
import time
from typing import Callable, Dict, List, Tuple

import numpy as np
import paddle
import paddle.nn.functional as F

from ppcls_csce.loss import BalancedSoftmaxCE, ClassBalancedCE, CostSensitiveCE

NUM_CLASSES = 1000


def _counts(num_classes: int) -> List[int]:
    """An exponential long-tailed profile, imbalance 100."""
    return [max(1, round(1300 * 100 ** (-c / (num_classes - 1)))) for c in range(num_classes)]


def _celoss_smoothing(logits: paddle.Tensor, label: paddle.Tensor, epsilon: float) -> paddle.Tensor:
    """What PaddleClas's CELoss(epsilon=...) computes for hard labels."""
    target = F.label_smooth(F.one_hot(label.reshape([-1]), logits.shape[-1]), epsilon=epsilon)
    return paddle.sum(-F.log_softmax(logits, axis=-1) * target, axis=-1).mean()


Case = Tuple[str, str, Callable[[], paddle.Tensor], Callable[[], paddle.Tensor], paddle.Tensor]


def _cases(n: int) -> List[Case]:
    rng = np.random.default_rng(0)
    logits = paddle.to_tensor(rng.normal(size=(n, NUM_CLASSES)).astype("float32"), stop_gradient=False)
    hard = paddle.to_tensor(rng.integers(0, NUM_CLASSES, size=(n, 1)).astype("int64"))
    # mixup: lam * one_hot(a) + (1 - lam) * one_hot(b)
    probs = np.zeros((n, NUM_CLASSES), dtype="float32")
    probs[np.arange(n), rng.integers(0, NUM_CLASSES, n)] += 0.7
    probs[np.arange(n), rng.integers(0, NUM_CLASSES, n)] += 0.3
    soft = paddle.to_tensor(probs)
    cs_ce = CostSensitiveCE(_counts(NUM_CLASSES), gamma=1.0)
    cs_ce_smooth = CostSensitiveCE(_counts(NUM_CLASSES), gamma=1.0, epsilon=0.1)
    class_balanced = ClassBalancedCE(_counts(NUM_CLASSES), beta=0.9999)
    balanced_softmax = BalancedSoftmaxCE(_counts(NUM_CLASSES), tau=1.0)
    weight = cs_ce.class_weight.astype("float32")
    plain = lambda: F.cross_entropy(logits, hard)  # noqa: E731
    return [
        ("CostSensitiveCE", "hard labels", lambda: cs_ce(logits, hard)["CS_CELoss"], plain, logits),
        ("ClassBalancedCE", "hard labels", lambda: class_balanced(logits, hard)["ClassBalancedCELoss"], plain, logits),
        ("BalancedSoftmaxCE", "hard labels", lambda: balanced_softmax(logits, hard)["BalancedSoftmaxCELoss"], plain,
         logits),
        (
            "CostSensitiveCE",
            "hard labels (weighted baseline)",
            lambda: cs_ce(logits, hard)["CS_CELoss"],
            lambda: F.cross_entropy(logits, hard, weight=weight),
            logits,
        ),
        (
            "CostSensitiveCE",
            "mixup probabilities",
            lambda: cs_ce(logits, soft)["CS_CELoss"],
            lambda: F.cross_entropy(logits, soft, soft_label=True),
            logits,
        ),
        (
            "CostSensitiveCE",
            "hard labels, epsilon 0.1",
            lambda: cs_ce_smooth(logits, hard)["CS_CELoss"],
            lambda: _celoss_smoothing(logits, hard, 0.1),
            logits,
        ),
    ]


def devices() -> List[str]:
    """The CPU, and the GPU too wherever this paddle has CUDA and sees one."""
    has_gpu = paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0
    return ["cpu", "gpu"] if has_gpu else ["cpu"]


def _wait() -> None:
    """GPU kernels run asynchronously: time a step only once the device has finished it."""
    if paddle.is_compiled_with_cuda() and str(paddle.get_device()).startswith("gpu"):
        paddle.device.cuda.synchronize()


def _step(loss_fn: Callable[[], paddle.Tensor], logits: paddle.Tensor) -> float:
    start = time.perf_counter()
    loss_fn().backward()
    _wait()
    elapsed = time.perf_counter() - start
    logits.clear_gradient()
    return elapsed


def measure(n: int, repeats: int, budget_s: float) -> List[Dict[str, object]]:
    """Median step times; a case whose warm-up is slow gets fewer repeats (at least 7) to fit `budget_s`."""
    rows = []
    for loss, name, ours, baseline, logits in _cases(n):
        # Warm-up: the first calls in a process (kernel selection, thread pools) are far off the steady state.
        started, steps, warm = time.perf_counter(), 0, 0.0
        while steps < 10 or time.perf_counter() - started < 1.0:
            warm = _step(ours, logits) + _step(baseline, logits)
            steps += 1
            if warm > budget_s / 10:
                break
        repeats = max(7, min(repeats, int(budget_s / warm)))
        times: Dict[str, List[float]] = {"ours": [], "baseline": []}
        for _ in range(repeats):  # interleaved, so drift hits both alike
            times["ours"].append(_step(ours, logits))
            times["baseline"].append(_step(baseline, logits))
        ours_ms = statistics.median(times["ours"]) * 1e3
        base_ms = statistics.median(times["baseline"]) * 1e3
        rows.append(
            {"loss": loss, "case": name, "n": n, "repeats": repeats, "ours_ms": ours_ms, "base_ms": base_ms, "ratio": ours_ms / base_ms}
        )
    return rows


_BASELINES = {
    "hard labels": "F.cross_entropy (unweighted)",
    "hard labels (weighted baseline)": "F.cross_entropy(weight=w)",
    "mixup probabilities": "F.cross_entropy(soft_label=True)",
    "hard labels, epsilon 0.1": "CELoss(epsilon=0.1) computation",
}


def report(quick: bool = False) -> str:
    sizes, repeats, budget_s = ([256, 1024], 20, 3.0) if quick else ([256, 4096], 200, 20.0)
    lines = [
        f"### The losses' forward + backward vs plain cross-entropy (C = {NUM_CLASSES}, median of "
        "interleaved repeats; target: hard labels <= 1.10 at N = 4096 on the CPU)",
        "",
        "| device | loss | labels | N | repeats | loss ms | baseline | baseline ms | ratio |",
        "|---|---|---|---:|---:|---:|---|---:|---:|",
    ]
    previous = paddle.get_device()
    try:
        for device in devices():
            paddle.set_device(device)
            for n in sizes:
                for row in measure(n, repeats, budget_s):
                    lines.append(
                        f"| {device} | {row['loss']} | {row['case']} | {row['n']} | {row['repeats']} | {row['ours_ms']:.2f} | "
                        f"{_BASELINES[str(row['case'])]} | {row['base_ms']:.2f} | {row['ratio']:.2f} |"
                    )
    finally:
        paddle.set_device(previous)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    print(report(quick=parser.parse_args().quick))
