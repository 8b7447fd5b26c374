"""The `adjust` command: post-hoc logit adjustment or tau-normalisation of a trained model, tau given or chosen
on held-out data (saved logits, or a held-out list run through the model)."""

import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

import click

from .cli_options import _DELIMITER, _TRAIN_LIST, _delimiter, _tau, echo_problems
from .errors import CsceError
from .paddle_import import import_paddle
from .report import WARNING, note

if TYPE_CHECKING:
    from .tau_search import Curve

AUTO = "auto"


def _tau_or_auto(ctx: click.Context, param: click.Parameter, value: str) -> Union[float, str]:
    """A number (the same rule as Balanced Softmax's tau) or `auto`."""
    if value.strip().lower() == AUTO:
        return AUTO
    try:
        number = float(value)
    except ValueError:
        raise click.BadParameter(f"a number >= 0 or 'auto', got {value!r}") from None
    return _tau(ctx, param, number)


@click.command("adjust")
@click.option("--model", required=True, type=click.Path(dir_okay=False),
              help="A .pdparams that tools/train.py saved (best_model.pdparams, epoch_N.pdparams). It is read as "
                   "data (only what paddle.save writes; nothing in it is run).")
@_TRAIN_LIST
@_DELIMITER
@click.option("--method", type=click.Choice(["logit-adjust", "tau-norm"]), default="logit-adjust",
              show_default=True,
              help="logit-adjust: the classifier bias minus tau * log(n_c / N) (Menon et al.). tau-norm: every "
                   "class's weight column divided by its length to the power tau, and the bias set to 0 (Kang et "
                   "al.'s tau-normalised classifier has none).")
@click.option("--tau", default="1.0", show_default=True, callback=_tau_or_auto, metavar="TAU|auto",
              help="The strength (0: logit-adjust changes nothing). auto: the tau of the highest balanced accuracy "
                   "on held-out data (--logits or --val-list) over tau = 0, 0.05, ..., 2.0 (41 values; the smallest "
                   "on a tie), with the curve as a table and a PNG.")
@click.option("--logits", "logits_path", default=None, type=click.Path(dir_okay=False),
              help="With --tau auto: held-out logits of this model, saved by `report --save-logits`.")
@click.option("--val-list", default=None, type=click.Path(dir_okay=False),
              help="With --tau auto: a held-out list (never the test list), run through the model once "
                   "(needs --config, --paddleclas and paddle).")
@click.option("--data-root", default=None, type=click.Path(file_okay=False),
              help="With --val-list: the folder its image paths are relative to (default: the config's "
                   "DataLoader.Eval image_root).")
@click.option("--config", default=None, type=click.Path(dir_okay=False),
              help="With --val-list: the PaddleClas config the model was trained with (network, eval transforms).")
@click.option("--paddleclas", default=None, metavar="DIR", type=click.Path(exists=True, file_okay=False),
              help="With --val-list: the PaddleClas checkout that builds the network.")
@click.option("--device", type=click.Choice(["auto", "gpu", "cpu"]), default="auto", show_default=True,
              help="With --val-list: where the forward pass runs.")
@click.option("--curve", default=None, type=click.Path(dir_okay=False),
              help="With --tau auto: where the curve's PNG goes (default: OUTPUT without .pdparams + .tau.png).")
@click.option("--param", "param_name", default=None,
              help="The classifier bias (default: the one [C] bias whose layer has a [*, C] weight).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where the adjusted .pdparams goes (never the input; written atomically).")
def adjust_command(model: str, train_lists: Tuple[str, ...], delimiter: Optional[str], method: str,
                   tau: Union[float, str], logits_path: Optional[str], val_list: Optional[str],
                   data_root: Optional[str], config: Optional[str], paddleclas: Optional[str], device: str,
                   curve: Optional[str], param_name: Optional[str], output: str) -> None:
    """Post-hoc fix of a trained model's classifier, no retraining: logit adjustment (bias minus tau * log prior)
    or tau-normalisation (weights over their length^tau).

    The counts come from the train list(s). Choose tau on held-out data with --tau auto (never on the test set:
    that is leakage). Exported inference models (inference.pdiparams) are not supported: adjust the .pdparams,
    then export again.
    """
    from .atomic import all_or_nothing, refuse_inputs
    from .paddle_import import need
    from .weights import table_from_lists

    held_out = [name for name, value in (("--logits", logits_path), ("--val-list", val_list)) if value is not None]
    if tau == AUTO and len(held_out) != 1:
        raise click.UsageError("--tau auto needs held-out data: exactly one of --logits FILE or --val-list LIST"
                               + (f" (got {' and '.join(held_out)})" if held_out else ""))
    if tau != AUTO and (held_out or curve):
        raise click.UsageError(f"{(held_out or ['--curve'])[0]} goes with --tau auto")
    if val_list is None and (data_root or config or paddleclas):
        raise click.UsageError("--data-root, --config and --paddleclas go with --val-list")
    if val_list is not None and (config is None or paddleclas is None):
        raise click.UsageError("--val-list needs --config (the model's PaddleClas config) and --paddleclas DIR")
    need("adjust", "numpy", "ppcls-csce[paddle]")  # a model is numpy arrays; paddle itself is not needed
    if tau == AUTO:
        need("adjust --tau auto", "matplotlib", "ppcls-csce[plot]")  # for the curve, before any work
    from . import adjust

    table = table_from_lists(list(train_lists), _delimiter(delimiter) or " ")
    counts = table.num_class_list
    adjust.check_paths(model, output)
    picture = None
    if tau == AUTO:
        picture = curve or (output[: -len(".pdparams")] if output.endswith(".pdparams") else output) + ".tau.png"
    refuse_inputs([("-o", output), ("--curve", picture)], [model, logits_path, val_list, config, *train_lists])
    if curve and not os.path.isdir(os.path.dirname(os.path.realpath(curve))):
        raise CsceError(f"cannot write: the folder {os.path.dirname(os.path.realpath(curve))} does not exist",
                        path=curve, rule=adjust.RULE)
    state = adjust.read_model(model)
    if tau == AUTO:
        from . import tau_search

        found = _search(state, counts, method, param_name, model, logits_path, val_list, data_root, config,
                        paddleclas, device)
        tau = found.tau
        click.echo(tau_search.table(found, method), nl=False)
    assert isinstance(tau, float)
    with all_or_nothing():  # the model and its curve, or neither (Ctrl-C included)
        name = adjust.write_adjusted(model, state, counts, tau, output, param_name, method)
        if picture is not None:
            tau_search.plot(found, method, picture)
    if picture is not None:
        click.echo(f"tau {tau:g} chosen on {held_out[0][2:]} {logits_path or val_list}; the curve: {picture}",
                   err=True)
    what = (f"-{tau:g} * log(n_c / N)" if method == adjust.LOGIT_ADJUST else f"tau-norm {tau:g} (its weight "
            "columns over their length^tau, the bias set to 0)")
    click.echo(f"adjusted {name} by {what} ({table.summary().split(', weights')[0]}); wrote {output}", err=True)


def _search(state: Dict[str, Any], counts: List[int], method: str, param_name: Optional[str], model: str,
            logits_path: Optional[str], val_list: Optional[str], data_root: Optional[str], config: Optional[str],
            paddleclas: Optional[str], device: str) -> "Curve":
    """The balanced-accuracy curve of the held-out logits over the grid (classes without images: a warning)."""
    import numpy as np

    from . import adjust as adj, tau_search

    try:
        head = adj.classifier(state, len(counts), param_name)
        log_prior = np.log(np.asarray(counts, dtype=np.float64) / sum(counts))
        adj.affine(method, 0.0, log_prior, head)  # a zero-length weight column is refused before the search
    except CsceError as error:
        raise CsceError(error.message, path=model, rule=adj.RULE) from None
    if logits_path is not None:
        from .logits import load_logits

        held = load_logits(logits_path)
        source = logits_path
    else:  # report's forward pass: PaddleClas's build_model, the config's Eval transforms and loader
        from .logits import Logits
        from .report_inputs import read_inputs

        inputs = read_inputs(str(config), val_list, data_root, None, paddleclas)
        import_paddle("adjust")  # Ctrl-C during paddle's import: exit 130
        from .evaluate import forward

        (logits,), labels, _ = forward(inputs, [model], str(paddleclas), device, 0)
        held = Logits(logits, labels)
        source = val_list  # type: ignore[assignment]
    if held.class_num != len(counts):
        raise CsceError(f"the logits have {held.class_num} classes, the train list(s) {len(counts)}: not logits of "
                        "this model", path=source, rule=adj.RULE)
    if len(held.labels) == 0:
        raise CsceError("no held-out images: nothing to choose tau on", path=source, rule=adj.RULE)
    found = tau_search.search(held.logits, held.labels, lambda tau: adj.affine(method, tau, log_prior, head),
                              center=adj.center(method, head))
    if found.best == len(found.taus) - 1 and found.balanced[-1] > found.balanced[0]:
        echo_problems([note(f"the best tau is the grid's largest, {found.tau:g}: balanced accuracy may go on rising "
                            "beyond it (the grid is fixed; give a larger tau by hand to look)", path=os.fspath(source),
                            rule=adj.RULE, severity=WARNING)])
    if found.missing:
        shown = ", ".join(map(str, found.missing[:20])) + (" ..." if len(found.missing) > 20 else "")
        echo_problems([note(f"{len(found.missing)} of {len(counts)} classes have no held-out image ({shown}): "
                            f"balanced accuracy is over the other {len(counts) - len(found.missing)}",
                            path=os.fspath(source), rule=adj.RULE, severity=WARNING)])
    return found
