"""smoke's result: the checks, the device, the run and the timing, as text or JSON (no paddle here)."""

import json
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional

from ..report import note

PASS, FAIL, UNSUPPORTED = "pass", "fail", "not supported on this device"


@dataclass
class Check:
    name: str
    status: str
    detail: str


@dataclass
class DeviceInfo:
    requested: str
    selected: str  # the device paddle took, e.g. "cpu", "gpu:0"
    why: str
    name: str
    cuda: Optional[str]
    cudnn: Optional[str]
    paddle: str


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
            f"         {loss['classes']} classes, {loss['strength']} {loss[loss['strength']]:g}, "
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
                f"timing:  {loss['name']} {timing['ms_per_step']:.3f} ms/step, {timing['baseline']} "
                + (f"{baseline:.3f} ms/step, ratio {timing['ratio']:.2f}" if baseline is not None else "n/a")
                + f" (forward+backward, median of {timing['rounds']} rounds of {run['steps']} steps)"
            )
        else:
            lines.append(f"timing:  not measured ({timing.get('why', 'the steps did not run')})")
        lines += [note(message).as_text() for message in self.notes]  # report.py renders notes
        return "\n".join(lines) + "\n"
