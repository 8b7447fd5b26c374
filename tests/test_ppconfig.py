"""What the tool reads from a PaddleClas config."""

import math

import pytest

from ppcls_csce import ppconfig
from ppcls_csce.yamlsource import load_yaml, parse_yaml

from conftest import SHARED_CONFIGS


def test_class_num_of_a_classification_config():
    source = load_yaml(SHARED_CONFIGS / "ImageNet" / "ResNet" / "ResNet50.yaml")
    assert ppconfig.class_num(source) == (1000, ("Arch", "class_num"))


def test_recmodel_uses_head_class_num_never_neck():
    source = load_yaml(SHARED_CONFIGS / "GeneralRecognition" / "GeneralRecognition_PPLCNet_x2_5.yaml")
    value, keys = ppconfig.class_num(source)
    assert keys == ("Arch", "Head", "class_num")
    assert value == source.get(("Arch", "Head", "class_num")) != source.get(("Arch", "Neck", "class_num"))


def test_tab_delimiter_is_read_from_the_dataset():
    configs = [p for p in SHARED_CONFIGS.rglob("*.yaml") if "traffic_sign" in str(p)]
    assert configs and ppconfig.delimiter(load_yaml(configs[0])) == "\t"


def sampler_config(batch_size: int, drop_last: bool, extra: str = "") -> str:
    return (
        f"Global:\n  epochs: 10\n{extra}DataLoader:\n  Train:\n    sampler:\n      name: DistributedBatchSampler\n"
        f"      batch_size: {batch_size}\n      drop_last: {drop_last}\n"
    )


@pytest.mark.parametrize("samples, world, batch, drop_last", [(1000, 1, 64, False), (1000, 1, 64, True), (1001, 4, 32, False), (1001, 4, 32, True)])
def test_iters_per_epoch_matches_distributed_batch_sampler(samples, world, batch, drop_last):
    source = parse_yaml(sampler_config(batch, drop_last))
    per_rank = math.ceil(samples / world)
    expected = per_rank // batch if drop_last else math.ceil(per_rank / batch)
    assert ppconfig.iters_per_epoch(source, samples, world) == expected


def test_global_iter_per_epoch_and_update_freq():
    assert ppconfig.iters_per_epoch(parse_yaml(sampler_config(64, False, "  iter_per_epoch: 50\n")), 10_000) == 50
    assert ppconfig.iters_per_epoch(parse_yaml(sampler_config(10, False, "  update_freq: 4\n")), 1000) == 100
    assert ppconfig.iters_per_epoch(parse_yaml(sampler_config(10, False, "  update_freq: 3\n")), 1000) == 99


def test_other_samplers_are_refused():
    source = parse_yaml("DataLoader:\n  Train:\n    sampler:\n      name: PKSampler\n      batch_size: 64\n")
    with pytest.raises(ValueError, match="PKSampler"):
        ppconfig.iters_per_epoch(source, 1000)


def test_per_rank_rounding_up_matters():
    """1001 images on 4 cards: 251 per card (ceil), so batches of 50 give 6 iterations; 250 would give 5."""
    assert ppconfig.iters_per_epoch(parse_yaml(sampler_config(50, False)), 1001, 4) == 6


def test_drop_last_defaults_to_false():
    source = parse_yaml("DataLoader:\n  Train:\n    sampler:\n      name: DistributedBatchSampler\n      batch_size: 64\n")
    assert ppconfig.iters_per_epoch(source, 1000) == 16  # ceil(1000 / 64); with drop_last it would be 15


def test_update_freq_above_the_iterations_is_set_to_1_as_the_engine_does():
    assert ppconfig.iters_per_epoch(parse_yaml(sampler_config(10, False, "  update_freq: 4\n")), 30) == 3


def test_every_loss_section_is_read():
    source = parse_yaml("Loss:\n  Train: [{CELoss: {weight: 1.0}}]\n  Basic: [{CELoss: {weight: 1.0}}]\n"
                        "UnLabelLoss:\n  Train: [{CELoss: {weight: 1.0}}]\n")
    assert [keys for keys, _, _ in ppconfig.loss_entries(source)] == [
        ("Loss", "Train", 0, "CELoss"), ("Loss", "Basic", 0, "CELoss"), ("UnLabelLoss", "Train", 0, "CELoss")]
