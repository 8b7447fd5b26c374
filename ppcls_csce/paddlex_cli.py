"""The command-line side of PaddleX support: the options gen and validate take for module configs, the two
calls cli.py makes into paddlex_commands.py, and `--paddlex` (PaddleX's own PaddleClas checkout) for install,
uninstall, validate and smoke.
"""

import functools
from pathlib import Path
from typing import Any, Callable, List, Optional

import click

from .errors import CsceError

PADDLEX_MARKER = ".installed"  # written by `paddlex --install PaddleClas`; without it PaddleX registers no model
CHECKOUT = ("repo_manager", "repos", "PaddleClas")  # inside the paddlex package


def paddlex_checkout(package: Optional[Path] = None) -> str:
    """PaddleX's PaddleClas checkout, from the installed paddlex package (found, never imported)."""
    from .paddlex import paddlex_dir

    package = package if package is not None else paddlex_dir()
    if package is None:
        raise CsceError("--paddlex: no paddlex package in this Python (pip install paddlex==3.7.2, or run csce-config "
                        "with the Python PaddleX uses); or give --paddleclas DIR")
    root = package.joinpath(*CHECKOUT)
    if not (root / "ppcls").is_dir():
        raise CsceError(f"--paddlex: {root} holds no PaddleClas checkout; run `paddlex --install PaddleClas` first")
    if not (root / PADDLEX_MARKER).is_file():
        raise CsceError(f"--paddlex: {root} has no {PADDLEX_MARKER} marker, so PaddleX registers no PaddleClas model; "
                        "run `paddlex --install PaddleClas` (add --use_local_repos to keep this checkout) first")
    return str(root)


def paddlex_checkout_option(required: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--paddlex`: the command's `paddleclas` argument becomes PaddleX's PaddleClas checkout. With `required`, one
    of --paddleclas DIR and --paddlex must be given."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @click.option("--paddlex", "use_paddlex", is_flag=True,
                      help="Use PaddleX's own PaddleClas checkout (<paddlex package>/repo_manager/repos/PaddleClas, "
                           "after `paddlex --install PaddleClas`) instead of --paddleclas DIR.")
        @functools.wraps(command)
        def run(*args: Any, use_paddlex: bool, **kwargs: Any) -> Any:
            if use_paddlex and kwargs.get("paddleclas") is not None:
                raise click.UsageError("--paddlex and --paddleclas exclude each other")
            if use_paddlex:
                kwargs["paddleclas"] = paddlex_checkout()
            elif required and kwargs.get("paddleclas") is None:
                raise click.UsageError("give --paddleclas DIR (a PaddleClas checkout) or --paddlex")
            return command(*args, **kwargs)

        return run

    return decorate


def module_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--paddlex-override, --template, --dataset-dir, gathered into one `paddlex` argument (a PaddlexArgs)."""

    @click.option("--paddlex-override", "paddlex_overrides", multiple=True, metavar="KEY=VALUE",
                  help="PaddleX module configs: one of PaddleX's own `-o KEY=VALUE` overrides (e.g. "
                       "Train.epochs_iters=20), so the schedule is the one PaddleX runs; repeat for several.")
    @click.option("--template", type=click.Path(dir_okay=False), default=None,
                  help="PaddleX module configs without Train.basic_config_path: the PaddleClas template of "
                       "Global.model (default: the installed paddlex package's).")
    @click.option("--dataset-dir", type=click.Path(file_okay=False), default=None,
                  help="PaddleX module configs: the dataset folder (label.txt, train.txt, val.txt) instead of "
                       "Global.dataset_dir, as PaddleX's -o Global.dataset_dir=DIR.")
    @functools.wraps(command)
    def run(*args: Any, paddlex_overrides: tuple, template: Optional[str], dataset_dir: Optional[str],
            **kwargs: Any) -> Any:
        from .paddlex_commands import PaddlexArgs

        if (paddlex_overrides or template or dataset_dir) and "config" in kwargs and kwargs["config"] is None:
            raise click.UsageError("--paddlex-override, --template and --dataset-dir go with --config MODULE.yaml "
                                   "(a PaddleX module config)")
        kwargs["paddlex"] = PaddlexArgs(tuple(paddlex_overrides), template, dataset_dir)
        return command(*args, **kwargs)

    return run


def gen_module(ctx: click.Context, config: str, paddlex: Any, output: Optional[str], write: bool,
               class_num: Optional[int], **gen_options: Any) -> bool:
    """gen on a PaddleX module config (False: `config` is none, cli.py goes on as for PaddleClas configs).
    The PaddleClas config is written first, then (with --write) MODULE.yaml; notes and summary to stderr."""
    from .paddlex_commands import gen_module as plan, is_module

    source = is_module(config)
    if source is None:
        if paddlex.overrides or paddlex.template or paddlex.dataset_dir:
            raise click.UsageError("--paddlex-override, --template and --dataset-dir go with a PaddleX module config")
        return False
    for name, flag in (("train_lists", "--train-list"), ("data_root", "--data-root")):
        if ctx.params.get(name):  # PaddleX counts DIR/train.txt: another list would make counts it never trains on
            raise click.UsageError(f"{flag} does not go with a PaddleX module config: the counts come from "
                                   "Global.dataset_dir's train.txt (or --dataset-dir DIR)")
    from .atomic import STDOUT, all_or_nothing, refuse_inputs, write_output
    from .cli_options import echo_problems
    from .gen import generate
    from .report import escape_text

    refuse_inputs([("-o", output)], [config, paddlex.template])

    world_size = gen_options.pop("world_size")
    given = ctx.get_parameter_source("world_size") not in (click.core.ParameterSource.DEFAULT, None)
    result, target, new_module = plan(config, source, paddlex, generate, output, write, class_num,
                                      world_size if given else None, **gen_options)
    echo_problems(result.notes)
    click.echo(result.summary, err=True)
    with all_or_nothing():  # both files or neither, Ctrl-C included
        status = write_output(target, result.text.encode("utf-8"))
        module_status = write_output(config, new_module.encode("utf-8")) if new_module is not None else None
    if target != STDOUT:
        click.echo(f"{status} {escape_text(target)}", err=True)
    if module_status is not None:
        click.echo(f"{module_status} {escape_text(config)} (Train.basic_config_path)", err=True)
    return True


def validate_module(path: str, options: Any, fix: bool, paddlex: Any) -> Optional[Any]:
    """validate's result for one PaddleX module config (a validate.FileResult), None for any other file."""
    from .paddlex_commands import is_module, validate_module as check
    from .validate import FileResult

    source = is_module(path)
    if source is None:
        return None
    problems, fixed = check(source, options, fix, paddlex)
    return FileResult(path, problems, fixed)


__all__: List[str] = ["gen_module", "module_options", "paddlex_checkout", "paddlex_checkout_option", "validate_module"]
