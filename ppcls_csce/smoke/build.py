"""Build the losses smoke runs as PaddleClas's build_loss would: every entry of params.LOSSES in a config's Loss.Train
(after the same rules as validate), or a CostSensitiveCE from a list's counts or synthetic long-tailed counts."""

import sys
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence

from .. import params, ppconfig
from ..checks import load_config, require_clean
from ..rules import Options
from ..rules.base import located
from ..rules.class_count import CLASS_COUNT
from ..rules.command import SMOKE_LOSS
from ..rules.csce_params import CSCE_PARAMS
from ..rules.loss_shape import LOSS_SHAPE
from ..rules.relabel import RELABEL
from ..rules.schedule import DRW_SCHEDULE
from ..rules.yaml_file import TOP_LEVEL
from ..weights import table_from_lists

# What smoke needs of a config before it builds the loss: the rules validate runs on the same keys (then one of the
# three losses in Loss.Train, smoke's own precondition). The DRW schedule is checked for the cards smoke is told of
# (--world-size), from the config's own batch size: smoke's batches are not the training run's, so the loss's own
# first-call check of the epoch length is skipped.
PRECONDITIONS = (TOP_LEVEL, LOSS_SHAPE, CSCE_PARAMS, CLASS_COUNT, RELABEL, DRW_SCHEDULE)
DEFAULT_BATCH_SIZE = 256  # --class-num, --train-list, or a config without DataLoader.Train.sampler.batch_size
# The synthetic class profile for --class-num: N_c = round(N_MAX * IMBALANCE ** (-c / (K - 1))), the
# exponential long-tail profile of CIFAR-LT / ImageNet-LT, imbalance 100.
SYNTHETIC_N_MAX = 1000
SYNTHETIC_IMBALANCE = 100.0
_NAMES = ", ".join(list(params.LOSSES)[:-1]) + " or " + list(params.LOSSES)[-1]


@dataclass
class BuiltLoss:
    """The loss layer and what it was built from."""

    loss: Any  # CostSensitiveCE, ClassBalancedCE or BalancedSoftmaxCE
    source: str  # one line: where the counts came from
    class_num: int  # width of the logits


@dataclass
class Built:
    """Every loss smoke runs, in Loss.Train's order, and what it says of the entries it skips."""

    losses: List[BuiltLoss]
    notes: List[str] = field(default_factory=list)
    batch_size: Optional[int] = None  # the config's DataLoader.Train.sampler.batch_size (per card), when it has one


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


def config_batch_size(source: Any) -> Optional[int]:
    """DataLoader.Train.sampler.batch_size, the per-card batch PaddleClas trains with, if it is a whole number >= 1."""
    sampler = source.get(ppconfig.SAMPLER)
    value = sampler.get("batch_size") if isinstance(sampler, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def build_from_config(path: str, world_size: int = 1) -> Built:
    """CombinedLoss's contract: each Loss.Train entry is `Name: {weight, **params}`; weight popped, Name(**params)."""
    source = load_config(path)
    names = [name for keys, name, _ in ppconfig.loss_entries(source) if keys[:2] == ("Loss", "Train")]
    own = [] if set(names) & set(params.LOSSES) or not isinstance(source.data, dict) else [  # smoke's own precondition: something to run
        located(source, SMOKE_LOSS, ("Loss", "Train"), f"Loss.Train has {', '.join(names) or 'no loss'} but none of "
                f"{', '.join(params.LOSSES)}; add one with: csce-config gen --config {path} --write", at_key=True)]
    require_clean(source, Options(world_size=world_size), PRECONDITIONS, own)  # every problem at once, located, with its rule
    namespace = loss_namespace()
    built = Built([], batch_size=config_batch_size(source))
    for keys, name, values in ppconfig.loss_entries(source):
        if keys[:2] != ("Loss", "Train"):
            continue
        if name not in params.LOSSES:
            built.notes.append(f"Loss.Train[{keys[2]}] {name}: skipped (smoke checks {_NAMES} only)")
            continue
        kwargs = {key: value for key, value in values.items() if key != params.COMBINING_WEIGHT}  # popped, as PaddleClas does
        layer = namespace[name](**kwargs)
        layer.skip_run_checks()  # the schedule was checked above, for the config's batch size and the cards
        built.losses.append(BuiltLoss(layer, f"{name} from {path} Loss.Train[{keys[2]}] (weight popped, the name "
                                             "resolved as ppcls_csce.register() makes it resolvable)", layer.num_classes))
    assert built.losses  # smoke-loss passed
    return built


def synthetic_counts(class_num: int) -> List[int]:
    """A long-tailed profile for --class-num: imbalance 100 from N_max 1000 down, exponential."""
    steps = max(class_num - 1, 1)
    return [max(1, round(SYNTHETIC_N_MAX * SYNTHETIC_IMBALANCE ** (-c / steps))) for c in range(class_num)]


def build_from_counts(counts: Sequence[int], source: str) -> Built:
    namespace = loss_namespace()
    layer = namespace[params.LOSS_NAME](num_class_list=list(counts), gamma=params.DEFAULT_GAMMA)
    return Built([BuiltLoss(layer, source, layer.num_classes)])


def build_losses(config: Optional[str], class_num: Optional[int], train_list: Optional[str], delimiter: str = " ",
                 world_size: int = 1) -> Built:
    if config is not None:
        return build_from_config(config, world_size)
    if train_list is not None:
        table = table_from_lists([train_list], delimiter, None, params.DEFAULT_GAMMA)
        return build_from_counts(table.num_class_list, f"{params.LOSS_NAME} with counts from {train_list} ({table.summary()})")
    assert class_num is not None
    return build_from_counts(
        synthetic_counts(class_num),
        f"{params.LOSS_NAME} with synthetic long-tailed counts N_c = round({SYNTHETIC_N_MAX} * "
        f"{SYNTHETIC_IMBALANCE:g}^(-c/(K-1))) (imbalance {SYNTHETIC_IMBALANCE:g}), gamma {params.DEFAULT_GAMMA:g}",
    )
