"""The device smoke runs on: chosen, set and restored here and nowhere else (`on_device`), so the CPU run in CI
exercises the same code a GPU run does."""

import platform
from contextlib import contextmanager
from typing import Iterator, Optional

from ..errors import CsceError
from ..shell import command
from . import paddle
from .result import DeviceInfo

GPU_INSTALL_HINT = (
    f"install the GPU build: {command('pip', 'install', 'ppcls-csce[gpu]')}, or paddlepaddle-gpu for your CUDA version from "
    "PaddlePaddle's own index (https://www.paddlepaddle.org.cn/en/install/quick)"
)


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
    """Pick the device, set it in paddle, and say which and why."""
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


@contextmanager
def on_device(requested: str) -> Iterator[DeviceInfo]:
    """select_device for the block, then paddle's previous device back: paddle's device is process-wide, and smoke
    runs in the caller's process (tests, a notebook)."""
    previous = paddle.device.get_device()
    try:
        yield select_device(requested)
    finally:
        paddle.set_device(previous)
