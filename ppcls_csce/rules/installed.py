"""`validate --paddleclas DIR` and `smoke --paddleclas DIR`: is every name the config makes PaddleClas eval()
(a loss, LongTailSampler, LongTailAcc) installed, and current, in that checkout?

Why: without it a config passes validate and smoke and training then dies with `NameError: name
'CostSensitiveCE' is not defined`, or runs an older or locally edited copy of the loss. Stdlib only; the
states come from install.py's manifest (read once per run: `install_states`), the places from the config.
"""

from typing import Dict, Iterator, List, Optional, Tuple

from .. import params, ppconfig
from ..report import Problem
from ..shell import command
from ..yamlsource import YamlSource
from .base import ERROR, Context, Keys, Options, Rule

SAMPLER, METRIC = ppconfig.LONG_TAIL_SAMPLER, ppconfig.LONG_TAIL_METRIC
States = Dict[str, Tuple[str, str]]  # name -> (state, why), from install.part_states


def install_states(paddleclas: str) -> States:
    """Each installable name's (state, why) in the checkout; a CsceError when DIR is no PaddleClas checkout."""
    from .. import install

    return {name: (state, why) for part, state, why in install.part_states(paddleclas) for name in part.names}


def used_names(context: Context) -> Iterator[Tuple[Keys, str]]:
    """(where, name) of every installable name the config uses: losses, the train sampler, metrics."""
    for keys, name, _ in ppconfig.loss_entries(context.source):
        if name in params.LOSSES:
            yield keys, name
    loaders = context.data.get("DataLoader") if isinstance(context.data, dict) else None
    for mode, loader in (loaders.items() if isinstance(loaders, dict) else ()):
        sampler = loader.get("sampler") if isinstance(loader, dict) else None
        if isinstance(sampler, dict) and sampler.get("name") == SAMPLER:
            yield ("DataLoader", mode, "sampler", "name"), SAMPLER
    metrics = context.data.get("Metric") if isinstance(context.data, dict) else None
    for mode, entries in (metrics.items() if isinstance(metrics, dict) else ()):
        for index, entry in enumerate(entries if isinstance(entries, list) else ()):
            if isinstance(entry, dict) and METRIC in entry:
                yield ("Metric", mode, index, METRIC), METRIC


def check_installed(context: Context, paddleclas: str, states: States) -> List[Problem]:
    """Each used name that is absent, outdated or edited locally in the checkout, with the command that fixes it."""
    from ..install import INSTALLED, EDITED

    problems: List[Problem] = []
    for keys, name in used_names(context):
        state, why = states.get(name, ("absent", f"this version of ppcls-csce does not install {name}"))
        if state == INSTALLED:
            continue
        fix = command("csce-config", "install", "--paddleclas", paddleclas) + (" --force (overwrites the edits)"
                                                                   if state == EDITED else "")
        problems.append(context.problem(INSTALLED_RULE, keys, f"{name} is {state} in {paddleclas} ({why}); "
                                        f"training would fail or run other code; fix: {fix}",
                                        at_key=keys[-1] != "name"))
    return problems


def config_problems(source: YamlSource, paddleclas: str, states: States) -> List[Problem]:
    """check_installed for one parsed config."""
    return check_installed(Context(source, Options()), paddleclas, states)


def summary(paddleclas: str, states: States, source: Optional[YamlSource]) -> str:
    """One line for smoke's report: which names were found installed and current."""
    names = sorted({name for _, name in used_names(Context(source, Options()))}) if source else [params.LOSS_NAME]
    return f"{', '.join(names)} installed and current in {paddleclas}"


def missing_without_config(paddleclas: str, states: States) -> List[Problem]:
    """smoke --class-num/--train-list builds CostSensitiveCE: is that one installed?"""
    from ..install import INSTALLED

    state, why = states[params.LOSS_NAME]
    if state == INSTALLED:
        return []
    return [Problem(paddleclas, None, None, ERROR, INSTALLED_RULE.id,
                    f"{params.LOSS_NAME} is {state} ({why}); fix: {command('csce-config', 'install', '--paddleclas', paddleclas)}")]


INSTALLED_RULE = Rule(
    "installed", ERROR,
    "validate/smoke --paddleclas: a loss, LongTailSampler or LongTailAcc the config uses is absent, outdated or "
    "edited locally in that PaddleClas checkout.",
    doc="PaddleClas eval()s each name in its own package, so a config naming CostSensitiveCE trains only where "
        "`csce-config install` put the current file and its import; the message gives that command.",
)

RULES = [INSTALLED_RULE]
