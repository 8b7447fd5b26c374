"""Deferred re-weighting's schedule: the keys `iters_per_epoch` is computed from, and the entry's DRW keys
against them (csce-drw-schedule)."""

from typing import Iterator, List, Optional

from .. import params, ppconfig
from ..report import Problem
from .base import ERROR, Context, CsceEntry, Keys, Rule, loss_entries

GLOBAL: Keys = ppconfig.GLOBAL


def _drw_entries(context: Context) -> List[CsceEntry]:
    return [entry for entry in loss_entries(context) if entry.keys[:2] == ("Loss", "Train")
            and isinstance(entry.values, dict) and any(name in entry.values for name in params.DRW_PARAMS)]


def _samples(entry: CsceEntry) -> Optional[int]:
    """The training images: the sum of the entry's (valid) num_class_list, as gen computes iters_per_epoch."""
    counts = entry.value("num_class_list")
    if isinstance(counts, list) and counts and all(ppconfig.positive_int(count) for count in counts):
        return sum(counts)
    return None  # csce-params reports it


def _derivation(context: Context, samples: int) -> str:
    section = context.source.get(GLOBAL) or {}
    if section.get("iter_per_epoch"):
        return f"Global.iter_per_epoch {section['iter_per_epoch']}"
    sampler = context.source.get(ppconfig.SAMPLER) or {}
    world = context.options.world_size
    return (f"{samples} images on {world} card{'s' if world > 1 else ''}, batch_size {sampler.get('batch_size')}, "
            f"drop_last {sampler.get('drop_last', False)}, update_freq {section.get('update_freq', 1)}")


def check_drw_schedule(context: Context) -> Iterator[Problem]:
    """With deferred re-weighting (`drw_start_epoch`, `iters_per_epoch` in a Loss.Train CostSensitiveCE,
    BalancedSoftmaxCE or ClassBalancedCE entry),
    the keys the iterations per epoch come from must be usable (`DataLoader.Train.sampler.batch_size` a positive
    integer, `drop_last` true or false, `Global.update_freq` and `Global.iter_per_epoch` positive integers,
    `Global.epochs`), the entry's `iters_per_epoch` must be what they give (for `--world-size` cards, default 1),
    and `drw_start_epoch` at most `Global.epochs`: otherwise the loss switches at the wrong step, or
    never."""
    entries = _drw_entries(context)
    if not entries:
        return
    keys_wrong = ppconfig.epoch_length_problems(context.source)
    for keys, message in keys_wrong:
        yield context.problem(DRW_SCHEDULE, keys, message)
    if keys_wrong:
        return
    epochs = context.source.get(GLOBAL + ("epochs",))
    for entry in entries:
        start = entry.value("drw_start_epoch")
        if ppconfig.positive_int(start) and ppconfig.positive_int(epochs) and start > epochs:
            yield context.problem(DRW_SCHEDULE, entry.keys + ("drw_start_epoch",),
                                  f"drw_start_epoch {start} is after the last epoch, Global.epochs {epochs} "
                                  f"(line {context.line_of(GLOBAL + ('epochs',))}): the switch to the re-weighted loss would never "
                                  "come; the first re-weighted epoch must be 1..Global.epochs")
    samples = _samples(entries[0])
    sampler = context.source.get(ppconfig.SAMPLER)
    derivable = (context.source.get(GLOBAL + ("iter_per_epoch",)) or isinstance(sampler, dict) and "batch_size" in sampler)
    if samples is None or not derivable:
        return
    try:
        iters = ppconfig.iters_per_epoch(context.source, samples, context.options.world_size)
    except ValueError:  # a sampler whose length this tool cannot derive: nothing to compare with
        return
    if iters < 1:
        yield context.problem(DRW_SCHEDULE, ppconfig.SAMPLER + ("batch_size",),
                              f"no full batch per epoch ({_derivation(context, samples)}): PaddleClas would run no "
                              "training step; lower batch_size or set drop_last: False")
        return
    for entry in entries:
        given = entry.value("iters_per_epoch")
        if ppconfig.positive_int(given) and given != iters:
            yield context.problem(DRW_SCHEDULE, entry.keys + ("iters_per_epoch",),
                                  f"iters_per_epoch is {given} but this config gives {iters} iterations per epoch "
                                  f"({_derivation(context, samples)}): the switch to the re-weighted loss would come at the wrong "
                                  "step; csce-config gen --drw-epoch E --config CFG --write recomputes it (validate "
                                  "--world-size N when you train on N cards)")


DRW_SCHEDULE = Rule(
    "csce-drw-schedule", ERROR,
    "Deferred re-weighting whose schedule does not fit the config: `iters_per_epoch` differs from what the batch "
    "size, cards and `Global` keys give, `drw_start_epoch` after `Global.epochs`, or those keys unusable.",
    check=check_drw_schedule,
)

RULES = [DRW_SCHEDULE]
