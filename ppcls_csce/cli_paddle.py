"""The commands that meet PaddleClas or paddle: install, uninstall, smoke, adjust (thin, like cli.py's; adjust's
options are many, so it lives in cli_adjust.py)."""

from typing import Optional

import click

from .cli_adjust import adjust_command
from .cli_options import CLASS_COUNT, _PADDLECLAS_CHECK, _delimiter
from .errors import ProblemsError
from .paddle_import import import_paddle
from .paddlex_cli import paddlex_checkout_option


@click.command("install")
@click.option("--paddleclas", "paddleclas", default=None, metavar="DIR",
              type=click.Path(exists=True, file_okay=False),
              help="The PaddleClas checkout (the folder holding ppcls/).")
@click.option("--check", is_flag=True, help="Only report installed, outdated, edited locally or absent (exit 0 only if installed).")
@click.option("--force", is_flag=True, help="Overwrite installed files that were edited locally.")
@paddlex_checkout_option(required=True)
@click.pass_context
def install_command(ctx: click.Context, paddleclas: str, check: bool, force: bool) -> None:
    """Write the losses, LongTailSampler and LongTailAcc into a PaddleClas checkout and import them."""
    from . import install as installer

    if check:
        state, why = installer.check(paddleclas)
        click.echo(f"{state}: {why}")
        ctx.exit(0 if state == installer.INSTALLED else 1)
    click.echo(installer.install(paddleclas, force=force))
    _engine_caveat(paddleclas)


def _engine_caveat(paddleclas: str) -> None:
    """Once per install: what this checkout's engine (read, not imported) does wrong with a LongTailSampler."""
    from .paddleclas_engine import install_caveat
    from .report import WARNING, note
    from .rules.installed import ENGINE_RULE

    caveat = install_caveat(paddleclas)
    if caveat is not None:
        click.echo(note(caveat[1], caveat[0], ENGINE_RULE.id, WARNING).as_text(), err=True)


@click.command("uninstall")
@click.option("--paddleclas", "paddleclas", default=None, metavar="DIR",
              type=click.Path(exists=True, file_okay=False),
              help="The PaddleClas checkout (the folder holding ppcls/).")
@click.option("--force", is_flag=True, help="Remove installed files even if they were edited locally.")
@paddlex_checkout_option(required=True)
def uninstall_command(paddleclas: str, force: bool) -> None:
    """Remove what install wrote, restoring the three __init__.py files byte for byte."""
    from . import install as installer

    click.echo(installer.uninstall(paddleclas, force=force))


@click.command("smoke")
@click.option("--config", type=click.Path(dir_okay=False), default=None,
              help="A PaddleClas config: each CostSensitiveCE, ClassBalancedCE and BalancedSoftmaxCE of its "
                   "Loss.Train is built and run. Exactly one of --config, --class-num, --train-list is needed.")
@click.option("--class-num", type=CLASS_COUNT, default=None,
              help="K classes with synthetic long-tailed counts (imbalance 100), gamma 1.0.")
@click.option("--train-list", type=click.Path(dir_okay=False), default=None,
              help="A PaddleClas list file: counts from it, gamma 1.0.")
@click.option("--delimiter", default=None, help="With --train-list: its field delimiter (default: one space). "
                                                "Use '\\t' for a tab.")
@click.option("--device", type=click.Choice(["auto", "gpu", "cpu"]), default="auto", show_default=True, help="auto: the GPU when paddle has CUDA and sees one, else the CPU.")
@click.option("--steps", type=click.IntRange(min=1), default=10, show_default=True, help="Forward+backward steps.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Logits per step (default: the config's DataLoader.Train.sampler.batch_size, else 256).")
@click.option("--world-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="Training cards: a DRW schedule (iters_per_epoch) is checked for the config's batch size on "
                   "each of them, as validate --world-size does.")
@click.option("--amp", is_flag=True, help="float16 logits under paddle.amp.auto_cast, as PaddleClas's AMP runs the loss.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random logits and labels.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_PADDLECLAS_CHECK
@paddlex_checkout_option(required=False)
@click.pass_context
def smoke_command(ctx: click.Context, config: Optional[str], class_num: Optional[int], train_list: Optional[str],
                  delimiter: Optional[str], device: str, steps: int, batch_size: Optional[int], world_size: int,
                  amp: bool, seed: int,
                  output_format: str, paddleclas: Optional[str]) -> None:
    """Run the loss (the config's CostSensitiveCE, ClassBalancedCE or BalancedSoftmaxCE, else CostSensitiveCE) on
    the device and check it against a float64 reference; exit 0 only if all pass.

    Needs exactly one of --config, --class-num, --train-list.
    """
    given = [name for name, value in (("--config", config), ("--class-num", class_num), ("--train-list", train_list)) if value is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --config, --class-num, --train-list" + (f" (got {', '.join(given)})" if given else ""))
    if delimiter is not None and train_list is None:
        raise click.UsageError("--delimiter goes with --train-list")
    installed_detail = None
    if paddleclas is not None:  # before paddle is imported: a missing install fails fast
        from .checks import load_config, require_clean
        from .rules import Options, installed

        states = installed.install_states(paddleclas)
        source = load_config(config) if config is not None else None
        if source is not None:
            options = Options(paddleclas=paddleclas, paddleclas_states=states)
            for problem in require_clean(source, options, [installed.INSTALLED_RULE, installed.ENGINE_RULE]):
                click.echo(problem.as_text(), err=True)  # warnings (paddleclas-engine): said, smoke still runs
        else:
            problems = installed.missing_without_config(paddleclas, states)
            if problems:
                raise ProblemsError(problems)
        installed_detail = installed.summary(paddleclas, source)
    smoke = import_paddle("smoke", "ppcls_csce.smoke")  # Ctrl-C during paddle's import: exit 130
    result = smoke.run(config=config, class_num=class_num, train_list=train_list, delimiter=_delimiter(delimiter) or " ",
                       device=device, steps=steps, batch_size=batch_size, amp=amp, seed=seed, installed=installed_detail,
                       world_size=world_size)
    click.echo(result.render(output_format), nl=False)
    ctx.exit(0 if result.ok else 1)


from .report_cmd import report_command  # noqa: E402  (the report command lives in its own module)

COMMANDS = [install_command, uninstall_command, smoke_command, adjust_command, report_command]
