"""The `csce-config` command line: thin wrappers over the library modules.

Exit codes: 0 fine, 1 bad data (one located line per problem, rendered by report.py), 2 bad usage (Click's
own), 130 interrupted (Ctrl-C). Every bad-data failure is a ProblemsError, caught once, in CsceGroup.
"""

import sys
from typing import TYPE_CHECKING, List, Optional, Tuple

import click

from . import __version__, exits
from .atomic import STDOUT, all_or_nothing, refuse_inputs, write_output
from .cli_options import (CLASS_COUNT, LOSS_CHOICES, _BETA, _CLAMP, _DELIMITER, _GAMMA, _LOSS, _PADDLECLAS_CHECK,
                          _STATS_GAMMA, _TAU, _TRAIN_LIST, _delimiter, _loss_choice, echo_problems)
from .cli_paddle import COMMANDS as PADDLE_COMMANDS
from .drw import PLAIN_SHARE
from .errors import INPUT_RULE, ProblemsError
from .paddlex_cli import gen_module as paddlex_gen, module_options, paddlex_checkout_option, validate_module as paddlex_validate
from .ppconfig import SAMPLER_CHOICES
from .params import LOSSES
from .report import ERROR, Problem, escape_text

if TYPE_CHECKING:
    from .paddlex_commands import PaddlexArgs

# The order a user meets the commands in (click would sort them by name).
WORKFLOW = ("stats", "gen", "install", "validate", "smoke", "adjust", "report", "uninstall")


class CsceGroup(click.Group):
    """Turns every ProblemsError (and OS error) into its located lines and exit 1, never a traceback."""

    def list_commands(self, ctx: click.Context) -> List[str]:
        return [name for name in WORKFLOW if name in self.commands] + sorted(set(self.commands) - set(WORKFLOW))

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except ProblemsError as error:
            echo_problems(error.problems)
            ctx.exit(1)
        except OSError as error:
            path = error.filename if isinstance(getattr(error, "filename", None), str) else ""
            echo_problems([Problem(path, None, None, ERROR, INPUT_RULE, str(error.strerror or error))])
            ctx.exit(1)


def _version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """The version, and which list scanner this install has (a support question worth one line)."""
    if not value or ctx.resilient_parsing:
        return
    from .scanner import COMPILED

    scanner = "compiled" if COMPILED else "pure Python (the pure wheel, or no C compiler at install time): slower on big lists"
    click.echo(f"csce-config {__version__} (list scanner: {scanner})")
    ctx.exit()


@click.group(cls=CsceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Show the version and which list scanner is installed, then exit.")
def cli() -> None:
    """The long-tail toolkit for PaddleClas: counts, configs, checks, losses, sampler, metric.

    \b
    The workflow, in order:
      1. stats     look at the class counts of your train list
      2. gen       write the loss (--loss), sampler (--sampler) and metric (--metric) into your config
      3. install   add the losses, LongTailSampler and LongTailAcc to your PaddleClas checkout
      4. validate  check the config (also in pre-commit and CI)
      5. smoke     run the loss on your device against a float64 reference
      6. train     PaddleClas's own tools/train.py -c CONFIG
      7. adjust    (optional) post-hoc logit adjustment of a CE-trained model
      8. report    per-class figures, confusion matrix and calibration of trained models

    \b
    Example:
      csce-config gen --config ResNet50.yaml --data-root ~/data --write
    """


# --- commands: each is a thin wrapper over a library module ---


@cli.command()
@click.option("--train-list", "train_lists", multiple=True, type=click.Path(dir_okay=False),
              help="A PaddleClas list file (`path label` per line); repeat to add up several (each once). Required "
                   "without --config; with it, default: the config's DataLoader.Train.dataset.cls_label_path.")
@_GAMMA
@click.option("--delimiter", default=None,
              help="Field delimiter of the list (default: the config's DataLoader.Train.dataset.delimiter, else one "
                   "space). Use '\\t' for a tab.")
@click.option("--class-num", type=CLASS_COUNT, default=None,
              help="Number of classes K (default: the config's Arch.class_num, else max label + 1). With --config, "
                   "Arch.class_num (or Arch.Head.class_num) is set to K too.")
@click.option("--config", type=click.Path(dir_okay=False), default=None,
              help="A PaddleClas config: the result is this config with its Loss section edited. Or a PaddleX "
                   "image-classification module config: the result is the PaddleClas config PaddleX will train, "
                   "written beside it as NAME.paddleclas.yaml (or -o); --write also sets its Train.basic_config_path.")
@click.option("--data-root", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder the config's relative cls_label_path is resolved from (default: the current folder).")
@click.option("--write", is_flag=True, help="Edit CONFIG in place (atomically). Excludes -o; needs --config.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the result to this file (atomically; - for stdout) instead of stdout. Excludes --write.")
@click.option("--drw-epoch", type=click.IntRange(min=1), default=None,
              help="Deferred re-weighting (DRW): plain CE before this epoch (from 1), the chosen loss from it on. "
                   f"Default where gen turns a CELoss into CS_CE or the class-balanced loss: round({PLAIN_SHARE} x Global.epochs) "
                   "+ 1, as the paper's reference code (161 of 200); 1: the loss from the first epoch. Needs --config.")
@click.option("--world-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="Number of training cards, for iters_per_epoch.")
@_CLAMP
@_LOSS
@_TAU
@_BETA
@click.option("--sampler", type=click.Choice(list(SAMPLER_CHOICES)), default=None,
              help="Make DataLoader.Train.sampler a LongTailSampler: power (n_c^1, instance-balanced), sqrt (n_c^0.5), "
                   "balanced (class-balanced) or progressive. Needs --config.")
@click.option("--sampler-epoch", type=click.IntRange(min=1), default=None,
              help="With --sampler: instance-balanced before this epoch (from 1), the chosen sampling from it on.")
@click.option("--metric", is_flag=True,
              help="Add LongTailAcc (balanced, many/medium/few-shot accuracy) with the counts first in Metric.Eval. "
                   "Needs --config.")
@module_options
@click.pass_context
def gen(ctx: click.Context, train_lists: Tuple[str, ...], gamma: Optional[float], delimiter: Optional[str],
        class_num: Optional[int], config: Optional[str], data_root: Optional[str], write: bool, output: Optional[str],
        drw_epoch: Optional[int], world_size: int, clamp_empty: bool, loss: Optional[str], tau: Optional[float],
        beta: Optional[float], sampler: Optional[str], sampler_epoch: Optional[int], metric: bool,
        paddlex: "PaddlexArgs") -> None:
    """Count the classes of a train list and print the Loss block of the chosen loss (--loss, default CostSensitiveCE) to stdout.

    With --config, print that config with every CELoss turned into the chosen loss (or edit it in place with
    --write). Notes and the summary go to stderr; a refused config is left untouched.
    """
    if write and output:
        raise click.UsageError("--write and -o/--output exclude each other")
    if (write or drw_epoch is not None) and config is None:
        raise click.UsageError(f"{'--write' if write else '--drw-epoch'} needs --config")
    if not train_lists and config is None:
        raise click.UsageError("give --train-list LIST (or --config CFG, whose cls_label_path is counted)")
    if sampler is not None and config is None:
        raise click.UsageError("--sampler needs --config (it edits DataLoader.Train.sampler)")
    if metric and config is None:
        raise click.UsageError("--metric needs --config (it edits Metric.Eval)")
    if sampler_epoch is not None and sampler is None:
        raise click.UsageError("--sampler-epoch needs --sampler")
    from .gen_plugins import SamplerChoice
    from .gen import generate as generate_block  # imported per command: each pays only for what it uses

    refuse_inputs([("-o", output)], train_lists)  # a typo must not replace the list it counts
    name, strength = _loss_choice(loss, gamma=gamma, tau=tau, beta=beta)
    sampler_choice = SamplerChoice(sampler, sampler_epoch) if sampler is not None else None
    if config is not None and paddlex_gen(ctx, config, paddlex, output, write, class_num, gamma=strength,  # PaddleX
                                          delimiter=_delimiter(delimiter), drw_epoch=drw_epoch, world_size=world_size,
                                          clamp_empty=clamp_empty, loss=name, sampler=sampler_choice, metric=metric):
        return
    result = generate_block(
        train_lists, gamma=strength, delimiter=_delimiter(delimiter), class_num=class_num, config=config,
        drw_epoch=drw_epoch, world_size=world_size, clamp_empty=clamp_empty, data_root=data_root, loss=name,
        sampler=sampler_choice, metric=metric,
    )
    echo_problems(result.notes)
    click.echo(result.summary, err=True)
    target = (config if write else output) or STDOUT  # --write has a config (checked above)
    with all_or_nothing():  # Ctrl-C just after the rename still leaves the file as it was
        status = write_output(target, result.text.encode("utf-8"))
    if target != STDOUT:
        click.echo(f"{status} {escape_text(target)}", err=True)


@cli.command()
@_TRAIN_LIST
@_STATS_GAMMA
@_DELIMITER
@click.option("--class-num", type=CLASS_COUNT, default=None, help="Number of classes K (default: max label + 1).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="The table as text or JSON, on stdout.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, help="Also write a PNG bar chart (needs matplotlib).")
@_CLAMP
@_LOSS
@_TAU
@_BETA
def stats(train_lists: Tuple[str, ...], gamma: Optional[float], delimiter: Optional[str], class_num: Optional[int],
          output_format: str, plot_path: Optional[str], clamp_empty: bool, loss: Optional[str], tau: Optional[float],
          beta: Optional[float]) -> None:
    """Per-class counts, the chosen loss's weights (or logit adjustment), imbalance ratio and shot groups of a
    train list."""
    from . import stats as stats_module
    from .weights import table_from_lists

    refuse_inputs([("--plot", plot_path)], train_lists)  # a typo must not replace the list it counts
    name, strength = _loss_choice(loss, gamma=gamma, tau=tau, beta=beta)
    spec = LOSSES[name or LOSS_CHOICES["csce"]]
    table = table_from_lists(
        train_lists, _delimiter(delimiter) or " ", class_num,
        strength if strength is not None else spec.default, clamp_empty, loss=spec.name,
    )
    if plot_path is not None:
        stats_module.plot(table, plot_path)
    click.echo(stats_module.render_json(table) if output_format == "json" else stats_module.render_text(table), nl=False)


@cli.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--train-list", "train_lists", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Compare num_class_list with this list's counts (repeat to add up several). Default: the "
                   "config's DataLoader.Train.dataset.cls_label_path, when that file exists.")
@click.option("--data-root", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder a relative cls_label_path is resolved from (PaddleClas's working folder); default: here.")
@click.option("--allow-outside-data-root", is_flag=True,
              help="Read a config's cls_label_path even when it resolves outside --data-root (default: not read, "
                   "a warning).")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "github"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Warnings fail the run too.")
@click.option("--require-csce", is_flag=True, help="A file without any CostSensitiveCE entry is an error.")
@click.option("--fix", is_flag=True, help="Rewrite stale num_class_list values in place; exit 1 when a file changed.")
@click.option("--world-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="Training cards, for the iters_per_epoch check of deferred re-weighting.")
@_PADDLECLAS_CHECK
@paddlex_checkout_option(required=False)
@module_options
@click.pass_context
def validate_command(ctx: click.Context, files: Tuple[str, ...], train_lists: Tuple[str, ...], data_root: Optional[str],
                     allow_outside_data_root: bool, output_format: str, strict: bool, require_csce: bool,
                     fix: bool, world_size: int, paddleclas: Optional[str], paddlex: "PaddlexArgs") -> None:
    """Check PaddleClas configs: YAML, loss shape, eval()'d names, CostSensitiveCE parameters, counts, schedule."""
    from .report import render
    from .validate import Options, exit_code, validate_file

    states = None
    if paddleclas is not None:
        from .rules import installed

        states = installed.install_states(paddleclas)  # read once; a folder that is no checkout: exit 1
    options = Options(train_lists=train_lists, data_root=data_root, require_csce=require_csce,
                      allow_outside_data_root=allow_outside_data_root, world_size=world_size, paddleclas=paddleclas,
                      paddleclas_states=states)
    results = []
    with all_or_nothing():  # --fix: Ctrl-C (or any failure) puts back every file fixed so far
        for path in files:  # one at a time, printed as it goes: nothing is kept between files
            result = paddlex_validate(path, options, fix, paddlex) or validate_file(path, options, fix=fix)
            if result.fixed:
                click.echo(f"Fixing {escape_text(path)}", err=output_format == "json")
            if output_format != "json":
                click.echo(render(result.problems, output_format), nl=False)
            results.append(result)
    if output_format == "json":
        click.echo(render([problem for result in results for problem in result.problems], "json"), nl=False)
    ctx.exit(exit_code(results, strict))


for _command in PADDLE_COMMANDS:  # install, uninstall, smoke, adjust: defined in cli_paddle.py
    cli.add_command(_command)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point for the console script and `python -m ppcls_csce`; returns the exit code."""
    return exits.run(lambda: _main(argv))


def _main(argv: Optional[List[str]]) -> int:
    try:
        # Without standalone mode, click returns a command's ctx.exit(code) as the result instead of raising it.
        code = cli.main(args=argv, prog_name="csce-config", standalone_mode=False)
        if isinstance(code, int):
            return code
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Abort as aborted:
        if isinstance(aborted.__context__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            return exits.interrupted()
        click.echo("Aborted.", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
