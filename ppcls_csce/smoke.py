"""smoke: build CostSensitiveCE as PaddleClas would, run it on the chosen device, check the numbers, time it.

Why: before a multi-day job a user wants proof that the loss their config builds runs on their device and
computes the right values. The device is chosen in exactly one place (`select_device`, `paddle.set_device`);
nothing else branches on it, so the CPU run in CI exercises the same code a GPU run does.

Imported lazily by the `smoke` command only (it imports paddle).
"""

import json
import math
import platform
import statistics
import sys
import time
import types
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="No ccache found")
    import paddle
    import paddle.nn.functional as F

from . import params, ppconfig
from .errors import CsceError
from .gen import load_config
from .reference import reference_grad, reference_loss
from .schema import check_entry
from .weights import table_from_lists

# Tolerances, by the logits' dtype. Loss: |loss - ref| <= RTOL * |ref| + ATOL elementwise (float64 reference
# from the very logits the loss saw). Gradient: max |g - ref| <= GRAD_TOL * max |ref| (gradients are ~1/B, so
# a relative-to-the-largest bound; fp16 gradients carry fp16 rounding, unit roundoff 4.9e-4).
LOSS_RTOL = {"float32": 1e-5, "float16": 2e-3}
LOSS_ATOL = {"float32": 1e-6, "float16": 1e-4}
GRAD_TOL = {"float32": 1e-5, "float16": 1e-2}
# The synthetic class profile for --class-num: N_c = round(N_MAX * IMBALANCE ** (-c / (K - 1))), the
# exponential long-tail profile of CIFAR-LT / ImageNet-LT, imbalance 100.
SYNTHETIC_N_MAX = 1000
SYNTHETIC_IMBALANCE = 100.0
TIMING_ROUNDS = 5
GPU_INSTALL_HINT = (
    "install the GPU build: pip install 'ppcls-csce[gpu]', or paddlepaddle-gpu for your CUDA version from "
    "PaddlePaddle's own index (https://www.paddlepaddle.org.cn/en/install/quick)"
)

PASS, FAIL, UNSUPPORTED = "pass", "fail", "not supported on this device"


@dataclass
class Check:
    name: str
    status: str
    detail: str


@dataclass
class DeviceInfo:
    requested: str
    selected: str  # what paddle.set_device took, e.g. "cpu", "gpu:0"
    why: str
    name: str
    cuda: Optional[str]
    cudnn: Optional[str]
    paddle: str


@dataclass
class BuiltLoss:
    """The loss layer and what it was built from."""

    loss: Any  # CostSensitiveCE
    source: str  # one line: where the counts came from
    class_num: int  # width of the logits
    notes: List[str] = field(default_factory=list)


@dataclass
class SmokeResult:
    device: DeviceInfo
    loss: Dict[str, Any]
    run: Dict[str, Any]
    checks: List[Check]
    timing: Dict[str, Any]
    notes: List[str]

    @property
    def ok(self) -> bool:
        return all(check.status == PASS for check in self.checks)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "ok": self.ok, "device": asdict(self.device), "loss": self.loss, "run": self.run,
            "checks": [asdict(check) for check in self.checks], "timing": self.timing, "notes": self.notes,
        }

    def render(self, output_format: str = "text") -> str:
        if output_format == "json":
            return json.dumps(self.as_dict(), indent=2) + "\n"
        device, loss, run, timing = self.device, self.loss, self.run, self.timing
        lines = [
            f"smoke: {'PASS' if self.ok else 'FAIL'} "
            f"({sum(c.status == PASS for c in self.checks)} of {len(self.checks)} checks passed)",
            f"loss:    {loss['source']}",
            f"         {loss['classes']} classes, gamma {loss['gamma']:g}, "
            + (f"label smoothing epsilon {loss['epsilon']:g}" if loss["epsilon"] is not None else "no label smoothing")
            + f", reduction {loss['reduction']}"
            + (f", DRW from epoch {loss['drw_start_epoch']} x {loss['iters_per_epoch']} iterations"
               if loss["drw_start_epoch"] is not None else ""),
            f"device:  {device.selected} ({device.why}): {device.name}",
            f"         paddle {device.paddle}, CUDA {device.cuda or '-'}, cuDNN {device.cudnn or '-'}",
            f"run:     {run['steps']} forward+backward steps, logits {run['dtype']} [{run['batch_size']}, "
            f"{loss['classes']}], labels [{run['batch_size']}, 1] drawn from the class distribution, seed {run['seed']}"
            + (", under paddle.amp.auto_cast (O1, float16)" if run["amp"] else ""),
            "checks:",
        ]
        lines += [f"  {check.status:<5} {check.name}: {check.detail}" for check in self.checks]
        if timing.get("ms_per_step") is not None:
            baseline = timing["baseline_ms_per_step"]
            lines.append(
                f"timing:  CostSensitiveCE {timing['ms_per_step']:.3f} ms/step, {timing['baseline']} "
                + (f"{baseline:.3f} ms/step, ratio {timing['ratio']:.2f}" if baseline is not None else "n/a")
                + f" (forward+backward, median of {timing['rounds']} rounds of {run['steps']} steps)"
            )
        else:
            lines.append(f"timing:  not measured ({timing.get('why', 'the steps did not run')})")
        lines += [f"note:    {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


# --- building the loss ----------------------------------------------------------------------------------


@contextmanager
def _ppcls_loss_standin() -> Iterator[types.ModuleType]:
    """An empty module under the name `ppcls.loss` for the duration, the previous entry restored after."""
    name = "ppcls.loss"
    previous = sys.modules.get(name)
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        yield module
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous


def loss_namespace() -> Dict[str, Any]:
    """The names `ppcls_csce.register()` makes resolvable in PaddleClas's `ppcls.loss` namespace.

    register() runs for real against a stand-in `ppcls.loss` module, so smoke resolves a loss name
    through the very code path a user's training script does, without importing PaddleClas.
    """
    import ppcls_csce

    with _ppcls_loss_standin() as module:
        ppcls_csce.register()
        return {name: value for name, value in vars(module).items() if not name.startswith("__")}


def _where(source: Any, keys: Tuple, at_key: bool = False) -> str:
    line, _ = source.position(keys, at_key=at_key)
    return f"{source.path}:{line}"


def build_from_config(path: str) -> BuiltLoss:
    """CombinedLoss's contract: each Loss.Train entry is `Name: {weight, **params}`; weight popped, Name(**params)."""
    source = load_config(path)
    entries = source.get(("Loss", "Train"))
    if not isinstance(entries, list):
        raise CsceError(f"{_where(source, ('Loss',))}: no Loss.Train list, so PaddleClas would build no training loss")
    namespace = loss_namespace()
    notes: List[str] = []
    built: Optional[BuiltLoss] = None
    for index, name, values in ppconfig.loss_entries(source, "Train"):
        if name != params.LOSS_NAME:
            notes.append(f"Loss.Train[{index}] {name}: skipped (smoke checks {params.LOSS_NAME} only)")
            continue
        if not isinstance(values, dict) or not params.entry_is_valid(values):
            # the same rules and located messages as validate (PaddleClas itself would fail at build time)
            issue = check_entry(values)[0]
            at = _where(source, ("Loss", "Train", index, name) + tuple(issue.loc), at_key=issue.at_key)
            raise CsceError(f"{at}: Loss.Train[{index}] {name}: {issue.message}")
        kwargs = {key: value for key, value in values.items() if key != params.COMBINING_WEIGHT}  # popped, as PaddleClas does
        layer = namespace[name](**kwargs)
        if built is not None:
            notes.append(f"Loss.Train[{index}] {name}: built, not run (smoke runs the first {name})")
            continue
        class_num, keys = ppconfig.class_num(source)
        if isinstance(class_num, int) and not isinstance(class_num, bool) and class_num != layer.num_classes:
            raise CsceError(
                f"{_where(source, keys)}: {'.'.join(map(str, keys))} is {class_num} but {name} at "
                f"Loss.Train[{index}] has {layer.num_classes} counts in num_class_list; the loss would fail on the first batch"
            )
        built = BuiltLoss(layer, f"{name} from {path} Loss.Train[{index}] (weight popped, the name resolved "
                                 "as ppcls_csce.register() makes it resolvable)", layer.num_classes)
    if built is None:
        found = ", ".join(name for _, name, _ in ppconfig.loss_entries(source, "Train")) or "no loss"
        raise CsceError(
            f"{_where(source, ('Loss', 'Train'))}: Loss.Train has {found} but no {params.LOSS_NAME}; "
            f"add it with: csce-config gen --train-list LIST --config {path} --write"
        )
    built.notes = notes
    return built


def synthetic_counts(class_num: int) -> List[int]:
    """A long-tailed profile for --class-num: imbalance 100 from N_max 1000 down, exponential."""
    steps = max(class_num - 1, 1)
    return [max(1, round(SYNTHETIC_N_MAX * SYNTHETIC_IMBALANCE ** (-c / steps))) for c in range(class_num)]


def build_from_counts(counts: Sequence[int], source: str) -> BuiltLoss:
    namespace = loss_namespace()
    layer = namespace[params.LOSS_NAME](num_class_list=list(counts), gamma=params.DEFAULT_GAMMA)
    return BuiltLoss(layer, source, layer.num_classes)


def build_loss(config: Optional[str], class_num: Optional[int], train_list: Optional[str], delimiter: str = " ") -> BuiltLoss:
    if config is not None:
        return build_from_config(config)
    if train_list is not None:
        table = table_from_lists([train_list], delimiter, None, params.DEFAULT_GAMMA)
        return build_from_counts(table.num_class_list, f"{params.LOSS_NAME} with counts from {train_list} ({table.summary()})")
    assert class_num is not None
    return build_from_counts(
        synthetic_counts(class_num),
        f"{params.LOSS_NAME} with synthetic long-tailed counts N_c = round({SYNTHETIC_N_MAX} * "
        f"{SYNTHETIC_IMBALANCE:g}^(-c/(K-1))) (imbalance {SYNTHETIC_IMBALANCE:g}), gamma {params.DEFAULT_GAMMA:g}",
    )


# --- the device: chosen here and nowhere else -----------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _build_version(value: str) -> Optional[str]:
    return None if value in ("False", "", "0") else value


def select_device(requested: str) -> DeviceInfo:
    """Pick the device, set it with paddle.set_device (the one place), and say which and why."""
    compiled = paddle.is_compiled_with_cuda()
    visible = paddle.device.cuda.device_count() if compiled else 0
    if requested == "gpu" and not compiled:
        raise CsceError(f"--device gpu: this paddle ({paddle.__version__}) is a CPU-only build, compiled without CUDA; {GPU_INSTALL_HINT}")
    if requested == "gpu" and visible == 0:
        raise CsceError("--device gpu: paddle has CUDA but sees no GPU (check the driver and CUDA_VISIBLE_DEVICES)")
    if requested == "cpu":
        target, why = "cpu", "asked for"
    elif requested == "gpu":
        target, why = "gpu:0", "asked for"
    elif visible:
        target, why = "gpu:0", f"auto: took the GPU, {visible} visible"
    else:
        target = "cpu"
        why = "auto: took the CPU, " + ("paddle has CUDA but sees no GPU" if compiled else "this paddle is built without CUDA")
    paddle.set_device(target)
    selected_name = str(paddle.device.get_device())
    name = paddle.device.cuda.get_device_name() if selected_name.startswith("gpu") else cpu_model()
    return DeviceInfo(
        requested, selected_name, why, name,
        _build_version(str(paddle.version.cuda())), _build_version(str(paddle.version.cudnn())), paddle.__version__,
    )


# --- the run --------------------------------------------------------------------------------------------------


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
                value, grad = _forward_backward(lambda x, y: layer(x, y)[params.LOSS_KEY], batch)
            got = np.asarray(value.numpy(), dtype=np.float64)
            got_grad = np.asarray(grad.numpy(), dtype=np.float64)
        except Exception as error:  # noqa: BLE001 - a device/kernel failure is what smoke reports
            status = UNSUPPORTED if amp and _missing_kernel(error) else FAIL
            return [Check("steps", status, f"{dtype} logits, step {step + 1} of {len(batches)}: {_first_line(error)}")], False
        grad_dtypes.add(str(grad.dtype).split(".")[-1])
        if not (np.all(np.isfinite(got)) and np.all(np.isfinite(got_grad))):
            bad_finite.append(step + 1)
            continue
        gamma = layer.gamma if weighted else 0.0  # gamma 0: all weights 1, plain cross-entropy
        x64 = batch.logits.astype(np.float64)
        ref = reference_loss(x64, batch.label, counts, gamma, layer.epsilon, layer.reduction)
        ref_grad = reference_grad(x64, batch.label, counts, gamma, layer.epsilon, layer.reduction)
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
    ours = lambda x, y: layer(x, y)[params.LOSS_KEY]  # noqa: E731
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


def run(config: Optional[str] = None, class_num: Optional[int] = None, train_list: Optional[str] = None,
        delimiter: str = " ", device: str = "auto", steps: int = 10, batch_size: int = 256, amp: bool = False,
        seed: int = 0) -> SmokeResult:
    """Build, place, run and check; a bad source or device raises CsceError (one line, exit 1)."""
    previous_device = paddle.device.get_device()
    try:
        info = select_device(device)
        # Built after the device is set, as PaddleClas does: the weights are created where the layer is.
        built = build_loss(config, class_num, train_list, delimiter)
        layer = built.loss
        dtype = "float16" if amp else "float32"
        notes = list(built.notes)
        batches = make_batches(layer.num_class_list, built.class_num, batch_size, steps, seed, dtype)
        checks, ran = run_checks(built, batches, dtype, amp, notes)
        checks.append(check_placement(layer, batches[0]))
        timing: Dict[str, Any] = (time_against_plain(layer, batches, amp, notes) if ran and all(c.status == PASS for c in checks)
                                  else {"ms_per_step": None, "why": "a check failed"})
    finally:
        paddle.set_device(previous_device)
    loss_info = {
        "source": built.source, "classes": built.class_num, "gamma": layer.gamma, "epsilon": layer.epsilon,
        "reduction": layer.reduction, "drw_start_epoch": layer.drw_start_epoch, "iters_per_epoch": layer.iters_per_epoch,
    }
    run_info = {"steps": steps, "batch_size": batch_size, "dtype": dtype, "amp": amp, "seed": seed}
    return SmokeResult(info, loss_info, run_info, checks, timing, notes)
