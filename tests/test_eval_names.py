"""rules/eval_names.py: every place PaddleClas eval()s a name is checked, as Python sees the name (NFKC), and
look-alikes are warned about; places PaddleClas does not eval() are left alone."""

import subprocess
import sys
from typing import Any, Dict, List, Tuple

import pytest
import yaml

from ppcls_csce.rules.eval_names import lookalike_problem, name_problem
from ppcls_csce.validate import validate_text

# A name that reads as plain text but is Python's `open` (full-width letters), and one with a Cyrillic С.
FULLWIDTH_OPEN = "\uff4f\uff50\uff45\uff4e"
CYRILLIC = "\u0421ELoss"


def site_config(site: str, name: str) -> Tuple[Dict[str, Any], str]:
    """A config with `name` at one place PaddleClas eval()s, and the dotted path the message starts with."""
    base: Dict[str, Any] = {"Arch": {"name": "ResNet18", "class_num": 4}}
    if site == "loss":
        base["Loss"] = {"Train": [{name: {"weight": 1.0}}]}
        return base, "Loss.Train.0"
    if site == "eval-loss":
        base["Loss"] = {"Eval": [{"CELoss": {"weight": 1.0}}, {name: {"weight": 1.0}}]}
        return base, "Loss.Eval.1"
    if site == "unlabel-loss":
        base["UnLabelLoss"] = {"Train": [{name: {"weight": 1.0}}]}
        return base, "UnLabelLoss.Train.0"
    if site == "base_loss_name":
        base["Loss"] = {"Train": [{"DistillationDMLLoss": {"weight": 1.0, "base_loss_name": name}}]}
        return base, "Loss.Train.0.DistillationDMLLoss.base_loss_name"
    if site == "unlabel-base_loss_name":
        base["UnLabelLoss"] = {"Train": [{"DistillationDMLLoss": {"weight": 1.0, "base_loss_name": name}}]}
        return base, "UnLabelLoss.Train.0.DistillationDMLLoss.base_loss_name"
    if site == "metric":
        base["Metric"] = {"Eval": [{name: {"topk": [1, 5]}}]}
        return base, "Metric.Eval.0"
    if site in ("dataset", "sampler"):
        base["DataLoader"] = {"Train": {"dataset": {"name": "ImageNetDataset"}, "sampler": {"name": "BatchSampler"}}}
        base["DataLoader"]["Train"][site]["name"] = name
        return base, f"DataLoader.Train.{site}.name"
    if site == "opsampler":
        base["DataLoader"] = {"Train": {"dataset": {"name": "ImageNetDataset", "batch_transform_ops": [
            {"OpSampler": {"MixupOperator": {"alpha": 0.8}, name: {"alpha": 1.0}}}]}}}
        return base, "DataLoader.Train.dataset.batch_transform_ops.0.OpSampler"
    if site == "randomapply":
        base["DataLoader"] = {"Train": {"dataset": {"name": "ImageNetDataset", "transform_ops": [
            {"RandomApply": {"transforms": [{name: {"p": 0.5}}]}}]}}}
        return base, "DataLoader.Train.dataset.transform_ops.0.RandomApply.transforms.0"
    if site == "backbone":
        base["Arch"] = {"name": "RecModel", "Backbone": {"name": name}, "Head": {"name": "FC", "class_num": 4}}
        return base, "Arch.Backbone.name"
    if site == "models":
        base["Arch"] = {"name": "DistillationModel", "models": [
            {"Teacher": {"name": "ResNet50"}}, {"Student": {"name": name, "class_num": 4}}]}
        return base, "Arch.models.1.Student.name"
    if site == "models-backbone":
        base["Arch"] = {"name": "DistillationModel", "models": [
            {"Teacher": {"name": "RecModel", "Backbone": {"name": name}}}]}
        return base, "Arch.models.0.Teacher.Backbone.name"
    if site == "arch-act":
        base["Arch"] = {"name": "SVTRNet", "act": name}
        return base, "Arch.act"
    if site == "postprocess":
        base["Infer"] = {"PostProcess": {"name": "DistillationPostProcess", "func": name}}
        return base, "Infer.PostProcess.func"
    raise AssertionError(site)


SITES = ["loss", "eval-loss", "unlabel-loss", "base_loss_name", "unlabel-base_loss_name", "metric", "dataset",
         "sampler", "opsampler", "randomapply", "backbone", "models", "models-backbone", "arch-act", "postprocess"]


def problems_of(data: Dict[str, Any]) -> List[Tuple[str, str, str]]:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return [(p.rule, p.severity, p.message) for p in validate_text(text, "c.yaml")
            if p.rule.startswith("eval-")]


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("name", ["open", FULLWIDTH_OPEN, "__import__('os').system('id')"])
def test_every_evaluated_place_refuses_a_dangerous_name(site: str, name: str) -> None:
    data, where = site_config(site, name)
    found = problems_of(data)
    assert len(found) == 1 and found[0][:2] == ("eval-name", "error"), found
    assert found[0][2].startswith(f"{where}: "), found
    assert "(security)" in found[0][2]


@pytest.mark.parametrize("site", SITES)
def test_every_evaluated_place_warns_about_a_lookalike_and_passes_a_plain_name(site: str) -> None:
    data, where = site_config(site, CYRILLIC)
    found = problems_of(data)
    assert found == [("eval-name-lookalike", "warning", f"{where}: {lookalike_problem(CYRILLIC)}")]
    plain, _ = site_config(site, "CELoss")
    assert problems_of(plain) == []


@pytest.mark.parametrize("data", [
    {"Global": {"base_loss_name": "open"}},  # base_loss_name is eval()'d only inside a loss
    {"Arch": {"name": "ResNet18", "Head": {"name": "open"}}},  # a Head name is checked against a fixed list
    {"Arch": {"name": "DistillationModel", "models": [{"Teacher": {"name": "R", "Neck": {"name": "open"}}}]}},
    {"Arch": {"name": "DistillationModel", "models": [{"Teacher": {"name": "R", "x": {"y": {"name": "open"}}}}]}},
    {"Optimizer": {"name": "open"}},  # getattr, not eval
    {"Infer": {"transforms": [{"func": "open"}]}},  # func is eval()'d only as Infer.PostProcess.func
])
def test_places_paddleclas_does_not_eval_are_not_flagged(data: Dict[str, Any]) -> None:
    assert problems_of(data) == []


@pytest.mark.parametrize("name, builtin", [(FULLWIDTH_OPEN, "open"), ("\u212fval", "eval"), ("\u1d52pen", "open"),
                                           ("\uff47\uff4c\uff4f\uff42\uff41\uff4c\uff53", "globals")])
def test_nfkc_lookalikes_of_builtins_are_the_builtins(name: str, builtin: str) -> None:
    """Python itself agrees: the normalised identifier is the builtin."""
    assert eval(f"{name}.__name__") == builtin  # noqa: S307 - a constant, to show what Python does
    why = name_problem(name)
    assert why is not None and f"builtin {builtin}()" in why and f"reads it as {builtin!r}" in why
    assert name_problem(f"nn.{name}", dotted_ok=True) is None  # only the first part is looked up in builtins
    assert name_problem(f"{name}.x", dotted_ok=True) is not None


def test_lookalike_messages() -> None:
    assert lookalike_problem("CELoss") is None
    assert lookalike_problem(CYRILLIC) == (
        "'\\u0421ELoss' has non-ASCII characters (CYRILLIC CAPITAL LETTER ES, U+0421): every PaddleClas name is "
        "ASCII, so this is a look-alike of another name, or a class that does not exist")
    assert lookalike_problem("\uff23\uff25Loss") == (
        "'\\uff23\\uff25Loss' is not the text Python looks up: it reads it as 'CELoss' (identifiers are "
        "NFKC-normalised); write 'CELoss' if that is meant")
    assert name_problem("__\uff49mport__") is not None  # a dunder once normalised


def test_fullwidth_open_really_truncates_a_file_in_eval(tmp_path) -> None:
    """Why this matters, in a child process: what PaddleClas's build_loss does with the name (eval, then call
    with the config's parameters) empties the file; validate reports it as an error, exit 1."""
    victim = tmp_path / "victim"
    victim.write_text("precious")
    code = f"eval({FULLWIDTH_OPEN!r})(file={str(victim)!r}, mode='w').close()"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    assert victim.read_text() == ""
    config = tmp_path / "c.yaml"
    config.write_text(f'Loss:\n  Train:\n    - "{FULLWIDTH_OPEN}": {{weight: 1.0, file: {victim}, mode: w}}\n',
                      encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "ppcls_csce", "validate", str(config)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert f"{config}:3:7: error: Loss.Train.0: " in done.stdout and "[eval-name]" in done.stdout
