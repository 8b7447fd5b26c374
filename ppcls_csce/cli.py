"""The `csce-config` command line: thin wrappers over the library modules.

Exit codes: 0 fine, 1 bad data (one located line per problem, rendered by report.py), 2 bad usage (Click's
own), 130 interrupted (Ctrl-C). Every bad-data failure is a ProblemsError, caught once, in CsceGroup.
"""

import sys
from typing import Callable, List, Optional, Sequence, Tuple

import click

from . import __version__
from .atomic import STDOUT, write_output
from .errors import INPUT_RULE, CsceError, ProblemsError
from .ppconfig import SAMPLER_CHOICES
from .params import LOSSES, MAX_CLASSES, ParamError, check_gamma
from .report import ERROR, Problem, escape_text, format_text

# A class count on the command line: 1 .. params.MAX_CLASSES (a larger one would build lists that long).
CLASS_COUNT = click.IntRange(min=1, max=MAX_CLASSES)

# The order a user meets the commands in (click would sort them by name).
WORKFLOW = ("stats", "gen", "install", "validate", "smoke", "adjust", "uninstall")


def echo_problems(problems: Sequence[Problem]) -> None:
    """Problems and notes to stderr, one located line each (report.py's text format)."""
    click.echo(format_text(problems), err=True, nl=False)


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

    scanner = "compiled" if COMPILED else "pure Python: no C compiler at install time, slower on big lists"
    click.echo(f"csce-config {__version__} (list scanner: {scanner})")
    ctx.exit()


@click.group(cls=CsceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Show the version and which list scanner is installed, then exit.")
def cli() -> None:
    """Cost-sensitive cross-entropy (CS_CE) for PaddleClas: counts, configs, checks and the loss.

    \b
    The workflow, in order:
      1. stats     look at the class counts of your train list
      2. gen       write the CostSensitiveCE Loss block into your config
      3. install   add the loss to your PaddleClas checkout
      4. validate  check the config (also in pre-commit and CI)
      5. smoke     run the loss on your device against a float64 reference
      6. train     PaddleClas's own tools/train.py -c CONFIG
      7. adjust    (optional) post-hoc logit adjustment of a CE-trained model

    \b
    Example:
      csce-config gen --config ResNet50.yaml --data-root ~/data --write
    """


# --- commands: each is a thin wrapper over a library module ---


_TRAIN_LIST = click.option(
    "--train-list", "train_lists", multiple=True, required=True, type=click.Path(dir_okay=False),
    help="A PaddleClas list file (`path label` per line); repeat to add up several (each once).",
)
_DELIMITER = click.option(
    "--delimiter", default=None, help="Field delimiter of the list (default: one space). Use '\\t' for a tab.",
)


def _gamma(ctx: click.Context, param: click.Parameter, value: Optional[float]) -> Optional[float]:
    try:
        return None if value is None else check_gamma(value)
    except ParamError as error:
        raise click.BadParameter(str(error)) from None


_GAMMA = click.option("--gamma", type=float, default=None, callback=_gamma,
                      help="Exponent of (N_min / N_c) (default: an existing CostSensitiveCE entry's with --config, "
                           "else 1.0).")
_STATS_GAMMA = click.option("--gamma", type=float, default=None, callback=_gamma,
                            help="Exponent of (N_min / N_c) (default: 1.0).")
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
              help="A PaddleClas config: the result is this config with its Loss section edited.")
@click.option("--data-root", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder the config's relative cls_label_path is resolved from (default: the current folder).")
@click.option("--write", is_flag=True, help="Edit CONFIG in place (atomically). Excludes -o; needs --config.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the result to this file (atomically; - for stdout) instead of stdout. Excludes --write.")
@click.option("--drw-epoch", type=click.IntRange(min=1), default=None,
              help="Deferred re-weighting: plain CE before this epoch (from 1), CS_CE from it on. Needs --config.")
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
def gen(train_lists: Tuple[str, ...], gamma: Optional[float], delimiter: Optional[str],
        class_num: Optional[int], config: Optional[str], data_root: Optional[str], write: bool, output: Optional[str],
        drw_epoch: Optional[int], world_size: int, clamp_empty: bool, loss: Optional[str], tau: Optional[float],
        beta: Optional[float], sampler: Optional[str], sampler_epoch: Optional[int], metric: bool) -> None:
    """Count the classes of a train list and print the CostSensitiveCE Loss block to stdout.

    With --config, print that config with every CELoss turned into CostSensitiveCE (or edit it in place with
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
    from .gen import SamplerChoice
    from .gen import generate as generate_block  # imported per command: each pays only for what it uses

    name, strength = _loss_choice(loss, gamma=gamma, tau=tau, beta=beta)
    result = generate_block(
        train_lists, gamma=strength, delimiter=_delimiter(delimiter), class_num=class_num, config=config,
        drw_epoch=drw_epoch, world_size=world_size, clamp_empty=clamp_empty, data_root=data_root, loss=name,
        sampler=SamplerChoice(sampler, sampler_epoch) if sampler is not None else None, metric=metric,
    )
    echo_problems(result.notes)
    click.echo(result.table.summary(), err=True)
    target = (config if write else output) or STDOUT  # --write has a config (checked above)
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

    name, strength = _loss_choice(loss, gamma=gamma, tau=tau, beta=beta)
    spec = LOSSES[name or LOSS_CHOICES["csce"]]
    table = table_from_lists(
        train_lists, _delimiter(delimiter) or " ", class_num,
        strength if strength is not None else spec.default, clamp_empty, loss=spec.name,
    )
    if plot_path is not None:
        stats_module.plot(table, plot_path)
    click.echo(stats_module.render_json(table) if output_format == "json" else stats_module.render_text(table), nl=False)


@cli.command("install")
@click.option("--paddleclas", "paddleclas", required=True, metavar="DIR",
              type=click.Path(exists=True, file_okay=False),
              help="The PaddleClas checkout (the folder holding ppcls/).")
@click.option("--check", is_flag=True, help="Only report installed, outdated, edited locally or absent (exit 0 only if installed).")
@click.option("--force", is_flag=True, help="Overwrite installed files that were edited locally.")
@click.pass_context
def install_command(ctx: click.Context, paddleclas: str, check: bool, force: bool) -> None:
    """Write the losses, LongTailSampler and LongTailAcc into a PaddleClas checkout and import them."""
    from . import install as installer

    if check:
        state, why = installer.check(paddleclas)
        click.echo(f"{state}: {why}")
        ctx.exit(0 if state == installer.INSTALLED else 1)
    click.echo(installer.install(paddleclas, force=force))


@cli.command("uninstall")
@click.option("--paddleclas", "paddleclas", required=True, metavar="DIR",
              type=click.Path(exists=True, file_okay=False),
              help="The PaddleClas checkout (the folder holding ppcls/).")
@click.option("--force", is_flag=True, help="Remove installed files even if they were edited locally.")
def uninstall_command(paddleclas: str, force: bool) -> None:
    """Remove what install wrote, restoring the three __init__.py files byte for byte."""
    from . import install as installer

    click.echo(installer.uninstall(paddleclas, force=force))


_PADDLECLAS_CHECK = click.option(
    "--paddleclas", "paddleclas", default=None, metavar="DIR", type=click.Path(exists=True, file_okay=False),
    help="A PaddleClas checkout: every loss, LongTailSampler and LongTailAcc the config uses must be installed "
         "there by this version (else an error [installed] with the install command that fixes it).")


def _installed_problems(path: str, paddleclas: str, states: dict) -> List[Problem]:
    """The `installed` problems of one file for validate (none when it does not parse: validate says so)."""
    from .rules import installed
    from .yamlsource import YamlLoadError, load_yaml

    try:
        source = load_yaml(path)
    except (YamlLoadError, OSError):
        return []
    return installed.config_problems(source, paddleclas, states)


@cli.command("smoke")
@click.option("--config", type=click.Path(dir_okay=False), default=None,
              help="A PaddleClas config: the loss is built from its Loss.Train. Exactly one of --config, --class-num, "
                   "--train-list is needed.")
@click.option("--class-num", type=CLASS_COUNT, default=None,
              help="K classes with synthetic long-tailed counts (imbalance 100), gamma 1.0.")
@click.option("--train-list", type=click.Path(dir_okay=False), default=None,
              help="A PaddleClas list file: counts from it, gamma 1.0.")
@click.option("--delimiter", default=None, help="With --train-list: its field delimiter (default: one space). "
                                                "Use '\\t' for a tab.")
@click.option("--device", type=click.Choice(["auto", "gpu", "cpu"]), default="auto", show_default=True, help="auto: the GPU when paddle has CUDA and sees one, else the CPU.")
@click.option("--steps", type=click.IntRange(min=1), default=10, show_default=True, help="Forward+backward steps.")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--amp", is_flag=True, help="float16 logits under paddle.amp.auto_cast, as PaddleClas's AMP runs the loss.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random logits and labels.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_PADDLECLAS_CHECK
@click.pass_context
def smoke_command(ctx: click.Context, config: Optional[str], class_num: Optional[int], train_list: Optional[str],
                  delimiter: Optional[str], device: str, steps: int, batch_size: int, amp: bool, seed: int,
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
        from .checks import load_config
        from .rules import installed

        states = installed.install_states(paddleclas)
        source = load_config(config) if config is not None else None
        problems = (installed.config_problems(source, paddleclas, states) if source is not None
                    else installed.missing_without_config(paddleclas, states))
        if problems:
            raise ProblemsError(problems)
        installed_detail = installed.summary(paddleclas, states, source)
    try:
        from . import smoke
    except ImportError as error:
        raise CsceError(f"smoke needs paddle ({error}); pip install 'ppcls-csce[paddle]' (or [gpu])") from None
    result = smoke.run(config=config, class_num=class_num, train_list=train_list, delimiter=_delimiter(delimiter) or " ",
                       device=device, steps=steps, batch_size=batch_size, amp=amp, seed=seed, installed=installed_detail)
    click.echo(result.render(output_format), nl=False)
    ctx.exit(0 if result.ok else 1)


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
@click.pass_context
def validate_command(ctx: click.Context, files: Tuple[str, ...], train_lists: Tuple[str, ...], data_root: Optional[str],
                     allow_outside_data_root: bool, output_format: str, strict: bool, require_csce: bool,
                     fix: bool, world_size: int, paddleclas: Optional[str]) -> None:
    """Check PaddleClas configs: YAML, loss shape, eval()'d names, CostSensitiveCE parameters, counts, schedule."""
    from .report import render
    from .validate import Options, exit_code, validate_file

    options = Options(train_lists=train_lists, data_root=data_root, require_csce=require_csce,
                      allow_outside_data_root=allow_outside_data_root, world_size=world_size)
    states = None
    if paddleclas is not None:
        from .rules import installed

        states = installed.install_states(paddleclas)  # read once; a folder that is no checkout: exit 1
    results = []
    for path in files:  # one at a time, printed as it goes: nothing is kept between files
        result = validate_file(path, options, fix=fix)
        if states is not None:
            result.problems += _installed_problems(path, paddleclas or "", states)
        if result.fixed:
            click.echo(f"Fixing {escape_text(path)}", err=output_format == "json")
        if output_format != "json":
            click.echo(render(result.problems, output_format), nl=False)
        results.append(result)
    if output_format == "json":
        click.echo(render([problem for result in results for problem in result.problems], "json"), nl=False)
    ctx.exit(exit_code(results, strict))


# --- adjust (owned by the loss side: ppcls_csce/adjust.py) ---


def _tau(ctx: click.Context, param: click.Parameter, value: float) -> float:
    from .params import check_tau

    try:
        return check_tau(value)
    except ParamError as error:
        raise click.BadParameter(str(error)) from None


@cli.command("adjust")
@click.option("--model", required=True, type=click.Path(dir_okay=False),
              help="A .pdparams that tools/train.py saved (best_model.pdparams, epoch_N.pdparams).")
@_TRAIN_LIST
@_DELIMITER
@click.option("--tau", type=float, default=1.0, show_default=True, callback=_tau,
              help="Scale of the adjustment: the bias minus tau * log(n_c / N); 0 changes nothing.")
@click.option("--param", "param_name", default=None,
              help="The classifier bias to adjust (default: the one [C] bias whose layer has a [*, C] weight).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where the adjusted .pdparams goes (never the input; written atomically).")
def adjust_command(model: str, train_lists: Tuple[str, ...], delimiter: Optional[str], tau: float,
                   param_name: Optional[str], output: str) -> None:
    """Post-hoc logit adjustment of a trained model: its classifier bias minus tau * log(prior), no retraining.

    The counts come from the train list(s). Exported inference models (inference.pdiparams) are not supported:
    adjust the .pdparams, then export again.
    """
    from .weights import table_from_lists

    table = table_from_lists(list(train_lists), _delimiter(delimiter) or " ")
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="No ccache found")  # paddle's import-time noise
            import paddle  # noqa: F401
    except ImportError as error:
        raise CsceError(f"adjust needs paddle ({error}); pip install 'ppcls-csce[paddle]'") from None
    from .adjust import adjust_file

    name = adjust_file(model, table.num_class_list, tau, output, param_name)
    click.echo(f"adjusted {name} by -{tau:g} * log(n_c / N) ({table.summary().split(', weights')[0]}); "
               f"wrote {output}", err=True)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point for the console script and `python -m ppcls_csce`; returns the exit code."""
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
            click.echo("csce-config: interrupted", err=True)
            return 130
        click.echo("Aborted.", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("csce-config: interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
