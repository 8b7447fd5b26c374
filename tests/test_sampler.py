"""LongTailSampler on a real PaddleClas ImageNetDataset built from a list file of tiny images."""

import shutil
import sys
from typing import List

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")
from paddle.io import DistributedBatchSampler  # noqa: E402

from ppcls_csce.counts import epoch_probabilities, sampling_probabilities  # noqa: E402
from ppcls_csce.sampler import LongTailSampler, SamplerError  # noqa: E402

from conftest import PADDLECLAS, SKIP_REASON  # the one definition of where the checkout is

COUNTS = [120, 40, 12, 4]  # many, medium, few by ImageNet-LT's thresholds
N = sum(COUNTS)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    """PaddleClas's own ImageNetDataset (from a temporary copy of the checkout's ppcls/) on 176 8x8 PNGs."""
    if PADDLECLAS is None:
        pytest.skip(SKIP_REASON)
    import cv2

    root = tmp_path_factory.mktemp("lt")
    shutil.copytree(PADDLECLAS / "ppcls", root / "ppcls", ignore=shutil.ignore_patterns("configs", "__pycache__"))
    sys.path.insert(0, str(root))
    from ppcls.data.dataloader.imagenet_dataset import ImageNetDataset

    rng = np.random.default_rng(1)
    lines = []
    for label, count in enumerate(COUNTS):
        for i in range(count):
            name = f"images/c{label}_{i}.png"
            (root / "images").mkdir(exist_ok=True)
            cv2.imwrite(str(root / name), np.full((8, 8, 3), 60 * label, dtype=np.uint8))
            lines.append(f"{name} {label}")
    rng.shuffle(lines)
    (root / "train.txt").write_text("\n".join(lines) + "\n")
    ops = [{"DecodeImage": {"to_rgb": True, "channel_first": False}}]
    return ImageNetDataset(str(root), str(root / "train.txt"), transform_ops=ops)


def class_frequencies(sampler: LongTailSampler, epochs: List[int]) -> np.ndarray:
    labels = np.asarray(sampler.labels)
    return sum(np.bincount(labels[sampler.draw(e - 1)], minlength=len(COUNTS)) for e in epochs)


def assert_binomial(observed: np.ndarray, probabilities: List[float]) -> None:
    """Each class count within 5 standard deviations of Binomial(draws, p_c)."""
    draws = observed.sum()
    p = np.asarray(probabilities)
    tolerance = 5 * np.sqrt(draws * p * (1 - p)) + 1
    assert np.all(np.abs(observed - draws * p) <= tolerance), (observed, draws * p, tolerance)


@pytest.mark.parametrize("power", [0.0, 0.5, 1.0])
def test_class_frequencies_follow_n_to_the_power(dataset, power: float) -> None:
    sampler = LongTailSampler(dataset, batch_size=16, power=power)
    assert np.array_equal(sampler.class_counts, COUNTS)  # counted from the dataset's own labels
    observed = class_frequencies(sampler, list(range(1, 61)))
    assert_binomial(observed, sampling_probabilities(COUNTS, power))
    if power == 0.0:  # and not merely close to instance-balanced: the rarest class gets a quarter of the draws
        assert observed[3] / observed.sum() > 0.2


def test_instance_balanced_is_paddleclas_usual_shuffle(dataset) -> None:
    sampler = LongTailSampler(dataset, batch_size=16, power=1.0)
    for epoch in range(3):
        drawn = sampler.draw(epoch)
        assert sorted(drawn.tolist()) == list(range(N))  # every image once per epoch
    assert not np.array_equal(sampler.draw(0), sampler.draw(1))


def test_class_balanced_cycles_through_a_class_before_repeating(dataset) -> None:
    sampler = LongTailSampler(dataset, batch_size=16, power=0.0)
    drawn = sampler.draw(0)
    labels = np.asarray(sampler.labels)
    for label, count in enumerate(COUNTS):
        mine = drawn[labels[drawn] == label]
        uses = np.bincount(mine, minlength=N)[labels == label]
        assert uses.max() - uses.min() <= 1, (label, uses)  # images of a class used evenly
    # the head class is under-sampled (about 44 of 120 drawn): no image twice
    head = drawn[labels[drawn] == 0]
    assert len(set(head.tolist())) == len(head)


@pytest.mark.parametrize("epoch", [1, 10, 20])  # t = 1, T/2, T of T = 20 (t = 0 is counts' own test)
def test_progressive_frequencies_at_start_middle_end(dataset, epoch: int) -> None:
    want = [(1 - epoch / 20) * n / N + (epoch / 20) / 4 for n in COUNTS]
    assert want == pytest.approx(epoch_probabilities(COUNTS, epoch, progressive=True, total_epochs=20))
    pooled = np.zeros(4, dtype=np.int64)  # one epoch is only 176 draws: pool the same epoch over 40 seeds
    for seed in range(40):
        sampler = LongTailSampler(dataset, 16, progressive=True, total_epochs=20, seed=seed)
        pooled += np.bincount(np.asarray(sampler.labels)[sampler.draw(epoch - 1)], minlength=4)
    assert_binomial(pooled, want)


def test_deferred_switch_at_start_epoch(dataset) -> None:
    sampler = LongTailSampler(dataset, batch_size=16, power=0.0, start_epoch=4, total_epochs=6)
    for epoch in (1, 2, 3):  # instance-balanced: the usual one-pass shuffle
        assert sorted(sampler.draw(epoch - 1).tolist()) == list(range(N))
    assert sampler.describe() == "class-balanced from epoch 4 (instance-balanced before)"
    observed = class_frequencies(sampler, [4, 5, 6])
    assert observed[3] > 3 * 4  # the 4 rare images are drawn far more than once each
    assert_binomial(observed, [0.25] * 4)


def test_iteration_uses_and_advances_the_epoch_like_distributed_batch_sampler(dataset) -> None:
    sampler = LongTailSampler(dataset, batch_size=16, power=0.0, start_epoch=2, total_epochs=3)
    first = [index for batch in sampler for index in batch]
    second = [index for batch in sampler for index in batch]
    assert sampler.epoch == 2
    assert first == sampler.draw(0).tolist() and second == sampler.draw(1).tolist()
    assert sorted(first) == list(range(N)) and sorted(second) != list(range(N))
    sampler.set_epoch(1)  # what the engine does on resume after epoch 1
    assert [index for batch in sampler for index in batch] == second
    again = LongTailSampler(dataset, batch_size=16, power=0.0, start_epoch=2, total_epochs=3)
    again.set_epoch(1)
    assert [index for batch in again for index in batch] == second  # reproducible from the seed alone
    other_seed = LongTailSampler(dataset, batch_size=16, power=0.0, start_epoch=2, total_epochs=3, seed=7)
    assert other_seed.draw(1).tolist() != second


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_len_equals_distributed_batch_sampler(dataset, world: int, drop_last: bool) -> None:
    for batch_size in (1, 5, 16, 64, 200):
        for rank in range(world):
            ours = LongTailSampler(dataset, batch_size, drop_last=drop_last, power=0.5, num_replicas=world, rank=rank)
            theirs = DistributedBatchSampler(dataset, batch_size, num_replicas=world, rank=rank, shuffle=True,
                                             drop_last=drop_last)
            assert len(ours) == len(theirs), (world, rank, batch_size)
            batches = list(ours)
            assert len(batches) == len(theirs) == len(list(theirs))
            assert all(len(b) == batch_size for b in batches[:-1]) and all(len(b) <= batch_size for b in batches)


@pytest.mark.parametrize("power", [1.0, 0.0])
def test_two_ranks_draw_disjoint_shares_of_one_epoch(dataset, power: float) -> None:
    ranks = [LongTailSampler(dataset, batch_size=8, power=power, num_replicas=2, rank=r) for r in (0, 1)]
    shares = [[index for batch in sampler for index in batch] for sampler in ranks]
    assert [len(share) for share in shares] == [N // 2, N // 2]
    assert shares[0] + shares[1] == ranks[0].draw(0).tolist() == ranks[1].draw(0).tolist()
    if power == 1.0:
        assert set(shares[0]).isdisjoint(shares[1]) and set(shares[0]) | set(shares[1]) == set(range(N))
    else:  # images of the under-sampled head class are not repeated across ranks either
        labels = np.asarray(ranks[0].labels)
        heads = [{i for i in share if labels[i] == 0} for share in shares]
        assert heads[0] and heads[1] and heads[0].isdisjoint(heads[1])


def test_batches_load_through_paddle_dataloader(dataset) -> None:
    sampler = LongTailSampler(dataset, batch_size=16, power=0.0)
    loader = paddle.io.DataLoader(dataset, batch_sampler=sampler, num_workers=0, return_list=True)
    images, labels = next(iter(loader))
    wanted = [int(dataset.labels[i]) for i in sampler.draw(0)[:16]]
    assert labels.numpy().reshape(-1).tolist() == wanted and list(images.shape) == [16, 3, 8, 8]


@pytest.mark.parametrize("kwargs, message", [
    ({"power": -1.0}, "power must be a number >= 0"),
    ({"power": 0.0, "batch_size": 0}, "batch_size must be a whole number >= 1"),
    ({"power": 0.0, "batch_size": 2.5}, "batch_size must be a whole number >= 1"),
    ({}, "give power"),
    ({"power": 0.5, "progressive": True, "total_epochs": 4}, "not both"),
    ({"progressive": True}, "needs total_epochs"),
    ({"power": 0.0, "shuffle": False}, "shuffle: False cannot be honoured"),
    ({"power": 0.0, "start_epoch": 0}, "start_epoch must be"),
    ({"power": 0.0, "start_epoch": 9, "total_epochs": 8}, "after the last epoch"),
])
def test_construction_errors(kwargs: dict, message: str) -> None:
    kwargs = {"batch_size": 4, **kwargs}
    with pytest.raises(SamplerError, match=message) as error:
        LongTailSampler(Plain(), **kwargs)
    assert isinstance(error.value, ValueError) and str(error.value).startswith("LongTailSampler")


class Plain:
    """Just what the sampler reads from a dataset (for the checks that need no PaddleClas)."""

    labels = COUNTS[0] * [0] + COUNTS[1] * [1] + COUNTS[2] * [2] + COUNTS[3] * [3]

    def __len__(self) -> int:
        return len(self.labels)


def test_an_empty_class_under_class_balanced_sampling_fails_at_construction() -> None:
    class Gap:  # labels 0 and 2 only: class 1 has no images
        labels = [0, 0, 2, 2, 2]

        def __len__(self) -> int:
            return 5

    with pytest.raises(SamplerError, match="class 1 has no images, so class-balanced sampling"):
        LongTailSampler(Gap(), batch_size=2, power=0.0)
    with pytest.raises(SamplerError, match="class 1 has no images, so progressively balanced"):
        LongTailSampler(Gap(), batch_size=2, progressive=True, total_epochs=3)
    assert len(LongTailSampler(Gap(), batch_size=2, power=0.5)) == 3  # square-root just never draws it
    with pytest.raises(SamplerError, match="class 1 has no images"):  # deferred: found now, not at epoch 3
        LongTailSampler(Gap(), batch_size=2, power=0.0, start_epoch=3, total_epochs=4)


def test_build_dataloader_finds_it_and_fills_total_epochs() -> None:
    """What ppcls/data/__init__.py's build_dataloader checks before passing Global.epochs."""
    import inspect

    assert "total_epochs" in inspect.getfullargspec(LongTailSampler.__init__).args
