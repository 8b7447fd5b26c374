"""smoke's result: the checks, the device, the run and the timing, as text or JSON (no paddle here)."""

import json
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional

from ..report import note

PASS, FAIL, UNSUPPORTED = "pass", "fail", "not supported on this device"
_BATCH_FROM = {"the config": "the config's DataLoader.Train.sampler.batch_size",
               "--batch-size": "--batch-size (the config's schedule is still checked for its own)",
               "default": "the default (no config batch size)"}


@dataclass
class Check:
    name: str
    status: str
    detail: str

    def render(self) -> str:
        return f"  {self.status:<5} {self.name}: {self.detail}"


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
class LossRun:
    """One loss of the config: what was built, its checks, its timing."""

    loss: Dict[str, Any]
    checks: List[Check]
    timing: Dict[str, Any]

    def render(self, run: Dict[str, Any]) -> List[str]:
        loss, timing = self.loss, self.timing
        lines = [
            f"loss:    {loss['source']}",
            f"         {loss['classes']} classes, {loss['strength']} {loss[loss['strength']]:g}, "
            + (f"label smoothing epsilon {loss['epsilon']:g}" if loss["epsilon"] is not None else "no label smoothing")
            + f", reduction {loss['reduction']}"
            + (f", DRW from epoch {loss['drw_start_epoch']} x {loss['iters_per_epoch']} iterations"
               if loss["drw_start_epoch"] is not None else ""),
            "checks:",
        ]
        lines += [check.render() for check in self.checks]
        if timing.get("ms_per_step") is not None:
            baseline = timing["baseline_ms_per_step"]
            lines.append(
                f"timing:  {loss['name']} {timing['ms_per_step']:.3f} ms/step, {timing['baseline']} "
                + (f"{baseline:.3f} ms/step, ratio {timing['ratio']:.2f}" if baseline is not None else "n/a")
                + f" (forward+backward, median of {timing['rounds']} rounds of {run['steps']} steps)"
            )
        else:
            lines.append(f"timing:  not measured ({timing.get('why', 'the steps did not run')})")
        return lines


@dataclass
class SmokeResult:
    device: DeviceInfo
    run: Dict[str, Any]
    losses: List[LossRun]  # every loss of Loss.Train smoke builds, in order (one without --config)
    checks: List[Check]  # of the run as a whole (the --paddleclas install)
    notes: List[str]

    @property
    def _drw(self) -> bool:
        return any(loss.loss.get("drw_start_epoch") is not None for loss in self.losses)

    @property
    def all_checks(self) -> List[Check]:
        return self.checks + [check for loss in self.losses for check in loss.checks]

    @property
    def ok(self) -> bool:
        return all(check.status == PASS for check in self.all_checks)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "ok": self.ok, "device": asdict(self.device), "run": self.run,
            "losses": [asdict(loss) for loss in self.losses],
            "checks": [asdict(check) for check in self.checks], "notes": self.notes,
        }

    def render(self, output_format: str = "text") -> str:
        if output_format == "json":
            return json.dumps(self.as_dict(), indent=2) + "\n"
        device, run, checks = self.device, self.run, self.all_checks
        widths = "/".join(dict.fromkeys(str(loss.loss["classes"]) for loss in self.losses))
        lines = [
            f"smoke: {'PASS' if self.ok else 'FAIL'} ({sum(c.status == PASS for c in checks)} of {len(checks)} checks "
            f"passed" + (f", {len(self.losses)} losses" if len(self.losses) > 1 else "") + ")",
            f"device:  {device.selected} ({device.why}): {device.name}",
            f"         paddle {device.paddle}, CUDA {device.cuda or '-'}, cuDNN {device.cudnn or '-'}",
            f"run:     {run['steps']} forward+backward steps, logits {run['dtype']} [{run['batch_size']}, "
            f"{widths}], labels [{run['batch_size']}, 1] drawn from the class distribution, seed {run['seed']}"
            + (", under paddle.amp.auto_cast (O1, float16)" if run["amp"] else ""),
            f"         batch size {run['batch_size']} per card: {_BATCH_FROM[run['batch_size_from']]}; "
            f"{run['world_size']} card{'s' if run['world_size'] > 1 else ''} (--world-size)"
            + (", the DRW schedule checked for the config's batch size on them" if self._drw else ""),
        ]
        lines += [check.render() for check in self.checks]
        for loss in self.losses:
            lines += loss.render(run)
        lines += [note(message).as_text() for message in self.notes]  # report.py renders notes
        return "\n".join(lines) + "\n"
