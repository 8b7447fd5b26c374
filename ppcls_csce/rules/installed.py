"""`validate --paddleclas DIR` and `smoke --paddleclas DIR`: is every name the config makes PaddleClas eval()
(a loss, LongTailSampler, LongTailAcc) installed, and current, in that checkout?

Why: without it a config passes validate and smoke and training then dies with `NameError: name
'CostSensitiveCE' is not defined`, or runs an older or locally edited copy of the loss. Stdlib only; the
states come from install.py's manifest, read once per run (`install_states`) and handed to the rule through
Options.paddleclas_states; the places come from the config.
"""

from typing import Iterator, List, Optional, Tuple

from .. import params, paddleclas_engine, ppconfig
from ..report import Problem
from ..shell import command
from ..yamlsource import YamlSource
from .base import ERROR, WARNING, Context, Keys, Rule, States

SAMPLER, METRIC = ppconfig.LONG_TAIL_SAMPLER, ppconfig.LONG_TAIL_METRIC


def install_states(paddleclas: str) -> States:
    """Each installable name's (state, why) in the checkout; a CsceError when DIR is no PaddleClas checkout."""
    from .. import install

    return {name: (state, why) for part, state, why in install.part_states(paddleclas) for name in part.names}


def used_names(source: YamlSource) -> Iterator[Tuple[Keys, str]]:
    """(where, name) of every installable name the config uses: losses, the train sampler, metrics."""
    for keys, name, _ in ppconfig.loss_entries(source):
        if name in params.LOSSES:
            yield keys, name
    data = source.data
    loaders = data.get("DataLoader") if isinstance(data, dict) else None
    for mode, loader in (loaders.items() if isinstance(loaders, dict) else ()):
        sampler = loader.get("sampler") if isinstance(loader, dict) else None
        if isinstance(sampler, dict) and sampler.get("name") == SAMPLER:
            yield ("DataLoader", mode, "sampler", "name"), SAMPLER
    metrics = data.get("Metric") if isinstance(data, dict) else None
    for mode, entries in (metrics.items() if isinstance(metrics, dict) else ()):
        for index, entry in enumerate(entries if isinstance(entries, list) else ()):
            if isinstance(entry, dict) and METRIC in entry:
                yield ("Metric", mode, index, METRIC), METRIC


def _fix(paddleclas: str, state: str) -> str:
    from ..install import EDITED

    if state == EDITED:  # the command alone, pasteable; what --force does after it
        return command("csce-config", "install", "--paddleclas", paddleclas, "--force") + ", which overwrites the edits"
    return command("csce-config", "install", "--paddleclas", paddleclas)


def check_installed(context: Context) -> Iterator[Problem]:
    """With `--paddleclas DIR`, every loss, LongTailSampler and LongTailAcc the config names must be installed,
    and current, in that PaddleClas checkout: PaddleClas eval()s each name in its own package, so a config naming
    CostSensitiveCE trains only where `csce-config install` put the current file and its import. Each name that
    is absent, outdated or edited locally is reported where the config uses it, with the command that fixes it."""
    from ..install import INSTALLED

    states, paddleclas = context.options.paddleclas_states, context.options.paddleclas
    if states is None or paddleclas is None:
        return
    for keys, name in used_names(context.source):
        state, why = states.get(name, ("absent", f"this version of ppcls-csce does not install {name}"))
        if state != INSTALLED:
            yield context.problem(INSTALLED_RULE, keys, f"{name} is {state} in {paddleclas} ({why}); training "
                                  f"would fail or run other code; fix: {_fix(paddleclas, state)}",
                                  at_key=keys[-1] != "name")


def check_engine(context: Context) -> Iterator[Problem]:
    """Read from the checkout's code (`--paddleclas DIR`): PaddleClas before 2023 (release/2.4, release/2.5) never
    calls the batch sampler's set_epoch, so a deferred (start_epoch > 1) or progressive LongTailSampler resumed from
    Global.checkpoints silently starts its schedule again at epoch 1; nor does it fill total_epochs, which
    progressive: True needs. Said once, at the sampler."""
    paddleclas = context.options.paddleclas
    sampler = context.source.get(ppconfig.SAMPLER)
    if paddleclas is None or not isinstance(sampler, dict) or sampler.get("name") != SAMPLER:
        return
    support = paddleclas_engine.engine_support(paddleclas)
    caveats = paddleclas_engine.sampler_caveats(support, sampler, context.source.get(("Global", "epochs")))
    if caveats:
        yield context.problem(ENGINE_RULE, ppconfig.SAMPLER, "; ".join(caveats), at_key=True)


def summary(paddleclas: str, source: Optional[YamlSource]) -> str:
    """One line for smoke's report: which names were found installed and current."""
    names = sorted({name for _, name in used_names(source)}) if source else [params.LOSS_NAME]
    return f"{', '.join(names)} installed and current in {paddleclas}"


def missing_without_config(paddleclas: str, states: States) -> List[Problem]:
    """smoke --class-num/--train-list builds CostSensitiveCE: is that one installed?"""
    from ..install import INSTALLED

    state, why = states[params.LOSS_NAME]
    if state == INSTALLED:
        return []
    return [Problem(paddleclas, None, None, ERROR, INSTALLED_RULE.id,
                    f"{params.LOSS_NAME} is {state} ({why}); fix: {_fix(paddleclas, state)}")]


INSTALLED_RULE = Rule(
    "installed", ERROR,
    "validate/smoke --paddleclas: a loss, LongTailSampler or LongTailAcc the config uses is absent, outdated or "
    "edited locally in that PaddleClas checkout.",
    check=check_installed,
)

ENGINE_RULE = Rule(
    "paddleclas-engine", WARNING,
    "validate/smoke --paddleclas: that PaddleClas checkout's engine predates what the config's LongTailSampler "
    "relies on (set_epoch on resume, total_epochs filled from Global.epochs).",
    check=check_engine,
)

RULES = [INSTALLED_RULE, ENGINE_RULE]
