"""`csce-config report` against PaddleClas's tools/eval.py on the same model and list, and the report's own
cost after the forward pass at 1,000 classes.

Row 1: wall time of `tools/eval.py -c CFG -o Global.pretrained_model=M` and of `csce-config report --model M
--config CFG` (whole processes, imports included), interleaved, on a copy of a PaddleClas checkout
(PPCLS_CSCE_PADDLECLAS), a ResNet18 at 64 px with freshly initialised weights (saved by paddle.save) and a
list of noise JPEGs. The issue's target: report at most 1.10x tools/eval.py.
Row 2: the figures, the pictures and every file of a 1,000-class report from saved logits (N images),
i.e. everything after the forward pass. Target: under 10 s.

    python bench/bench_report.py [--quick]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIZE = 64
CLASSES = 10
SAVE_MODEL = """
import sys
sys.path.insert(0, '.')
import paddle
from ppcls.arch import build_model
from ppcls.utils.config import parse_config
from ppcls.utils.logger import init_logger
init_logger()
paddle.seed(0)
paddle.save(build_model(parse_config(sys.argv[1]), 'eval').state_dict(), sys.argv[2])
"""


def _setup(root: Path, images: int) -> Dict[str, Path]:
    import cv2
    import yaml

    checkout = root / "PaddleClas"
    source = Path(os.environ.get("PPCLS_CSCE_PADDLECLAS", REPO.parent / "shared" / "PaddleClas"))
    shutil.copytree(source, checkout, ignore=shutil.ignore_patterns("__pycache__", "output*", "dataset"))
    rng = np.random.default_rng(0)
    lines = []
    (root / "val").mkdir()
    for index in range(images):
        label = index % CLASSES
        cv2.imwrite(str(root / "val" / f"{index}.jpg"), rng.integers(0, 255, (SIZE + 8, SIZE + 8, 3), dtype=np.uint8))
        lines.append(f"val/{index}.jpg {label}")
    listing = root / "val.txt"
    listing.write_text("\n".join(lines) + "\n")
    config = yaml.safe_load((checkout / "ppcls/configs/ImageNet/ResNet/ResNet18.yaml").read_text())
    config["Global"].update(device="cpu", output_dir=str(root / "output"), image_shape=[3, SIZE, SIZE])
    config["Arch"]["class_num"] = CLASSES
    eval_loader = config["DataLoader"]["Eval"]
    eval_loader["dataset"].update(image_root=str(root), cls_label_path=str(listing))
    eval_loader["sampler"]["batch_size"] = 64
    eval_loader["loader"] = {"num_workers": 0, "use_shared_memory": False}
    for op in eval_loader["dataset"]["transform_ops"]:
        for key, value in op.items():
            if key == "ResizeImage":
                value["resize_short"] = SIZE + 8
            if key == "CropImage":
                value["size"] = SIZE
    config["Metric"] = {"Eval": [{"TopkAcc": {"topk": [1, 5]}}]}
    config.pop("Infer", None)
    path = root / "bench.yaml"
    path.write_text(yaml.safe_dump(config))
    model = root / "model.pdparams"
    subprocess.run([sys.executable, "-c", SAVE_MODEL, str(path), str(model)], cwd=checkout, check=True,
                   capture_output=True)
    return {"checkout": checkout, "config": path, "model": model}


def _wall(command: List[str], cwd: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def forward_row(quick: bool) -> str:
    images, rounds = (256, 1) if quick else (1024, 2)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        made = _setup(root, images)
        model = str(made["model"])
        evaluate = [sys.executable, "tools/eval.py", "-c", str(made["config"]), "-o", "Global.device=cpu",
                    "-o", f"Global.pretrained_model={model[:-len('.pdparams')]}"]
        report = [sys.executable, "-m", "ppcls_csce", "report", "--model", model, "--config", str(made["config"]),
                  "--paddleclas", str(made["checkout"]), "--device", "cpu", "--no-progress", "--out",
                  str(root / "report")]
        times: Dict[str, List[float]] = {"eval": [], "report": []}
        for _ in range(rounds):  # interleaved: the machine's load falls on both alike
            times["eval"].append(_wall(evaluate, made["checkout"]))
            times["report"].append(_wall(report, made["checkout"]))
    eval_s, report_s = statistics.median(times["eval"]), statistics.median(times["report"])
    return (f"| ResNet18 {SIZE} px, {images} images, {CLASSES} classes, CPU, median of {rounds} | {eval_s:.1f} | "
            f"{report_s:.1f} | {report_s / eval_s:.2f}x |")


def post_forward_row(quick: bool) -> str:
    from ppcls_csce import classreport
    from ppcls_csce.atomic import write_atomic
    from ppcls_csce.report_files import Entry
    from ppcls_csce.report_run import render_files

    images, classes = (10_000, 1000) if quick else (50_000, 1000)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, classes, images)
    logits = rng.normal(size=(images, classes)).astype(np.float32)
    logits[np.arange(images), labels] += 3.0
    counts = [max(1, round(1280 * 100 ** (-c / (classes - 1)))) for c in range(classes)]
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        entry = Entry("model", "logits.npz", classreport.build(logits, labels, counts))
        files = render_files([entry], {"config": "bench"}, {})
        for name, data in files.items():
            write_atomic(os.path.join(folder, name), data)
        elapsed = time.perf_counter() - start
    return f"| {classes} classes, {images} images: figures, {len(files)} files incl. pictures | {elapsed:.2f} s |"


def report(quick: bool) -> str:
    lines = ["### report: the forward pass against tools/eval.py, and the report after it", "",
             "| model and list | tools/eval.py (s) | csce-config report (s) | ratio |", "|---|---|---|---|",
             forward_row(quick), "", "| after the forward pass | time |", "|---|---|", post_forward_row(quick)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller list and fewer logits, one round")
    parser.add_argument("--only-after-forward", action="store_true", help="only the 1,000-class row (no checkout)")
    args = parser.parse_args()
    if args.only_after_forward:
        print(post_forward_row(args.quick))
    else:
        print(report(args.quick), end="")


if __name__ == "__main__":
    main()
