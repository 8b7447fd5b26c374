"""smoke's checks: the loss and its gradient against the float64 numpy reference on random batches, every
value finite, the DRW switch through a resumed step counter, the weights on the logits' device."""

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .. import params
from ..reference import reference_for
from . import paddle
from .build import BuiltLoss
from .result import FAIL, PASS, UNSUPPORTED, Check

# Tolerances, by the logits' dtype. Loss: |loss - ref| <= RTOL * |ref| + ATOL elementwise (float64 reference
# from the very logits the loss saw). Gradient: max |g - ref| <= GRAD_TOL * max |ref| (gradients are ~1/B, so
# a relative-to-the-largest bound; fp16 gradients carry fp16 rounding, unit roundoff 4.9e-4).
LOSS_RTOL = {"float32": 1e-5, "float16": 2e-3}
LOSS_ATOL = {"float32": 1e-6, "float16": 1e-4}
GRAD_TOL = {"float32": 1e-5, "float16": 1e-2}


@dataclass
class Batch:
    logits: np.ndarray  # in the dtype the loss sees (float32, or float16 with --amp)
    label: np.ndarray  # int64 [B, 1], as PaddleClas feeds it
    logits_tensor: Any
    label_tensor: Any


def make_batches(counts: Sequence[int], class_num: int, batch_size: int, steps: int, seed: int, dtype: str) -> List[Batch]:
    """Random logits, labels drawn with probability count / total; tensors placed on the current device."""
    rng = np.random.default_rng(seed)
    probabilities = np.asarray(counts, dtype=np.float64) / float(sum(counts))
    batches = []
    for _ in range(steps):
        logits = (rng.standard_normal((batch_size, class_num)) * 3.0).astype(dtype)
        label = rng.choice(class_num, size=(batch_size, 1), p=probabilities).astype(np.int64)
        batches.append(Batch(logits, label, paddle.to_tensor(logits), paddle.to_tensor(label)))
    return batches


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return f"{type(error).__name__}: {text[:240]}"


def _missing_kernel(error: BaseException) -> bool:
    text = str(error)
    return "is not registered" in text or "(Unimplemented)" in text


@contextmanager
def _autocast(amp: bool, notes: List[str]) -> Iterator[None]:
    """PaddleClas runs the loss inside auto_cast under AMP; paddle's own warnings become notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with paddle.amp.auto_cast(enable=amp, level="O1", dtype="float16"):
            yield
    for warning in caught:
        message = str(warning.message).strip()
        if message not in notes:
            notes.append(message)


def _forward_backward(loss_fn: Any, batch: Batch) -> Tuple[Any, Any]:
    """One step on a fresh leaf: the loss tensor and d loss / d logits."""
    logits = batch.logits_tensor.detach()
    logits.stop_gradient = False
    value = loss_fn(logits, batch.label_tensor)
    (value if value.size == 1 else value.sum()).backward()
    return value, logits.grad


def _switch_step(layer: Any) -> Optional[int]:
    """The training call from which DRW weighs (the loss's own switch_step), or None without DRW."""
    return None if layer.drw_start_epoch is None else int(layer.switch_step)


def _resume_at(layer: Any, step: int) -> None:
    """Set the persistable step counter the way a resumed checkpoint does: through set_state_dict."""
    state = layer.state_dict()
    if "train_steps" not in state:
        raise RuntimeError(f"the loss's state_dict has no train_steps (keys: {sorted(state)})")
    layer.set_state_dict({"train_steps": paddle.to_tensor([step], dtype=state["train_steps"].dtype)})


def run_checks(built: BuiltLoss, batches: List[Batch], dtype: str, amp: bool, notes: List[str]) -> Tuple[List[Check], bool]:
    """Run every step with its checks; returns the checks and whether the steps ran at all."""
    layer = built.loss
    counts = list(layer.num_class_list)
    switch = _switch_step(layer)
    key, strength = params.LOSSES[layer.NAME].key, getattr(layer, layer.strength_name)
    # With DRW, the first half of the steps run before the switch (plain CE); the rest after resuming at it.
    plain_steps = len(batches) // 2 if switch else 0
    worst_loss, worst_grad, bad_finite = 0.0, 0.0, []
    failed_loss, failed_grad = [], []
    grad_dtypes = set()
    for step, batch in enumerate(batches):
        if switch and step == plain_steps:
            try:
                _resume_at(layer, switch)
            except Exception as error:  # noqa: BLE001 - reported as the DRW check
                return [Check("DRW", FAIL, f"cannot resume at step {switch}: {_first_line(error)}")], False
        weighted = not switch or step >= plain_steps
        try:
            with _autocast(amp, notes):
                value, grad = _forward_backward(lambda x, y: layer(x, y)[key], batch)
            got = np.asarray(value.numpy(), dtype=np.float64)
            got_grad = np.asarray(grad.numpy(), dtype=np.float64)
        except Exception as error:  # noqa: BLE001 - a device/kernel failure is what smoke reports
            status = UNSUPPORTED if amp and _missing_kernel(error) else FAIL
            return [Check("steps", status, f"{dtype} logits, step {step + 1} of {len(batches)}: {_first_line(error)}")], False
        grad_dtypes.add(str(grad.dtype).split(".")[-1])
        if not (np.all(np.isfinite(got)) and np.all(np.isfinite(got_grad))):
            bad_finite.append(step + 1)
            continue
        x64 = batch.logits.astype(np.float64)
        # switched=False: the plain cross-entropy DRW runs before its switch
        ref, ref_grad = reference_for(layer.NAME, x64, batch.label, counts, strength, layer.epsilon, layer.reduction,
                                      switched=weighted)
        if got.size != np.size(ref):  # e.g. reduction 'none' must give one value per sample
            failed_loss.append(step + 1)
        else:
            got = got.reshape(np.shape(ref))
            scaled = np.max(np.abs(got - ref) / (LOSS_RTOL[dtype] * np.abs(ref) + LOSS_ATOL[dtype]))
            worst_loss = max(worst_loss, float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-30))))
            if scaled > 1.0:
                failed_loss.append(step + 1)
        grad_error = float(np.max(np.abs(got_grad - ref_grad)) / max(float(np.max(np.abs(ref_grad))), 1e-30))
        worst_grad = max(worst_grad, grad_error)
        if grad_error > GRAD_TOL[dtype]:
            failed_grad.append(step + 1)

    steps = len(batches)
    checks = [Check("steps", PASS, f"{steps} forward+backward steps ran, {dtype} logits, gradient {', '.join(sorted(grad_dtypes))}")]
    if amp:
        fine = grad_dtypes == {"float16"}
        checks.append(Check("fp16", PASS if fine else FAIL,
                            "forward and backward ran, the gradient reaches the logits as float16" if fine
                            else f"the gradient reached the logits as {', '.join(sorted(grad_dtypes))}, not float16"))
    checks.append(Check("finite", FAIL if bad_finite else PASS,
                        f"loss or gradient not finite at step(s) {bad_finite}" if bad_finite else "loss and gradient finite at every step"))
    checked = steps - len(bad_finite)
    checks.append(Check(
        "reference loss", FAIL if failed_loss or not checked else PASS,
        f"matches the float64 numpy reference: worst relative error {worst_loss:.2e} over {checked} step(s) (tolerance rtol {LOSS_RTOL[dtype]:g}, "
        f"atol {LOSS_ATOL[dtype]:g})" + (f"; outside it at step(s) {failed_loss}" if failed_loss else ""),
    ))
    checks.append(Check(
        "reference gradient", FAIL if failed_grad or not checked else PASS,
        f"matches the float64 numpy reference: worst max|g - ref| / max|ref| {worst_grad:.2e} (tolerance {GRAD_TOL[dtype]:g})"
        + (f"; outside it at step(s) {failed_grad}" if failed_grad else ""),
    ))
    if switch:
        counter = int(layer.state_dict()["train_steps"].numpy().reshape(-1)[0])
        expected = switch + (steps - plain_steps)
        checks.append(Check(
            "DRW", PASS if counter == expected else FAIL,
            (f"{_span(1, plain_steps)} plain CE (before the switch at training step {switch}), then " if plain_steps else "")
            + f"resumed at step {switch} through state_dict, {_span(plain_steps + 1, steps)} CS_CE; step counter {counter} "
            f"(expected {expected})",
        ))
    return checks, True


def _span(first: int, last: int) -> str:
    return f"step {first}" if first == last else f"steps {first}..{last}"


def check_placement(layer: Any, batch: Batch) -> Check:
    """Every buffer of the loss (the class weights among them) must sit where the logits are."""
    place = batch.logits_tensor.place
    buffers = {name: buffer for name, buffer in layer.named_buffers()}
    elsewhere = [f"{name} on {buffer.place}" for name, buffer in buffers.items() if not buffer.place._equals(place)]
    if elsewhere:
        return Check("weights on device", FAIL, f"logits on {place}, but {', '.join(elsewhere)}")
    return Check("weights on device", PASS, f"{', '.join(sorted(buffers))} on {place}, with the logits")
