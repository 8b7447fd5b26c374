"""The `csce-config` command line: thin wrappers over the library modules.

Exit codes: 0 fine, 1 bad data (one clear line per problem), 2 bad usage (Click's own).
"""

import sys
from typing import List, Optional, Tuple

import click

from . import __version__
from .atomic import write_atomic
from .errors import CsceError
from .params import DEFAULT_GAMMA, ParamError, check_gamma


class CsceGroup(click.Group):
    """Turns CsceError and OS errors into one clean line and exit 1, never a traceback."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except CsceError as error:
            click.echo(str(error), err=True)
            ctx.exit(1)
        except OSError as error:
            where = f"{error.filename}: " if getattr(error, "filename", None) else ""
            click.echo(f"error: {where}{error.strerror or error}", err=True)
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
    """Cost-sensitive cross-entropy (CS_CE) for PaddleClas: counts, configs, checks and the loss."""


# --- commands: each is a thin wrapper; the work lives in the module named in its docstring ---


_TRAIN_LIST = click.option(
    "--train-list", "train_lists", multiple=True, required=True, type=click.Path(dir_okay=False),
    help="A PaddleClas list file (`path label` per line); repeat to add up several.",
)
_DELIMITER = click.option(
    "--delimiter", default=None, help="Field delimiter of the list (default: the config's, else one space). Use '\\t' for a tab.",
)


def _gamma(ctx: click.Context, param: click.Parameter, value: Optional[float]) -> Optional[float]:
    try:
        return None if value is None else check_gamma(value)
    except ParamError as error:
        raise click.BadParameter(str(error)) from None


_GAMMA = click.option("--gamma", type=float, default=None, callback=_gamma, help="Exponent of (N_min / N_c); default 1.0, or an existing entry's.")
_CLAMP = click.option("--clamp-empty", is_flag=True, help="Count classes with no images as 1 image (with a warning) instead of failing.")


def _delimiter(value: Optional[str]) -> Optional[str]:
    """Let users type `\\t` on the command line for a tab."""
    if value is None:
        return None
    if value == "":
        raise click.BadParameter("must not be empty", param_hint="--delimiter")
    return value.replace("\\t", "\t")


@cli.command()
@_TRAIN_LIST
@_GAMMA
@_DELIMITER
@click.option("--class-num", type=click.IntRange(min=1), default=None, help="Number of classes K (default: the config's, else max label + 1).")
@click.option("--config", type=click.Path(dir_okay=False), default=None, help="A PaddleClas config to edit (its Loss section only).")
@click.option("--write", is_flag=True, help="Edit CONFIG in place (atomically).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write the result to this file (atomically).")
@click.option("--drw-epoch", type=click.IntRange(min=1), default=None, help="Deferred re-weighting: plain CE before this epoch (from 1), CS_CE from it on. Needs --config.")
@click.option("--world-size", type=click.IntRange(min=1), default=1, show_default=True, help="Number of training cards, for iters_per_epoch.")
@_CLAMP
def gen(train_lists: Tuple[str, ...], gamma: Optional[float], delimiter: Optional[str],
        class_num: Optional[int], config: Optional[str], write: bool, output: Optional[str],
        drw_epoch: Optional[int], world_size: int, clamp_empty: bool) -> None:
    """Count the classes of a train list and write the CostSensitiveCE Loss block (gen.py)."""
    if write and output:
        raise click.UsageError("--write and -o/--output exclude each other")
    if (write or drw_epoch is not None) and config is None:
        raise click.UsageError(f"{'--write' if write else '--drw-epoch'} needs --config")
    from .gen import generate as generate_block  # imported per command: each pays only for what it uses

    result = generate_block(
        train_lists, gamma=gamma, delimiter=_delimiter(delimiter), class_num=class_num, config=config,
        drw_epoch=drw_epoch, world_size=world_size, clamp_empty=clamp_empty,
    )
    for note in result.notes:
        click.echo(note, err=True)
    click.echo(result.table.summary(), err=True)
    target = config if write else output
    if target is None:
        click.echo(result.text, nl=False)
    else:
        write_atomic(target, result.text.encode("utf-8"))
        click.echo(f"wrote {target}", err=True)


@cli.command()
@_TRAIN_LIST
@_GAMMA
@_DELIMITER
@click.option("--class-num", type=click.IntRange(min=1), default=None, help="Number of classes K (default: max label + 1).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, help="Also write a PNG bar chart (needs matplotlib).")
@_CLAMP
def stats(train_lists: Tuple[str, ...], gamma: Optional[float], delimiter: Optional[str], class_num: Optional[int],
          output_format: str, plot_path: Optional[str], clamp_empty: bool) -> None:
    """Per-class counts, weights, imbalance ratio and shot groups of a train list (stats.py)."""
    from . import stats as stats_module
    from .weights import table_from_lists

    table = table_from_lists(
        train_lists, _delimiter(delimiter) or " ", class_num,
        gamma if gamma is not None else DEFAULT_GAMMA, clamp_empty,
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


@cli.command("smoke")
@click.option("--config", type=click.Path(dir_okay=False), default=None, help="A PaddleClas config: the loss is built from its Loss.Train.")
@click.option("--class-num", type=click.IntRange(min=1), default=None, help="K classes with synthetic long-tailed counts (imbalance 100).")
@click.option("--train-list", type=click.Path(dir_okay=False), default=None, help="A PaddleClas list file: counts from it.")
@_DELIMITER
@click.option("--device", type=click.Choice(["auto", "gpu", "cpu"]), default="auto", show_default=True, help="auto: the GPU when paddle has CUDA and sees one, else the CPU.")
@click.option("--steps", type=click.IntRange(min=1), default=10, show_default=True, help="Forward+backward steps.")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--amp", is_flag=True, help="float16 logits under paddle.amp.auto_cast, as PaddleClas's AMP runs the loss.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random logits and labels.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def smoke_command(ctx: click.Context, config: Optional[str], class_num: Optional[int], train_list: Optional[str],
                  delimiter: Optional[str], device: str, steps: int, batch_size: int, amp: bool, seed: int,
                  output_format: str) -> None:
    """Run CostSensitiveCE on the device and check it against a float64 reference (smoke.py); exit 0 only if all pass."""
    given = [name for name, value in (("--config", config), ("--class-num", class_num), ("--train-list", train_list)) if value is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --config, --class-num, --train-list" + (f" (got {', '.join(given)})" if given else ""))
    if delimiter is not None and train_list is None:
        raise click.UsageError("--delimiter goes with --train-list")
    try:
        from . import smoke
    except ImportError as error:
        raise CsceError(f"smoke needs paddle ({error}); pip install 'ppcls-csce[paddle]' (or [gpu])") from None
    result = smoke.run(config=config, class_num=class_num, train_list=train_list, delimiter=_delimiter(delimiter) or " ",
                       device=device, steps=steps, batch_size=batch_size, amp=amp, seed=seed)
    click.echo(result.render(output_format), nl=False)
    ctx.exit(0 if result.ok else 1)


@cli.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--train-list", "train_lists", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Compare num_class_list with this list's counts (repeat to add up several). Default: the "
                   "config's DataLoader.Train.dataset.cls_label_path, when that file exists.")
@click.option("--data-root", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder a relative cls_label_path is resolved from (PaddleClas's working folder); default: here.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "github"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Warnings fail the run too.")
@click.option("--require-csce", is_flag=True, help="A file without any CostSensitiveCE entry is an error.")
@click.option("--fix", is_flag=True, help="Rewrite stale num_class_list values in place; exit 1 when a file changed.")
@click.pass_context
def validate_command(ctx: click.Context, files: Tuple[str, ...], train_lists: Tuple[str, ...], data_root: Optional[str],
                     output_format: str, strict: bool, require_csce: bool, fix: bool) -> None:
    """Check PaddleClas configs: YAML, loss shape, eval()'d names, CostSensitiveCE parameters, counts (validate.py)."""
    from .report import render
    from .validate import Options, exit_code, validate_file

    options = Options(train_lists=train_lists, data_root=data_root, require_csce=require_csce)
    results = []
    for path in files:  # one at a time, printed as it goes: nothing is kept between files
        result = validate_file(path, options, fix=fix)
        if result.fixed:
            click.echo(f"Fixing {path}", err=output_format == "json")
        if output_format != "json":
            click.echo(render(result.problems, output_format), nl=False)
        results.append(result)
    if output_format == "json":
        click.echo(render([problem for result in results for problem in result.problems], "json"), nl=False)
    ctx.exit(exit_code(results, strict))


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
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
