"""The options and small helpers the `csce-config` commands share (one definition each), and the stderr echo."""

from typing import Callable, List, Optional, Sequence, Tuple

import click

from .params import LOSSES, MAX_CLASSES, ParamError
from .report import Problem, format_text

# A class count on the command line: 1 .. params.MAX_CLASSES (a larger one would build lists that long).
CLASS_COUNT = click.IntRange(min=1, max=MAX_CLASSES)

def echo_problems(problems: Sequence[Problem]) -> None:
    """Problems and notes to stderr, one located line each (report.py's text format)."""
    click.echo(format_text(problems), err=True, nl=False)


_TRAIN_LIST = click.option(
    "--train-list", "train_lists", multiple=True, required=True, type=click.Path(dir_okay=False),
    help="A PaddleClas list file (`path label` per line); repeat to add up several (each once).",
)
_DELIMITER = click.option(
    "--delimiter", default=None, help="Field delimiter of the list (default: one space). Use '\\t' for a tab.",
)


# --loss: the command-line names of params.LOSSES (gen.LOSS_CHOICES would import gen and yaml for --help).
LOSS_CHOICES = {"csce": "CostSensitiveCE", "balanced-softmax": "BalancedSoftmaxCE", "class-balanced": "ClassBalancedCE"}
_LOSS = click.option("--loss", type=click.Choice(list(LOSS_CHOICES)), default=None,
                     help="The loss: csce (CostSensitiveCE, the default), balanced-softmax (BalancedSoftmaxCE) or "
                          "class-balanced (ClassBalancedCE). gen --config: given, every entry becomes it; not given, "
                          "CELoss becomes CostSensitiveCE and the entries of the three keep their loss.")


def _strength(name: str) -> Callable[[click.Context, click.Parameter, Optional[float]], Optional[float]]:
    def check(ctx: click.Context, param: click.Parameter, value: Optional[float]) -> Optional[float]:
        try:
            return None if value is None else LOSSES[LOSS_CHOICES[name]].rule(value)
        except ParamError as error:
            raise click.BadParameter(str(error)) from None
    return check


_GAMMA = click.option("--gamma", type=float, default=None, callback=_strength("csce"),
                      help="Exponent of (N_min / N_c) (default: an existing CostSensitiveCE entry's with --config, "
                           "else 1.0).")
_STATS_GAMMA = click.option("--gamma", type=float, default=None, callback=_strength("csce"),
                            help="Exponent of (N_min / N_c) (default: 1.0).")
_TAU = click.option("--tau", type=float, default=None, callback=_strength("balanced-softmax"),
                    help="balanced-softmax: the scale of the logit adjustment tau * log(n_c) (default 1.0).")
_BETA = click.option("--beta", type=float, default=None, callback=_strength("class-balanced"),
                     help="class-balanced: beta of (1 - beta) / (1 - beta ** n_c), in [0, 1) (default 0.9999).")


def _loss_choice(loss: Optional[str], **given: Optional[float]) -> Tuple[Optional[str], Optional[float]]:
    """The loss's class name (None: not chosen) and its strength; a strength option of another loss is a usage
    error (exit 2), since it would be silently ignored."""
    name = LOSS_CHOICES[loss or "csce"]
    strength_key = LOSSES[name].strength
    for key, value in given.items():
        if value is not None and key != strength_key:
            raise click.UsageError(f"--{key} does not apply to --loss {loss or 'csce'} ({name} takes "
                                   f"--{strength_key})")
    return (name if loss is not None else None), given[strength_key]


_CLAMP = click.option("--clamp-empty", is_flag=True, help="Count classes with no images as 1 image (with a warning) instead of failing.")


def _delimiter(value: Optional[str]) -> Optional[str]:
    """Let users type `\\t` on the command line for a tab."""
    if value is None:
        return None
    if value == "":
        raise click.BadParameter("must not be empty", param_hint="--delimiter")
    return value.replace("\\t", "\t")


_PADDLECLAS_CHECK = click.option(
    "--paddleclas", "paddleclas", default=None, metavar="DIR", type=click.Path(exists=True, file_okay=False),
    help="A PaddleClas checkout: every loss, LongTailSampler and LongTailAcc the config uses must be installed "
         "there by this version (else an error [installed] with the install command that fixes it).")


# adjust's --tau (a default of 1.0, unlike gen's): the same rule as Balanced Softmax's tau.
_tau = _strength("balanced-softmax")
