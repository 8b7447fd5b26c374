"""smoke's timing: CostSensitiveCE against plain F.cross_entropy on the same batches, interleaved rounds."""

import math
import statistics
import time
from typing import Any, Dict, List

from .. import params
from . import paddle
from .checks import Batch, _autocast, _first_line, _forward_backward, _missing_kernel

F = paddle.nn.functional
TIMING_ROUNDS = 5


def _time_steps(loss_fn: Any, batches: List[Batch], amp: bool, notes: List[str]) -> float:
    """ms per forward+backward step over the batches; one value fetch at the end waits for the device."""
    start = time.perf_counter()
    with _autocast(amp, notes):
        for batch in batches:
            value, _ = _forward_backward(loss_fn, batch)
    value.sum().numpy()  # a device-to-host copy: waits for every queued kernel, on any device
    return (time.perf_counter() - start) * 1000.0 / len(batches)


def time_against_plain(layer: Any, batches: List[Batch], amp: bool, notes: List[str]) -> Dict[str, Any]:
    """Interleaved rounds of CS_CE and plain F.cross_entropy on the same batches; medians and their ratio."""
    ours = lambda x, y: layer(x, y)[params.LOSSES[layer.NAME].key]  # noqa: E731
    baseline_name = "plain F.cross_entropy"
    baseline = lambda x, y: F.cross_entropy(x, y)  # noqa: E731
    try:
        with _autocast(amp, notes):
            _forward_backward(baseline, batches[0])
    except Exception as error:  # noqa: BLE001
        if not _missing_kernel(error):
            raise
        # e.g. the CPU build has no float16 cross-entropy kernel: compare with what the loss itself does.
        notes.append(f"{baseline_name} cannot take {batches[0].logits.dtype} logits on this device "
                     f"({_first_line(error)[:120]}...); timed it on the logits cast to float32 instead")
        baseline_name = "plain F.cross_entropy (logits cast to float32)"
        baseline = lambda x, y: F.cross_entropy(x.astype("float32"), y)  # noqa: E731
    _time_steps(ours, batches[:1], amp, notes)  # warm-up
    _time_steps(baseline, batches[:1], amp, notes)
    mine, plain = [], []
    for _ in range(TIMING_ROUNDS):
        mine.append(_time_steps(ours, batches, amp, notes))
        plain.append(_time_steps(baseline, batches, amp, notes))
    ms, base = statistics.median(mine), statistics.median(plain)
    return {"ms_per_step": ms, "baseline": baseline_name, "baseline_ms_per_step": base,
            "ratio": ms / base if base > 0 else math.nan, "rounds": TIMING_ROUNDS}
