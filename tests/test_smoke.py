"""`csce-config smoke` on the CPU with the real paddle: output formats, configs from gen, bad input, device choice."""

import json
import re
from pathlib import Path
from typing import List

import numpy as np
import pytest
from click.testing import CliRunner, Result

pytest.importorskip("paddle", reason="smoke runs paddle: pip install -e '.[paddle]'")
from ppcls_csce import smoke  # noqa: E402
from ppcls_csce.cli import cli  # noqa: E402
from ppcls_csce.errors import ProblemsError  # noqa: E402

from conftest import EXAMPLES, write_list  # noqa: E402

# The bundled example (no PaddleClas checkout needed): 10 classes, CELoss with epsilon 0.1 in Loss.Train and
# Loss.Eval, ImageNetDataset, batch 64, drop_last False.
EXAMPLE_CONFIG = EXAMPLES / "ResNet18_longtail.yaml"
COUNTS = [500, 300, 180, 108, 65, 39, 23, 14, 8, 5]
SMALL = ["--steps", "2", "--batch-size", "16"]


def invoke(args: List[str]) -> Result:
    return CliRunner().invoke(cli, ["smoke", *args])


def only_loss(report: dict) -> dict:
    """The one loss run of a report (a config with one loss entry, --class-num, --train-list)."""
    assert len(report["losses"]) == 1, report["losses"]
    return report["losses"][0]


def checks_of(result: Result) -> dict:
    return {check["name"]: check for check in only_loss(json.loads(result.stdout))["checks"]}


def gen_config(tmp_path: Path, *extra: str) -> Path:
    """A config the way a user gets one: `csce-config gen --config EXAMPLE -o`; without DRW (`--drw-epoch 1`, gen's
    opt-out of its default) unless `extra` gives a --drw-epoch."""
    if "--drw-epoch" not in extra:
        extra = (*extra, "--drw-epoch", "1")
    train_list = write_list(tmp_path / "train_list.txt", COUNTS)
    output = tmp_path / "config.yaml"
    result = CliRunner().invoke(
        cli, ["gen", "--train-list", str(train_list), "--config", str(EXAMPLE_CONFIG), "-o", str(output), *extra]
    )
    assert result.exit_code == 0, result.stderr
    return output


def test_text_report_on_cpu() -> None:
    result = invoke(["--class-num", "7", "--device", "cpu", *SMALL])
    assert result.exit_code == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith("smoke: PASS")
    assert "7 classes" in out and "synthetic long-tailed counts" in out
    assert "device:  cpu (asked for)" in out
    assert f"paddle {smoke.paddle.__version__}" in out
    for name in ("steps", "finite", "reference loss", "reference gradient", "weights on device"):
        assert f"pass  {name}:" in out
    assert "ms/step" in out and "ratio" in out


def test_json_report_and_auto_takes_cpu_without_cuda() -> None:
    result = invoke(["--class-num", "12", "--format", "json", *SMALL])
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["device"]["requested"] == "auto"
    assert report["device"]["selected"] == "cpu"
    assert "built without CUDA" in report["device"]["why"]
    assert report["device"]["cuda"] is None and report["device"]["paddle"] == smoke.paddle.__version__
    assert only_loss(report)["loss"]["classes"] == 12 and report["run"]["dtype"] == "float32"
    assert {check["status"] for check in only_loss(report)["checks"]} == {"pass"} and report["checks"] == []
    assert "Place(cpu)" in checks_of(result)["weights on device"]["detail"]
    timing = only_loss(report)["timing"]
    assert timing["ms_per_step"] > 0 and timing["baseline_ms_per_step"] > 0
    assert timing["ratio"] == pytest.approx(timing["ms_per_step"] / timing["baseline_ms_per_step"])


def test_config_built_by_gen_with_drw(tmp_path: Path) -> None:
    config = gen_config(tmp_path, "--drw-epoch", "2")
    result = invoke(["--config", str(config), "--format", "json", "--steps", "4", "--batch-size", "16"])
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    loss = only_loss(report)["loss"]
    assert loss["classes"] == 10 and loss["epsilon"] == pytest.approx(0.1)  # gen kept CELoss's label smoothing
    # 1242 images, batch 64, drop_last False: 20 iterations per epoch, CS_CE from training step 20.
    assert (loss["drw_start_epoch"], loss["iters_per_epoch"]) == (2, 20)
    checks = checks_of(result)
    assert checks["DRW"]["status"] == "pass" and "step counter 22 (expected 22)" in checks["DRW"]["detail"]
    assert checks["reference loss"]["status"] == "pass"


def test_config_reports_other_losses_as_skipped(tmp_path: Path) -> None:
    config = gen_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    marker = "    - CostSensitiveCE:"
    config.write_text(text.replace(marker, "    - CenterLoss:\n        weight: 0.1\n" + marker, 1), encoding="utf-8")
    result = invoke(["--config", str(config), *SMALL])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Loss.Train[0] CenterLoss: skipped (smoke checks CostSensitiveCE, ClassBalancedCE or BalancedSoftmaxCE only)" in result.stdout
    assert "CostSensitiveCE from" in result.stdout and "Loss.Train[1]" in result.stdout


# Loss.Train of several_losses_config: the three losses, in this order, each with its own strength.
SEVERAL = [("CostSensitiveCE", "gamma", 0.5), ("BalancedSoftmaxCE", "tau", 1.5), ("ClassBalancedCE", "beta", 0.99)]
PER_LOSS_CHECKS = ["steps", "finite", "reference loss", "reference gradient", "weights on device"]


def several_losses_config(tmp_path: Path, *extra: str) -> Path:
    """gen's config with its Loss.Train entry repeated once per loss of SEVERAL (CostSensitiveCE's block renamed)."""
    config = gen_config(tmp_path, *extra)
    text = config.read_text(encoding="utf-8")
    start, end = text.index("  Train:\n") + len("  Train:\n"), text.index("  Eval:\n")
    entry = text[start:end]
    assert entry.startswith("    - CostSensitiveCE:\n") and entry.count("gamma: 1.0") == 1
    entries = "".join(entry.replace("CostSensitiveCE", name).replace("gamma: 1.0", f"{strength}: {value}")
                      for name, strength, value in SEVERAL)
    config.write_text(text[:start] + entries + text[end:], encoding="utf-8")
    return config


@pytest.mark.parametrize("drw", [False, True])
def test_config_with_several_losses_runs_each(tmp_path: Path, drw: bool) -> None:
    """Every loss of Loss.Train is built, run and checked against its own reference, and reported, in order."""
    config = several_losses_config(tmp_path, *(["--drw-epoch", "2"] if drw else []))
    result = invoke(["--config", str(config), "--format", "json", "--steps", "4", "--batch-size", "16"])
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    runs = report["losses"]
    assert [(run["loss"]["name"], run["loss"][strength]) for run, (_, strength, _) in zip(runs, SEVERAL)] == [
        (name, pytest.approx(value)) for name, _, value in SEVERAL]
    assert len(runs) == len(SEVERAL)
    for index, run in enumerate(runs):
        assert f"Loss.Train[{index}]" in run["loss"]["source"]
        checks = {check["name"]: check for check in run["checks"]}
        assert list(checks) == PER_LOSS_CHECKS[:4] + (["DRW"] if drw else []) + PER_LOSS_CHECKS[4:]
        assert {check["status"] for check in checks.values()} == {"pass"}
        assert "4 forward+backward steps ran" in checks["steps"]["detail"]
        assert "over 4 step(s)" in checks["reference loss"]["detail"]
        assert run["timing"]["ms_per_step"] > 0
    assert not any("not run" in message for message in report["notes"])
    text = invoke(["--config", str(config), *SMALL])
    assert text.exit_code == 0, text.stdout + text.stderr
    per_loss = len(PER_LOSS_CHECKS) + drw
    assert text.stdout.startswith(f"smoke: PASS ({3 * per_loss} of {3 * per_loss} checks passed, 3 losses)")
    for index, (name, strength, value) in enumerate(SEVERAL):
        assert f"loss:    {name} from {config} Loss.Train[{index}]" in text.stdout
        assert f"{strength} {value:g}" in text.stdout and f"timing:  {name} " in text.stdout
    assert text.stdout.count("pass  reference gradient:") == 3


def test_config_with_several_losses_fails_on_any(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong second loss fails the run, though the first is right: smoke runs past the first entry."""
    from ppcls_csce.smoke import checks

    config = several_losses_config(tmp_path)
    real = checks.reference_for

    def moved(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        loss, grad = real(name, *args, **kwargs)
        return (np.asarray(loss) * 1.01 if name == "BalancedSoftmaxCE" else loss), grad

    monkeypatch.setattr(checks, "reference_for", moved)
    result = invoke(["--config", str(config), "--format", "json", *SMALL])
    assert result.exit_code == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    failed = [[check["name"] for check in run["checks"] if check["status"] != "pass"] for run in report["losses"]]
    assert report["ok"] is False and failed == [[], ["reference loss"], []]
    assert [run["timing"]["ms_per_step"] is None for run in report["losses"]] == [False, True, False]


@pytest.mark.parametrize(("name", "strength", "value", "key"), [
    ("CostSensitiveCE", "gamma", 0.5, "CS_CELoss"),
    ("ClassBalancedCE", "beta", 0.99, "ClassBalancedCELoss"),
    ("BalancedSoftmaxCE", "tau", 1.5, "BalancedSoftmaxCELoss"),
])
@pytest.mark.parametrize("drw", [False, True])
def test_config_with_each_loss(tmp_path: Path, name: str, strength: str, value: float, key: str, drw: bool) -> None:
    """The config's loss is the one built and checked against its own float64 reference (values, gradients)."""
    config = gen_config(tmp_path, *(["--drw-epoch", "2"] if drw else []))
    text = config.read_text(encoding="utf-8")
    assert text.count("- CostSensitiveCE:") == 2 and text.count("gamma: 1.0") == 2  # Train and Eval
    config.write_text(text.replace("- CostSensitiveCE:", f"- {name}:").replace("gamma: 1.0", f"{strength}: {value}"),
                      encoding="utf-8")
    result = invoke(["--config", str(config), "--format", "json", "--steps", "4", "--batch-size", "16"])
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    loss = only_loss(report)["loss"]
    assert loss["name"] == name and loss[strength] == pytest.approx(value)
    assert loss["source"].startswith(f"{name} from {config}")
    checks = checks_of(result)
    assert {check["status"] for check in checks.values()} == {"pass"}
    assert "over 4 step(s)" in checks["reference loss"]["detail"]
    assert ("DRW" in checks) == drw
    text_result = invoke(["--config", str(config), *SMALL])
    assert text_result.exit_code == 0 and f"{strength} {value:g}" in text_result.stdout
    assert f"timing:  {name} " in text_result.stdout


def test_each_loss_checked_against_its_own_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ClassBalancedCE config compared with the CostSensitiveCE formula must fail: the reference is per loss."""
    from ppcls_csce.smoke import checks

    config = gen_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("- CostSensitiveCE:", "- ClassBalancedCE:").replace("gamma: 1.0", "beta: 0.99"),
                      encoding="utf-8")
    real = checks.reference_for
    monkeypatch.setattr(checks, "reference_for",
                        lambda name, *args, **kwargs: real("CostSensitiveCE", *args[:3], 1.0, *args[4:], **kwargs))
    result = invoke(["--config", str(config), *SMALL])
    assert result.exit_code == 1 and "fail  reference loss:" in result.stdout


def test_train_list_counts(tmp_path: Path) -> None:
    train_list = write_list(tmp_path / "train.txt", COUNTS, delimiter="\t")
    result = invoke(["--train-list", str(train_list), "--delimiter", "\\t", "--format", "json", *SMALL])
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    loss = only_loss(report)["loss"]
    assert loss["classes"] == 10 and str(train_list) in loss["source"]


def test_amp_fp16_logits_on_cpu() -> None:
    result = invoke(["--class-num", "10", "--amp", "--format", "json", *SMALL])
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["run"]["dtype"] == "float16"
    checks = checks_of(result)
    assert checks["fp16"]["status"] == "pass"
    assert "gradient float16" in checks["steps"]["detail"]
    assert "rtol 0.002" in checks["reference loss"]["detail"]


def test_config_without_cs_ce(tmp_path: Path) -> None:
    result = invoke(["--config", str(EXAMPLE_CONFIG), *SMALL])
    assert result.exit_code == 1
    assert result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line
    assert line.startswith(f"{EXAMPLE_CONFIG}:23:3: error: Loss.Train has CELoss but none of CostSensitiveCE")
    assert "csce-config gen" in line and line.endswith(" [smoke-loss]")


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("gamma: 1.0", "gamma: -1.0", "gamma", "gamma must be a finite number >= 0"),
        ("gamma: 1.0", "gamma: 1.0\n        gama: 0.5", "gama", "unknown parameter 'gama'"),
        ("weight: 1.0", "weight: 0", "weight", "weight must be a finite number > 0"),
        ("num_class_list: [500", "num_class_list: [0", "num_class_list", "num_class_list[0] is 0"),
    ],
)
def test_wrong_config(tmp_path: Path, old: str, new: str, line: str, message: str) -> None:
    config = gen_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    start = text.index("  Train:")
    assert old in text[start:]
    text = text[:start] + text[start:].replace(old, new, 1)
    config.write_text(text, encoding="utf-8")
    expected_line = next(number for number, content in enumerate(text.splitlines(), 1)
                         if number > text[:start].count("\n") and content.strip().startswith(line + ":"))
    result = invoke(["--config", str(config), *SMALL])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert re.fullmatch(re.escape(f"{config}:{expected_line}:") + r"\d+: error: .+ \[csce-params\]\n", result.stderr)
    assert message in result.stderr


def test_class_num_mismatch(tmp_path: Path) -> None:
    config = gen_config(tmp_path)
    config.write_text(config.read_text(encoding="utf-8").replace("class_num: 10", "class_num: 12", 1), encoding="utf-8")
    result = invoke(["--config", str(config), *SMALL])
    assert result.exit_code == 1
    assert "num_class_list has 10 counts but Arch.class_num is 12" in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(line.endswith(" [csce-class-count]") for line in lines)  # Train and Eval


def test_gpu_without_cuda() -> None:
    assert not smoke.paddle.is_compiled_with_cuda()  # this machine's paddle is the CPU build
    result = invoke(["--class-num", "5", "--device", "gpu"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "--device gpu: this paddle" in result.stderr and "compiled without CUDA" in result.stderr
    assert "pip install 'ppcls-csce[gpu]'" in result.stderr and "paddlepaddle-gpu" in result.stderr


def test_failed_check_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loss that disagrees with the reference must fail the run (here: the reference is moved 1%)."""
    from ppcls_csce.smoke import checks

    real = checks.reference_for

    def moved(*args, **kwargs):  # type: ignore[no-untyped-def]
        loss, grad = real(*args, **kwargs)
        return np.asarray(loss) * 1.01, grad

    monkeypatch.setattr(checks, "reference_for", moved)
    result = invoke(["--class-num", "6", *SMALL])
    assert result.exit_code == 1
    assert result.stdout.startswith("smoke: FAIL")
    assert "fail  reference loss:" in result.stdout and "outside it at step(s) [1, 2]" in result.stdout
    assert "timing:  not measured" in result.stdout


@pytest.mark.parametrize(
    "args",
    [[], ["--class-num", "5", "--config", "x.yaml"], ["--class-num", "5", "--delimiter", ","]],
)
def test_usage_errors(args: List[str]) -> None:
    result = invoke(args)
    assert result.exit_code == 2


def test_device_left_as_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """smoke sets the device for its run only (it is process-wide in paddle), also when the run fails."""
    before = smoke.paddle.device.get_device()
    calls: List[str] = []
    real = smoke.paddle.set_device
    monkeypatch.setattr(smoke.paddle, "set_device", lambda target: (calls.append(target), real(target))[1])
    smoke.run(class_num=4, steps=1, batch_size=4, device="cpu")
    assert calls == ["cpu", before] and smoke.paddle.device.get_device() == before
    calls.clear()
    with pytest.raises(ProblemsError):  # the config is read after the device is set
        smoke.run(config=str(tmp_path / "missing.yaml"), steps=1, batch_size=4, device="cpu")
    assert calls == ["cpu", before]


def test_device_set_in_one_place() -> None:
    """paddle is told the device in smoke/device.py only, so every run takes the same path to it."""
    package = Path(smoke.__file__).parent.parent
    callers = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                     if "set_device" in path.read_text(encoding="utf-8"))
    assert callers == ["smoke/device.py"]


def test_synthetic_counts_long_tailed() -> None:
    counts = smoke.synthetic_counts(11)
    assert counts[0] == 1000 and counts[-1] == 10 and counts == sorted(counts, reverse=True)
    assert smoke.synthetic_counts(1) == [1000]


# --- the config's own batch size and card count --------------------------------------------------------------------

DRIFT_WORDS = ("deferred re-weighting is configured", "set iters_per_epoch")


def example_config(tmp_path: Path, *extra: str) -> Path:
    """The bundled ResNet18 example (batch_size 64, 2480 images) made CostSensitiveCE with DRW from epoch 2."""
    output = tmp_path / "example.yaml"
    result = CliRunner().invoke(cli, ["gen", "--train-list", str(EXAMPLES / "train_list.txt"), "--config",
                                      str(EXAMPLE_CONFIG), "-o", str(output), "--drw-epoch", "2",
                                      *extra])
    assert result.exit_code == 0, result.stderr
    return output


def test_config_runs_at_its_own_batch_size_without_a_drift_warning(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    config = example_config(tmp_path)
    result = invoke(["--config", str(config), "--format", "json", "--steps", "2"])
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert (report["run"]["batch_size"], report["run"]["batch_size_from"], report["run"]["world_size"]) == (
        64, "the config", 1)
    loss = only_loss(report)["loss"]
    assert (loss["drw_start_epoch"], loss["iters_per_epoch"]) == (2, 39)  # ceil(2480 / 64)
    assert "before the switch at training step 39" in checks_of(result)["DRW"]["detail"]
    said = result.stderr + caplog.text
    assert not any(words in said for words in DRIFT_WORDS), said


def test_batch_size_option_overrides_the_steps_not_the_schedule(tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    config = example_config(tmp_path)
    result = invoke(["--config", str(config), "--steps", "2", "--batch-size", "16"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "logits float32 [16, 10], labels [16, 1]" in result.stdout
    assert "batch size 16 per card: --batch-size (the config's schedule is still checked for its own)" in result.stdout
    said = result.stderr + caplog.text
    assert not any(words in said for words in DRIFT_WORDS), said


def test_world_size_checks_the_schedule_for_those_cards(tmp_path: Path) -> None:
    one_card = example_config(tmp_path)
    result = invoke(["--config", str(one_card), "--steps", "2", "--world-size", "4"])
    assert result.exit_code == 1 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.endswith("[csce-drw-schedule]") and "iters_per_epoch is 39 but this config gives 10" in line
    assert "on 4 cards" in line and "set iters_per_epoch" not in line
    four_cards = tmp_path / "four"
    four_cards.mkdir()
    config = example_config(four_cards, "--world-size", "4")
    result = invoke(["--config", str(config), "--format", "json", "--steps", "2", "--world-size", "4"])
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert (report["run"]["batch_size"], report["run"]["world_size"]) == (64, 4)
    assert only_loss(report)["loss"]["iters_per_epoch"] == 10  # ceil(ceil(2480 / 4) / 64)
    assert invoke(["--config", str(config), "--steps", "2"]).exit_code == 1  # the same config on 1 card: wrong


def test_without_a_config_the_batch_defaults_to_256() -> None:
    result = invoke(["--class-num", "3", "--format", "json", "--steps", "1"])
    assert result.exit_code == 0, result.stderr
    run = json.loads(result.stdout)["run"]
    assert (run["batch_size"], run["batch_size_from"], run["world_size"]) == (256, "default", 1)
