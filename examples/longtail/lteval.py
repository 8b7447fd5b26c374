"""Test-set accuracy of models trained by PaddleClas, read back the way PaddleClas builds them.

Run inside the PaddleClas copy (the driver starts it once, cwd = the copy, and keeps it): every line on stdin
is one job, {"config": ..., "model": ..., "overrides": [...]}; for each, the config is parsed with PaddleClas's
own get_config and the same -o overrides the training got, the network comes from ppcls.arch.build_model, the
weights from the saved .pdparams, and the test images go through the config's DataLoader.Eval transform ops
(ppcls.data). The answer is one line on stdout, RESULT_PREFIX and JSON ({"error": ...} when the job failed), so
paddle is imported once for all the runs and the driver stays free of it.
"""

import argparse
import json
import os
import sys
import time
import traceback
from typing import Any, Dict, List, Optional


def per_class_accuracy(predicted: List[int], labels: List[int], num_classes: int) -> List[float]:
    """Recall of every class: the right answers among that class's test images."""
    right = [0] * num_classes
    total = [0] * num_classes
    for guess, label in zip(predicted, labels):
        total[label] += 1
        right[label] += int(guess == label)
    return [r / t if t else 0.0 for r, t in zip(right, total)]


RESULT_PREFIX = "lteval-result "  # what marks an answer among anything paddle or PaddleClas print


def evaluate(config_path: str, model_path: str, overrides: List[str], batch_size: int = 500,
             save_logits: Optional[str] = None) -> Dict[str, Any]:
    """One job: per-class accuracy of the saved model on the config's DataLoader.Eval list; with `save_logits`,
    the logits and labels kept in that file (ppcls_csce.logits, what `adjust --logits` reads)."""
    import numpy as np
    import paddle
    from ppcls.arch import build_model
    from ppcls.data import create_operators
    from ppcls.data.dataloader.imagenet_dataset import ImageNetDataset
    from ppcls.utils.config import get_config

    start = time.time()
    config = get_config(config_path, overrides=overrides, show=False)
    model = build_model(config, mode="eval")
    saved = paddle.load(model_path)
    own = model.state_dict()
    missing = [key for key in own if key not in saved]
    if missing:
        return {"error": f"{model_path}: {len(missing)} weights of the network missing, e.g. {missing[0]}"}
    model.set_state_dict({key: value for key, value in saved.items() if key in own})
    model.eval()

    section = config["DataLoader"]["Eval"]["dataset"]
    dataset = ImageNetDataset(image_root=section["image_root"], cls_label_path=section["cls_label_path"],
                              transform_ops=None)
    ops = create_operators(section["transform_ops"])
    num_classes = int(config["Arch"]["class_num"])
    predicted: List[int] = []
    kept: List[Any] = []
    labels = [int(label) for label in dataset.labels]
    with paddle.no_grad():
        for first in range(0, len(dataset.images), batch_size):
            batch = []
            for path in dataset.images[first:first + batch_size]:
                with open(path, "rb") as handle:
                    image: Any = handle.read()
                for op in ops:
                    image = op(image)
                batch.append(image.transpose((2, 0, 1)))
            logits = model(paddle.to_tensor(np.stack(batch)))
            if isinstance(logits, dict):
                logits = logits["logits"]
            predicted.extend(int(i) for i in logits.argmax(axis=1).numpy())
            if save_logits:
                kept.append(logits.numpy())
    if save_logits:
        from ppcls_csce.logits import save_logits as save

        save(save_logits, np.concatenate(kept), labels, meta={"model": model_path, "config": config_path,
                                                              "list": section["cls_label_path"]})
    return {"per_class": per_class_accuracy(predicted, labels, num_classes),
            "top1": sum(int(p == y) for p, y in zip(predicted, labels)) / len(labels),
            "test_images": len(labels), "paddle": paddle.__version__, "eval_seconds": round(time.time() - start, 1)}


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.getcwd())
    import paddle

    paddle.set_device("cpu")
    for line in sys.stdin:
        job = json.loads(line)
        try:
            answer = evaluate(job["config"], job["model"], job["overrides"], args.batch_size, job.get("save_logits"))
        except Exception as error:  # the driver stops with this line; the traceback goes to the eval log
            traceback.print_exc()
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(RESULT_PREFIX + json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
