"""smoke: build each loss of the config (CostSensitiveCE, ClassBalancedCE, BalancedSoftmaxCE) as PaddleClas would, run it on the chosen device, check the numbers, time it.

Why: before a multi-day job a user wants proof that every loss their config builds runs on their device and
computes the right values. One module per job: build (the losses from a config, a list or synthetic counts),
device (chosen in one place), checks (against the float64 reference), timing, result (text and JSON).

Imported lazily by the `smoke` command only (it imports paddle).
"""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="No ccache found")
    import paddle

from typing import Any, Dict, List, Optional  # noqa: E402

from .build import DEFAULT_BATCH_SIZE, BuiltLoss, build_losses, synthetic_counts  # noqa: E402
from .checks import check_placement, make_batches, run_checks  # noqa: E402
from .device import on_device  # noqa: E402
from .result import PASS, Check, LossRun, SmokeResult  # noqa: E402
from .timing import time_against_plain  # noqa: E402

__all__ = ["SmokeResult", "paddle", "run", "synthetic_counts"]


def run(config: Optional[str] = None, class_num: Optional[int] = None, train_list: Optional[str] = None,
        delimiter: str = " ", device: str = "auto", steps: int = 10, batch_size: Optional[int] = None,
        amp: bool = False, seed: int = 0, installed: Optional[str] = None, world_size: int = 1) -> SmokeResult:
    """Build, place, run and check every loss; a bad source or device raises CsceError (one line, exit 1).

    batch_size None: the config's DataLoader.Train.sampler.batch_size (per card), else 256. world_size: the cards
    the DRW schedule is checked for (the config's batch size on each)."""
    dtype = "float16" if amp else "float32"
    with on_device(device) as info:
        # Built after the device is set, as PaddleClas does: the weights are created where the layer is.
        built = build_losses(config, class_num, train_list, delimiter, world_size)
        batch, batch_from = ((batch_size, "--batch-size") if batch_size is not None else
                             (built.batch_size, "the config") if built.batch_size is not None else
                             (DEFAULT_BATCH_SIZE, "default"))
        notes = list(built.notes)
        runs = [_run_one(loss, steps, batch, dtype, amp, seed, notes) for loss in built.losses]
    # the CLI checked the PaddleClas checkout (rules/installed.py) before paddle was imported
    checks = [Check("installed", PASS, installed)] if installed is not None else []
    run_info = {"steps": steps, "batch_size": batch, "batch_size_from": batch_from, "world_size": world_size,
                "dtype": dtype, "amp": amp, "seed": seed}
    return SmokeResult(info, run_info, runs, checks, list(dict.fromkeys(notes)))  # a note once, however many losses


def _run_one(built: BuiltLoss, steps: int, batch_size: int, dtype: str, amp: bool, seed: int, notes: List[str]) -> LossRun:
    """One loss: its steps and checks on its own batches (same seed: the same batches for the same counts), timed if all passed."""
    layer = built.loss
    batches = make_batches(layer.num_class_list, built.class_num, batch_size, steps, seed, dtype)
    checks, ran = run_checks(built, batches, dtype, amp, notes)
    checks.append(check_placement(layer, batches[0]))
    timing: Dict[str, Any] = (time_against_plain(layer, batches, amp, notes) if ran and all(c.status == PASS for c in checks)
                              else {"ms_per_step": None, "why": "a check failed"})
    loss_info = {
        "name": layer.NAME, "source": built.source, "classes": built.class_num, "strength": layer.strength_name,
        layer.strength_name: getattr(layer, layer.strength_name), "epsilon": layer.epsilon,
        "reduction": layer.reduction, "drw_start_epoch": layer.drw_start_epoch, "iters_per_epoch": layer.iters_per_epoch,
    }
    return LossRun(loss_info, checks, timing)
