"""`adjust --tau auto` over saved logits: reading the .npz and the 41-point tau search, both methods.

What is timed is what the command does after the model is read: load_logits (report --save-logits's file), then
tau_search.search with adjust.affine (logit adjustment; tau-normalisation) over the whole grid. The logits are
random (the time does not depend on their values), the counts ImageNet-LT-like. The issue's target: under 5 s
for 50,000 images and 1,000 classes.

    python bench/bench_tau.py [--quick]
"""

import argparse
import os
import tempfile
import time

import numpy as np

from ppcls_csce import adjust, tau_search
from ppcls_csce.logits import load_logits, save_logits


def measure(images: int, classes: int) -> dict:
    rng = np.random.default_rng(0)
    counts = [max(1, round(1280 * 100 ** (-c / (classes - 1)))) for c in range(classes)]
    head = adjust.Classifier("fc.bias", "fc.weight", rng.normal(size=classes), rng.normal(size=(512, classes)))
    log_prior = np.log(np.asarray(counts, dtype=np.float64) / sum(counts))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "val.npz")
        save_logits(path, rng.normal(size=(images, classes)).astype(np.float32),
                    rng.integers(0, classes, size=images), counts)
        row = {"images": images, "classes": classes, "mb": os.path.getsize(path) / 1e6}
        start = time.perf_counter()
        held = load_logits(path)
        row["load_s"] = time.perf_counter() - start
    for method in adjust.METHODS:
        start, cpu = time.perf_counter(), time.process_time()
        tau_search.search(held.logits, held.labels, lambda tau: adjust.affine(method, tau, log_prior, head),
                          center=adjust.center(method, head))
        row[method] = time.perf_counter() - start
        row[method + " cpu"] = time.process_time() - cpu
    return row


def report(quick: bool = False) -> str:
    images = 5_000 if quick else 50_000
    row = measure(images, 1000)
    worst = row["load_s"] + max(row[method] for method in adjust.METHODS)
    lines = [f"### adjust --tau auto over saved logits: load + search of {len(tau_search.GRID)} taus, one process, "
             "wall (CPU) seconds (target: under 5 s at 50,000 x 1,000)", "",
             "| images | classes | .npz MB | load s | logit-adjust search s | tau-norm search s | load + slower search s |",
             "|---:|---:|---:|---:|---:|---:|---:|",
             f"| {row['images']} | {row['classes']} | {row['mb']:.0f} | {row['load_s']:.2f} "
             + "".join(f"| {row[m]:.2f} ({row[m + ' cpu']:.2f}) " for m in adjust.METHODS) + f"| {worst:.2f} |"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 images instead of 50,000")
    print(report(quick=parser.parse_args().quick))
