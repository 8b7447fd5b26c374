"""Deferred re-weighting at run time: how many loss calls an epoch really has, and what the loss logs when the
configured schedule will not hold (a batch-size or card-count override) or a run starts mid-schedule.

Standard library only: `install` inlines this file into the loss it writes into PaddleClas.
"""

import math
from typing import Optional, Tuple


# Deferred re-weighting's default: plain cross-entropy for this share of the epochs, then the loss, as the
# paper's reference code (160 plain epochs of 200: TRAIN.TWO_STAGE.START_EPOCH 160).
PLAIN_SHARE = 0.8


def default_start_epoch(epochs: int) -> int:
    """The first re-weighted epoch gen writes by default: round(0.8 * epochs) + 1 (161 of 200, 13 of 15), at most
    `epochs`; 1 (no plain phase) for a 1-epoch run."""
    return max(1, min(epochs, round(PLAIN_SHARE * epochs) + 1))


def epoch_iterations(images: int, batch_size: int, world_size: int = 1) -> Tuple[int, int]:
    """Loss calls per epoch with PaddleClas's DistributedBatchSampler: (with drop_last, without).

    Each card gets ceil(images / world_size) samples; drop_last floors the batches, else they are rounded up.
    """
    per_card = math.ceil(images / world_size)
    return per_card // batch_size, math.ceil(per_card / batch_size)


def drw_drift_message(name: str, drw_start_epoch: int, iters_per_epoch: int, images: int, batch_size: int,
                      world_size: int) -> Optional[str]:
    """What the loss logs when the run's epoch length is not the configured iters_per_epoch; None when it is."""
    floor, ceil = epoch_iterations(images, batch_size, world_size)
    if iters_per_epoch in (floor, ceil):
        return None
    actual = ceil if ceil > 0 else max(floor, 1)
    switch = (drw_start_epoch - 1) * iters_per_epoch
    epoch, iteration = switch // actual + 1, switch % actual + 1
    lengths = f"{ceil}" if floor == ceil else f"{ceil} ({floor} with drop_last)"
    return (
        f"{name}: deferred re-weighting is configured for iters_per_epoch {iters_per_epoch}, but this run has "
        f"{images} training images, batch size {batch_size} per card on {world_size} card(s): {lengths} "
        f"iterations per epoch. The switch after {switch} training steps will come at epoch {epoch}, iteration "
        f"{iteration}, not at the start of epoch {drw_start_epoch}. Fix: rerun csce-config gen --config CFG "
        f"--drw-epoch {drw_start_epoch} --world-size {world_size} with DataLoader.Train.sampler.batch_size "
        f"{batch_size} in CFG, or set iters_per_epoch: {actual} in the loss entries (ignore this when "
        "Global.iter_per_epoch or Global.update_freq sets the epoch length)"
    )


def resume_message(name: str, step: int, switch_step: int) -> str:
    """What a DRW loss logs when its step counter does not start at 0 (loaded with a checkpoint or pretrained model).

    Without DRW the counter changes nothing, so the loss says nothing then."""
    if step >= switch_step:
        phase = f"past the DRW switch at step {switch_step}: no plain cross-entropy phase in this run"
    else:
        phase = f"the DRW switch comes after {switch_step - step} more steps, not {switch_step}"
    return (
        f"{name}: the DRW step counter starts at {step}, loaded from the checkpoint or pretrained model ({phase}). "
        "Right for a resumed run (Global.checkpoints). To fine-tune with the counter at 0, remove the key "
        "ending in 'train_steps' from the .pdparams given as Global.pretrained_model, e.g. python -c \"import "
        "paddle; s = paddle.load('M.pdparams'); [s.pop(k) for k in list(s) if k.endswith('train_steps')]; "
        "paddle.save(s, 'M_fresh.pdparams')\""
    )
