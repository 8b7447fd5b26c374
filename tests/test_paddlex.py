"""PaddleX module configs through the public commands (no paddlex or paddle needed: tests/test_paddlex_engine.py
trains with the real PaddleX): gen writes the config PaddleX will train, validate locates problems in the module
config, install --paddlex finds PaddleX's checkout, bad input is one located line and nothing written."""

import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import yaml

from conftest import PADDLECLAS, REPO, python_cli
from ppcls_csce import dataset_names, paddlex, paddlex_rewrites
from ppcls_csce.paddlex_models import CLS_MODELS

# PaddleX's PaddleClas templates (shared/PaddleX, beside the PaddleClas checkout): PPCLS_CSCE_PADDLEX_TEMPLATES.
SHARED_PADDLEX = Path(os.environ.get("PPCLS_CSCE_PADDLEX_TEMPLATES") or (
    (PADDLECLAS.parent if PADDLECLAS else REPO.parent / "shared") / "PaddleX" / "paddlex" / "repo_apis" / "PaddleClas_api"
    / "configs"))
COUNTS = [30, 9, 4]
# A PaddleClas template shaped like PaddleX's (paddlex/repo_apis/PaddleClas_api/configs/PP-LCNet_x0_25.yaml, cut).
TEMPLATE = """\
# global configs
Global:
  checkpoints: null
  pretrained_model: null
  output_dir: ./output/
  device: gpu
  save_interval: 1
  eval_during_train: True
  eval_interval: 1
  epochs: 360
  print_batch_step: 10
Arch:
  name: PPLCNet_x0_25
  class_num: 1000
Loss:
  Train:
    - CELoss:
        weight: 1.0
        epsilon: 0.1
  Eval:
    - CELoss:
        weight: 1.0
Optimizer:
  name: Momentum
  momentum: 0.9
  lr:
    name: Cosine
    learning_rate: 0.8
    warmup_epoch: 5
DataLoader:
  Train:
    dataset:
      name: ImageNetDataset
      image_root: ./dataset/ILSVRC2012/
      cls_label_path: ./dataset/ILSVRC2012/train_list.txt
    sampler:
      name: DistributedBatchSampler
      batch_size: 512
      drop_last: False
      shuffle: True
  Eval:
    dataset:
      name: ImageNetDataset
      image_root: ./dataset/ILSVRC2012/
      cls_label_path: ./dataset/ILSVRC2012/val_list.txt
    sampler:
      name: DistributedBatchSampler
      batch_size: 64
Infer:
  PostProcess:
    name: Topk
    class_id_map_file: ppcls/utils/imagenet1k_label_list.txt
Metric:
  Eval:
    - TopkAcc:
        topk: [1, 5]
"""
# PaddleX's own module config (paddlex/configs/modules/image_classification/PP-LCNet_x0_25.yaml, 3.7.2), cut.
MODULE = """\
Global:
  model: PP-LCNet_x0_25
  mode: check_dataset # check_dataset/train/evaluate/predict
  dataset_dir: "dataset"
  device: gpu:0,1,2,3
  output: "output"

Train:
  num_classes: 3
  epochs_iters: 20
  batch_size: 4
  learning_rate: 0.1
  pretrain_weight_path: null
  warmup_steps: 2
  resume_path: null
  log_interval: 1
  eval_interval: 1
  save_interval: 1
"""


def run(cwd: Path, *args: str, env_extra: dict = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.update(env_extra or {})
    return subprocess.run(python_cli(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def write_dataset(root: Path, counts: List[int] = COUNTS, classes: int = 3) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "label.txt").write_text("".join(f"{c} name_{c}\n" for c in range(classes)))
    (root / "train.txt").write_text("".join(f"images/{c}_{i}.png {c}\n" for c, n in enumerate(counts) for i in range(n)))
    (root / "val.txt").write_text("".join(f"images/v_{c}.png {c}\n" for c in range(classes)))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    write_dataset(tmp_path / "dataset")
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    (tmp_path / "m.yaml").write_text(MODULE)
    return tmp_path


def gen(work: Path, *extra: str) -> subprocess.CompletedProcess:
    return run(work, "gen", "--config", "m.yaml", "--template", "template.yaml", "--drw-epoch", "2", "--sampler",
               "balanced", "--sampler-epoch", "2", "--metric", *extra)


def test_clsdataset_and_shiturec_are_imagenet_dataset_for_gen_and_validate(tmp_path: Path) -> None:
    write_dataset(tmp_path / "dataset")
    for name in ("ClsDataset", "ShiTuRecDataset"):
        config = TEMPLATE.replace("name: ImageNetDataset", f"name: {name}").replace(
            "./dataset/ILSVRC2012/train_list.txt", "dataset/train.txt").replace("class_num: 1000", "class_num: 3")
        (tmp_path / "c.yaml").write_text(config)
        result = run(tmp_path, "gen", "--config", "c.yaml", "--write")
        assert result.returncode == 0, result.stderr
        assert run(tmp_path, "validate", "c.yaml").returncode == 0
    (tmp_path / "c.yaml").write_text(TEMPLATE.replace("name: ImageNetDataset", "name: MLClsDataset"))
    refused = run(tmp_path, "gen", "--config", "c.yaml", "--train-list", "dataset/train.txt")
    assert refused.returncode == 1 and "[gen-dataset]" in refused.stderr


def test_the_fixed_aliases_are_what_paddleclas_binds(tmp_path: Path) -> None:
    release = PADDLECLAS.parent / "PaddleClas-release-2.5.2"  # beside the develop checkout, when there
    checkouts = [PADDLECLAS] + ([release] if (release / "ppcls").is_dir() else [])
    found = [dataset_names.imagenet_names(checkout) for checkout in checkouts]
    assert found[0] == {"ImageNetDataset", "ClsDataset", "ShiTuRecDataset"}  # develop
    assert frozenset().union(*found) <= dataset_names.KNOWN_ALIASES
    if len(found) == 2:
        assert found[1] == {"ImageNetDataset", "ClsDataset", "ShiTuDataset"}
        assert found[0] | found[1] == dataset_names.KNOWN_ALIASES
        write_dataset(tmp_path / "dataset")
        (tmp_path / "c.yaml").write_text(TEMPLATE.replace("name: ImageNetDataset", "name: ShiTuRecDataset", 1))
        result = run(tmp_path, "validate", "--paddleclas", str(release), "c.yaml")
        assert result.returncode == 1 and re.search(r"^c\.yaml:33:13: error: ShiTuRecDataset is not defined in .*"
                                                    r"\[dataset-alias\]$", result.stdout, re.M), result.stdout
        assert "ShiTuRecDataset" not in run(tmp_path, "validate", "--paddleclas", str(PADDLECLAS), "c.yaml").stdout
    assert dataset_names.aliases_in("from x import ImageNetDataset\nOld = ImageNetDataset\nNew = Old\nML = Other\n") \
        == {"ImageNetDataset", "Old", "New"}


def test_gen_writes_the_config_paddlex_will_train(work: Path) -> None:
    result = gen(work)
    assert result.returncode == 0, result.stderr
    assert (work / "m.yaml").read_text() == MODULE  # without --write the module config is not touched
    assert "-o Train.basic_config_path=m.paddleclas.yaml" in result.stderr
    written = yaml.safe_load((work / "m.paddleclas.yaml").read_text())
    root = str(work / "dataset")
    assert written["Global"]["epochs"] == 20 and written["Global"]["print_batch_step"] == 1
    assert written["Global"]["output_dir"] == str(work / "output")
    assert written["Arch"]["class_num"] == 3 and written["Arch"]["pretrained"] is False
    assert written["Optimizer"]["lr"] == {"name": "Cosine", "learning_rate": 0.1, "warmup_epoch": 2}
    for mode, listing in (("Train", "train.txt"), ("Eval", "val.txt")):
        assert written["DataLoader"][mode]["dataset"] == {"name": "ClsDataset", "image_root": root,
                                                         "cls_label_path": f"{root}/{listing}"}
    assert written["Infer"]["PostProcess"]["class_id_map_file"] == f"{root}/label.txt"
    sampler = written["DataLoader"]["Train"]["sampler"]
    assert (sampler["name"], sampler["batch_size"], sampler["power"], sampler["start_epoch"]) == ("LongTailSampler", 4, 0.0, 2)
    entry = written["Loss"]["Train"][0]["CostSensitiveCE"]
    # 4 cards from Global.device gpu:0,1,2,3: ceil(ceil(43 / 4) / 4) = 3 steps an epoch
    cards_steps = math.ceil(math.ceil(sum(COUNTS) / 4) / 4)
    assert (entry["num_class_list"], entry["drw_start_epoch"], entry["iters_per_epoch"]) == (COUNTS, 2, cards_steps)
    assert written["Metric"]["Eval"][0] == {"LongTailAcc": {"num_class_list": COUNTS}}
    text = (work / "m.paddleclas.yaml").read_text()
    assert text.startswith("# global configs\n")  # the template's text, edited in place
    one_card = gen(work, "--world-size", "1", "-o", "one.yaml")
    assert one_card.returncode == 0, one_card.stderr
    assert yaml.safe_load((work / "one.yaml").read_text())["Loss"]["Train"][0]["CostSensitiveCE"]["iters_per_epoch"] \
        == math.ceil(sum(COUNTS) / 4)


def test_gen_on_a_module_config_refuses_another_list_and_its_own_files_as_output(work: Path) -> None:
    for extra, usage in ((("--train-list", "dataset/train.txt"), "--train-list does not go with a PaddleX module "
                                                                 "config"),
                         (("--data-root", "dataset"), "--data-root does not go with a PaddleX module config")):
        done = gen(work, *extra)
        assert done.returncode == 2 and usage in done.stderr, done.stderr
    for target in ("m.yaml", "template.yaml"):
        done = gen(work, "-o", target)
        assert done.returncode == 1 and f"{target}: error: -o would replace an input ({target})" in done.stderr
    assert (work / "m.yaml").read_text() == MODULE and (work / "template.yaml").read_text() == TEMPLATE
    assert not (work / "m.paddleclas.yaml").exists()


def test_paddlex_overrides_and_write_keep_the_module_config_consistent(work: Path) -> None:
    result = gen(work, "--paddlex-override", "Train.epochs_iters=10", "--paddlex-override", "Global.device=cpu",
                 "--write")
    assert result.returncode == 0, result.stderr
    module = (work / "m.yaml").read_text()
    expected = MODULE.replace("epochs_iters: 20", "epochs_iters: 10").replace("device: gpu:0,1,2,3", "device: cpu")
    assert module == expected.replace("  save_interval: 1\n", "  save_interval: 1\n  basic_config_path: m.paddleclas.yaml\n")
    written = yaml.safe_load((work / "m.paddleclas.yaml").read_text())
    assert written["Global"]["epochs"] == 10
    assert written["Loss"]["Train"][0]["CostSensitiveCE"]["iters_per_epoch"] == math.ceil(sum(COUNTS) / 4)
    again = run(work, "gen", "--config", "m.yaml", "--drw-epoch", "2", "--sampler", "balanced", "--sampler-epoch", "2",
                "--metric", "--write")  # from basic_config_path now: the same bytes
    assert again.returncode == 0, again.stderr
    assert "unchanged m.paddleclas.yaml" in again.stderr and "unchanged m.yaml" in again.stderr
    assert run(work, "validate", "m.yaml").returncode == 0


def test_validate_locates_what_the_module_config_broke(work: Path) -> None:
    assert gen(work, "--write").returncode == 0
    module = (work / "m.yaml").read_text()
    (work / "m.yaml").write_text(module.replace("epochs_iters: 20", "epochs_iters: 1"))
    result = run(work, "validate", "m.yaml")
    assert result.returncode == 1
    assert re.search(r"^m\.yaml:10:17: error: drw_start_epoch 2 is after the last epoch, Global\.epochs 1 .*"
                     r"PaddleX sets Global\.epochs of .*m\.paddleclas\.yaml to 1 from Train\.epochs_iters\) "
                     r"\[csce-drw-schedule\]$", result.stdout, re.M), result.stdout
    (work / "m.yaml").write_text(module.replace("num_classes: 3", "num_classes: 5"))
    result = run(work, "validate", "m.yaml")
    assert result.returncode == 1
    assert re.search(r"^m\.yaml:9:16: error: Train\.num_classes is 5, but .*label\.txt has 3 classes.*"
                     r"\[paddlex-classes\]$", result.stdout, re.M), result.stdout
    (work / "m.yaml").write_text(module.replace("epochs_iters: 20", "epochs_iters: 40"))  # no problem from that
    assert run(work, "validate", "m.yaml").returncode == 0
    # two keys changed after gen: the problem is blamed on the one whose rewritten key it names
    (work / "m.yaml").write_text(module.replace("batch_size: 4", "batch_size: 2"))
    result = run(work, "validate", "m.yaml", "--paddlex-override", "Train.epochs_iters=1")
    assert re.search(r"^m\.yaml:10:17: error: drw_start_epoch 2 is after the last epoch, Global\.epochs 1 .*from "
                     r"Train\.epochs_iters\) \(set on the command line\) \[csce-drw-schedule\]$", result.stdout, re.M)
    assert re.search(r"^m\.yaml:11:15: error: iters_per_epoch is 3 but this config gives 6 iterations per epoch .*from "
                     r"Train\.batch_size\) \[csce-drw-schedule\]$", result.stdout, re.M), result.stdout


def test_validate_reports_and_fixes_stale_counts_in_the_written_config(work: Path) -> None:
    assert gen(work, "--write").returncode == 0
    with open(work / "dataset" / "train.txt", "a") as listing:
        listing.write("".join(f"images/more_{i}.png 2\n" for i in range(3)))
    result = run(work, "validate", "m.yaml")
    assert result.returncode == 1
    stale = [line for line in result.stdout.splitlines() if "[csce-stale-counts]" in line]
    assert stale and all(line.startswith("m.paddleclas.yaml:") for line in stale)
    fixed = run(work, "validate", "--fix", "m.yaml")
    assert fixed.returncode == 1 and "Fixing m.yaml" in fixed.stdout + fixed.stderr
    written = yaml.safe_load((work / "m.paddleclas.yaml").read_text())
    assert written["Loss"]["Train"][0]["CostSensitiveCE"]["num_class_list"] == [30, 9, 7]
    assert written["Metric"]["Eval"][0]["LongTailAcc"]["num_class_list"] == [30, 9, 7]
    assert run(work, "validate", "m.yaml").returncode == 0


def _nothing_written(work: Path, result: subprocess.CompletedProcess, pattern: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert re.search(pattern, lines[0]), result.stderr
    assert all(re.match(r"^\S+: error: .* \[[a-z-]+\]$", line) for line in lines), result.stderr
    assert not (work / "m.paddleclas.yaml").exists() and (work / "m.yaml").read_text() == MODULE


@pytest.mark.parametrize("module, pattern", [
    ("Global:\n  model: PP-YOLOE_plus-S\n  dataset_dir: d\nTrain:\n  num_classes: 3\n  epochs_iters: 2\n",
     r"^m\.yaml:2:10: error: (Global\.model 'PP-YOLOE_plus-S' is no PaddleX image-classification model|a PaddleX "
     r"object_detection module config): csce-config "
     r"supports PaddleX image-classification module configs only .* \[paddlex-kind\]$"),
    ("Global:\n  model: PP-LCNet_x1_0_ML\nTrain:\n  num_classes: 3\n  epochs_iters: 2\n", r"supports PaddleX image-"
     r"classification module configs only \(paddlex/configs/modules/image_classification/\*\.yaml, single-label"),
])
def test_another_kind_of_module_config_is_one_line(work: Path, module: str, pattern: str) -> None:
    (work / "m.yaml").write_text(module)
    result = gen(work)
    assert result.returncode == 1 and re.search(pattern, result.stderr.strip()), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (work / "m.paddleclas.yaml").exists()
    validated = run(work, "validate", "m.yaml")
    assert validated.returncode == 1 and re.search(pattern, validated.stdout), validated.stdout


def test_bad_datasets_and_templates_are_located_errors(work: Path) -> None:
    (work / "dataset" / "label.txt").unlink()
    _nothing_written(work, gen(work), r"^m\.yaml:4:16: error: .*dataset has no label\.txt: PaddleX's classification "
                                      r"dataset is DIR/label\.txt .* \[paddlex-dataset\]$")
    write_dataset(work / "dataset")
    with open(work / "dataset" / "train.txt", "a") as listing:
        listing.write("images/x.png 7\n")
    _nothing_written(work, gen(work), rf"^{re.escape(str(work / 'dataset' / 'train.txt'))}:{sum(COUNTS) + 1}: "
                                      r"error: label 7 is out of range for 3 classes \[list-line\]$")
    write_dataset(work / "dataset")
    (work / "m.yaml").write_text(MODULE.replace("PP-LCNet_x0_25", "PP-LCNet_x1_0_table_cls"))  # PaddleX has no template
    result = run(work, "gen", "--config", "m.yaml")
    assert result.returncode == 1 and not (work / "m.paddleclas.yaml").exists()
    assert re.fullmatch(r"m\.yaml:2:10: error: no PaddleClas template for PP-LCNet_x1_0_table_cls: Train\."
                        r"basic_config_path is not set and (no paddlex package is installed in this Python|\S+/repo_apis/"
                        r"PaddleClas_api/configs/PP-LCNet_x1_0_table_cls\.yaml does not exist); give --template FILE "
                        r".* \[paddlex-template\]\n", result.stderr), result.stderr
    (work / "m.yaml").write_text(MODULE)
    (work / "template.yaml").write_text(TEMPLATE.replace("    learning_rate: 0.8\n", ""))
    _nothing_written(work, gen(work), r"template\.yaml: error: Optimizer\.lr has neither learning_rate nor "
                                      r"max_learning_rate, so PaddleX stops with 'unsupported lr format' \[paddlex-template\]$")
    (work / "template.yaml").write_text(TEMPLATE.replace("      batch_size: 512\n", ""))  # PaddleX: MultiScaleDataset
    _nothing_written(work, gen(work), r"^m\.yaml:11:15: error: the train dataset is MultiScaleDataset, not a single-"
                                      r"label ImageNetDataset list.*\(PaddleX sets DataLoader\.Train\.dataset\.name of "
                                      r".*template\.yaml to 'MultiScaleDataset' from Train\.batch_size\) \[gen-dataset\]$")


def test_module_options_need_a_module_config(work: Path) -> None:
    (work / "c.yaml").write_text(TEMPLATE)
    for args in (("--train-list", "dataset/train.txt"), ("--config", "c.yaml", "--train-list", "dataset/train.txt")):
        result = run(work, "gen", *args, "--paddlex-override", "Train.epochs_iters=3")
        assert result.returncode == 2 and "go with" in result.stderr, result.stderr


def test_paddlex_override_values_parse_as_paddlex_parses_them() -> None:
    assert [paddlex.parse_value(text) for text in ("None", "", "t", "False", "20", "0.1", "a/b.txt", "[1, 2]")] == \
        [None, None, True, False, 20, 0.1, "a/b.txt", [1, 2]]
    with pytest.raises(ValueError, match="exactly one '='"):
        paddlex.parse_override("Train.x=1=2")


def test_world_size_comes_from_global_device(work: Path) -> None:
    for device, cards in (("cpu", 1), ("gpu", 1), ("gpu:0", 1), ("gpu:0,1", 2), ("npu:0,1,2,3,4,5,6,7", 8)):
        module = paddlex.load_module(str(work / "m.yaml"), [f"Global.device={device}"])
        assert module.world_size == cards, device


def test_install_paddlex_finds_paddlex_checkout_without_importing_it(tmp_path: Path) -> None:
    from test_install import DATA_INIT, LOSS_INIT, METRIC_INIT

    package = tmp_path / "site" / "paddlex"
    (package).mkdir(parents=True)
    (package / "__init__.py").write_text("raise SystemExit('paddlex must not be imported')\n")
    checkout = package / "repo_manager" / "repos" / "PaddleClas"
    for init, text in (("ppcls/loss/__init__.py", LOSS_INIT), ("ppcls/data/__init__.py", DATA_INIT),
                       ("ppcls/metric/__init__.py", METRIC_INIT)):
        (checkout / init).parent.mkdir(parents=True, exist_ok=True)
        (checkout / init).write_text(text)
    (checkout / "ppcls" / "data" / "dataloader").mkdir()
    env = {"PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path / 'site'}"}
    refused = run(tmp_path, "install", "--paddlex", env_extra=env)
    assert refused.returncode == 1 and "has no .installed marker" in refused.stderr
    assert "paddlex --install PaddleClas" in refused.stderr
    (checkout / ".installed").write_text("")
    before = {path: path.read_bytes() for path in checkout.rglob("*.py")}
    assert run(tmp_path, "install", "--paddlex", env_extra=env).returncode == 0
    assert (checkout / "ppcls" / "loss" / "cs_celoss.py").is_file()
    assert run(tmp_path, "install", "--check", "--paddlex", env_extra=env).returncode == 0
    (tmp_path / "c.yaml").write_text(TEMPLATE.replace("CELoss", "CostSensitiveCE"))
    checked = run(tmp_path, "validate", "--paddlex", "c.yaml", env_extra=env)  # installed there: no [installed] error
    smoke = run(tmp_path, "smoke", "--paddlex", "--class-num", "4", "--steps", "1", "--batch-size", "8", "--device",
                "cpu", env_extra=env)
    if importlib.util.find_spec("paddle") is not None:
        assert smoke.returncode == 0 and str(checkout) in smoke.stdout, smoke.stdout + smoke.stderr
    else:  # the no-paddle CI legs: the checkout was found, then the one line about paddle
        assert smoke.returncode == 1 and "smoke needs paddle" in smoke.stderr, smoke.stderr
    assert "[installed]" not in checked.stdout and "[input]" not in checked.stdout, checked.stdout
    both = run(tmp_path, "install", "--paddlex", "--paddleclas", str(checkout), env_extra=env)
    assert both.returncode == 2 and "exclude each other" in both.stderr
    assert run(tmp_path, "uninstall", "--paddlex", env_extra=env).returncode == 0
    unchecked = run(tmp_path, "validate", "--paddlex", "c.yaml", env_extra=env)
    assert unchecked.returncode == 1 and "[installed]" in unchecked.stdout, unchecked.stdout
    assert {path: path.read_bytes() for path in checkout.rglob("*.py")} == before
    neither = run(tmp_path, "install")
    assert neither.returncode == 2 and "--paddleclas DIR" in neither.stderr and "--paddlex" in neither.stderr
    if paddlex.paddlex_dir() is None:
        missing = run(tmp_path, "install", "--paddlex")
        assert missing.returncode == 1 and "no paddlex package in this Python" in missing.stderr


def test_gen_and_validate_on_a_module_config_import_neither_paddle_nor_paddlex(work: Path) -> None:
    assert gen(work, "--write").returncode == 0
    code = ("import sys; from ppcls_csce.cli import main; code = main(['validate', 'm.yaml']); "
            "loaded = {'paddle', 'paddlex', 'numpy'} & set(sys.modules); print(code, sorted(loaded))")
    result = subprocess.run([sys.executable, "-c", code], cwd=work, env=dict(os.environ, PYTHONPATH=str(REPO)),
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.split("\n")[-2:] == ["0 []", ""], result.stdout + result.stderr


def test_the_fixed_model_list_is_paddlex_3_7_2s() -> None:
    package = paddlex.paddlex_dir()
    if package is None:
        pytest.skip("needs paddlex in this Python (.ci/paddlex runs this file there) to compare its model list")
    assert paddlex.cls_models(package) == CLS_MODELS


def test_every_paddlex_template_takes_paddlex_rewrites(tmp_path: Path) -> None:
    if not SHARED_PADDLEX.is_dir():
        pytest.skip(f"needs PaddleX's PaddleClas templates at {SHARED_PADDLEX}")
    write_dataset(tmp_path / "dataset")
    module = paddlex.load_module(str(tmp_path / "m.yaml"), [], paddlex_source(tmp_path))
    usable = 0
    for model in CLS_MODELS:
        template = SHARED_PADDLEX / f"{model}.yaml"
        if not template.is_file():
            continue
        data = yaml.safe_load(template.read_text())
        resolved = paddlex_rewrites.apply_rewrites(template.read_text(), str(template), paddlex_rewrites.rewrites(module, data, str(template)))
        assert resolved.get(("Global", "epochs")) == 20 and resolved.get(("Arch", "class_num")) == 3, model
        multi_scale = "first_bs" in data["DataLoader"]["Train"]["sampler"]  # PaddleX renames their dataset
        assert resolved.get(("DataLoader", "Train", "dataset", "name")) == (
            "MultiScaleDataset" if multi_scale else "ClsDataset"), model
        assert resolved.get(("DataLoader", "Train", "sampler", "batch_size")) == (None if multi_scale else 4), model
        usable += 1
    assert usable >= 80


def paddlex_source(folder: Path):
    from ppcls_csce.yamlsource import parse_yaml

    return parse_yaml(MODULE, str(folder / "m.yaml"))
