"""The PaddleClas side of the Fashion-MNIST experiment: the copy, the configs, the -o options, the evaluator.

Everything here talks to PaddleClas or to `python -m ppcls_csce`; fashion_mnist.py decides what to run.
"""

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import ltdata
import lteval
from ppcls_csce.drw import default_start_epoch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BASE_CONFIG = "ppcls/configs/ImageNet/PPLCNet/PPLCNet_x1_0_fp32_ultra.yaml"
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST's pixel mean and std (train set, scale 1/255)


@dataclass(frozen=True)
class Schedule:
    """Everything that makes two runs comparable; a finished run is reused only under the same one."""

    arch: str
    image_size: int
    epochs: int
    batch_size: int
    lr: float
    warmup_epochs: int
    train_images: int
    test_per_class: int

    @property
    def drw_epoch(self) -> int:
        """gen's default (drw.default_start_epoch): the reference code's 160 plain epochs of 200, CS_CE from 161."""
        return default_start_epoch(self.epochs)


FULL = Schedule("PPLCNet_x0_25", 32, 15, 64, 0.1, 1, sum(ltdata.LT_COUNTS), 1000)
QUICK = Schedule("PPLCNet_x0_25", 32, 2, 32, 0.05, 0, 300, 30)


def tool(*args: str, capture: bool = True) -> subprocess.CompletedProcess:
    """`python -m ppcls_csce ARGS` from this checkout, failing loudly."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "ppcls_csce", *args], capture_output=capture, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"python -m ppcls_csce {' '.join(args)} failed:\n{done.stderr.strip()}")
    return done


def prepare_paddleclas(source: Path, work: Path) -> Path:
    """A private copy of the checkout with the loss installed (the source is never written)."""
    copy = work / "PaddleClas"
    if not copy.is_dir():
        tmp = work / "PaddleClas.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source, tmp, ignore=shutil.ignore_patterns(".git", "output", "__pycache__"))
        os.replace(tmp, copy)
    tool("install", "--paddleclas", str(copy))
    return copy


def prepare_base(copy: Path, schedule: Schedule, out: Path) -> None:
    """The real config with what -o cannot express: 10 classes, small-image transforms, the batch size, the epochs;
    beside it (NAME_plain.yaml) the same without label smoothing.

    The batch size and the epochs must be in the file before gen (DRW counts iterations per epoch from the first,
    and gen checks the switch against the second).
    """
    import yaml

    config = yaml.safe_load((copy / BASE_CONFIG).read_text())
    config["Arch"] = {"name": schedule.arch, "class_num": 10}
    config["Global"]["use_dali"] = False
    config["Global"]["epochs"] = schedule.epochs  # what gen reads to check (and default) the DRW switch
    config["AMP"]["use_amp"] = False
    normalize = {"NormalizeImage": {"scale": "1.0/255.0", "mean": [MEAN] * 3, "std": [STD] * 3, "order": ""}}
    decode = {"DecodeImage": {"to_rgb": True, "channel_first": False}}
    resize = {"ResizeImage": {"size": schedule.image_size}}
    train, test = config["DataLoader"]["Train"], config["DataLoader"]["Eval"]
    train["dataset"]["transform_ops"] = [decode, resize, {"RandFlipImage": {"flip_code": 1}}, normalize]
    test["dataset"]["transform_ops"] = [decode, resize, normalize]
    train["sampler"]["batch_size"] = schedule.batch_size
    # One process: the flips are drawn from the seeded generator, so arms of a seed see the same images.
    train["loader"] = {"num_workers": 0, "use_shared_memory": False}
    test["loader"] = {"num_workers": 0, "use_shared_memory": False}
    header = f"# {BASE_CONFIG} of PaddleClas, edited by examples/longtail/fashion_mnist.py\n"
    out.write_text(header + yaml.safe_dump(config, sort_keys=False))
    for entries in config["Loss"].values():  # the no-label-smoothing arms' base: the same, without epsilon
        for entry in entries:
            for params in entry.values():
                params.pop("epsilon", None)
    plain = out.with_name(out.stem + "_plain" + out.suffix)
    plain.write_text(header + "# and its label smoothing taken out\n" + yaml.safe_dump(config, sort_keys=False))


def overrides(schedule: Schedule, seed: int, data: Path, split: Dict[str, object], output: Path) -> List[str]:
    """The launch-time -o options: the same for every arm of a seed, and for the evaluation."""
    size = schedule.image_size
    return ["Global.device=cpu", f"Global.seed={seed}", f"Global.epochs={schedule.epochs}",
            f"Global.output_dir={output}", "Global.eval_during_train=False", "Global.save_interval=0",
            "Global.print_batch_step=50", f"Global.image_shape=[3,{size},{size}]",
            f"Optimizer.lr.learning_rate={schedule.lr}", f"Optimizer.lr.warmup_epoch={schedule.warmup_epochs}",
            f"DataLoader.Train.sampler.batch_size={schedule.batch_size}",
            f"DataLoader.Train.dataset.transform_ops.1.ResizeImage.size={size}",
            f"DataLoader.Eval.dataset.transform_ops.1.ResizeImage.size={size}",
            f"DataLoader.Train.dataset.image_root={data}",
            f"DataLoader.Train.dataset.cls_label_path={split['train_list']}",
            f"DataLoader.Eval.dataset.image_root={data}",
            f"DataLoader.Eval.dataset.cls_label_path={split['test_list']}"]


def saved_model(output: Path, arch: str) -> Optional[Path]:
    """The latest.pdparams tools/train.py left (older PaddleClas put it under the network's name)."""
    for path in (output / "latest.pdparams", output / arch / "latest.pdparams"):
        if path.exists():
            return path
    return None


class Evaluator:
    """One lteval.py process in the PaddleClas copy for all the runs: paddle and ppcls are imported once.

    Thread-safe (the runs that go on at once take turns); its stderr, tracebacks included, goes to `log`.
    """

    def __init__(self, copy: Path, log: Path) -> None:
        self.log = log
        self._lock = threading.Lock()
        self._stderr = log.open("a")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        self._process = subprocess.Popen([sys.executable, "-W", "ignore", str(HERE / "lteval.py")], cwd=copy,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                         text=True, bufsize=1, env=env)

    def evaluate(self, config: Path, model: Path, options: List[str],
                 save_logits: Optional[Path] = None) -> Dict[str, Any]:
        """Per-class accuracy of `model` on the config's eval list (the test list unless `options` name another),
        built from `config` with the training's -o options; `save_logits`: the logits kept there as well."""
        job = json.dumps({"config": str(config), "model": str(model), "overrides": options,
                          "save_logits": str(save_logits) if save_logits else None})
        with self._lock:
            assert self._process.stdin is not None and self._process.stdout is not None
            try:
                self._process.stdin.write(job + "\n")
                self._process.stdin.flush()
            except BrokenPipeError:
                pass  # it has died: reported below
            for line in self._process.stdout:
                if line.startswith(lteval.RESULT_PREFIX):
                    answer: Dict[str, Any] = json.loads(line[len(lteval.RESULT_PREFIX):])
                    break
            else:
                raise SystemExit(f"evaluating {model}: lteval.py stopped (exit {self._process.wait()}): "
                                 f"see {self.log}")
        if "error" in answer:
            raise SystemExit(f"evaluating {model} failed: {answer['error']} (traceback in {self.log})")
        return answer

    def close(self) -> None:
        """End the process (its stdin closed, it finishes the loop)."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait()
        self._stderr.close()

    def __enter__(self) -> "Evaluator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def engine_info(paddleclas: Path) -> Dict[str, object]:
    """PaddleClas commit (from PROVENANCE.md or git), machine; paddle's version comes with each run."""
    commit = "unknown"
    provenance = paddleclas / "PROVENANCE.md"
    if provenance.exists():
        found = re.search(r"\b[0-9a-f]{40}\b", provenance.read_text())
        commit = found.group(0) if found else commit
    elif (paddleclas / ".git").exists():
        done = subprocess.run(["git", "-C", str(paddleclas), "rev-parse", "HEAD"], capture_output=True, text=True)
        commit = done.stdout.strip() or commit
    return {"trainer": "PaddleClas tools/train.py", "paddleclas": str(paddleclas), "paddleclas_commit": commit,
            "base_config": BASE_CONFIG, "machine": platform.node(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version()}


def default_paddleclas() -> Optional[Path]:
    """$PPCLS_CSCE_PADDLECLAS, else ../shared/PaddleClas beside the repo (the tests' rule; "" means none)."""
    named = os.environ.get("PPCLS_CSCE_PADDLECLAS")
    if named is not None:
        return Path(named).expanduser() if named else None
    return REPO.parent / "shared" / "PaddleClas"
