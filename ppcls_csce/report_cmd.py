"""The `report` command's options (registered by cli_paddle.py); the work is in report_run.py."""

from typing import Optional, Tuple

import click

from .cli_options import echo_problems
from .errors import CsceError


@click.command("report")
@click.option("--model", "models", multiple=True, type=click.Path(dir_okay=False),
              help="A .pdparams tools/train.py saved; repeat for several models side by side (deltas against the "
                   "first). Read as data: a file with anything paddle.save does not write is refused.")
@click.option("--logits", "logits", multiple=True, type=click.Path(dir_okay=False),
              help="Saved logits (--save-logits) to report instead of a forward pass; repeatable, after --model's.")
@click.option("--config", type=click.Path(dir_okay=False), default=None,
              help="The PaddleClas config the model was trained with: its Arch, Eval dataloader and transforms, "
                   "train list (training counts) and Infer.PostProcess.class_id_map_file (names).")
@click.option("--paddleclas", default=None, metavar="DIR", type=click.Path(exists=True, file_okay=False),
              help="The PaddleClas checkout whose build_model and dataloader run the model.")
@click.option("--val-list", default=None, type=click.Path(dir_okay=False),
              help="The evaluation list (default: the config's DataLoader.Eval.dataset.cls_label_path).")
@click.option("--data-root", default=None, type=click.Path(file_okay=False),
              help="The folder its image paths are relative to (default: the config's Eval image_root).")
@click.option("--label-file", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Class names, `id name` per line (default: the config's class_id_map_file).")
@click.option("--device", type=click.Choice(["auto", "gpu", "cpu"]), default="auto", show_default=True,
              help="auto: the GPU when paddle has CUDA and sees one, else the CPU.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Images per forward batch (default: the config's Eval sampler batch_size).")
@click.option("--out", required=True, type=click.Path(), help="The folder the report goes into (made if needed).")
@click.option("--save-logits", multiple=True, type=click.Path(dir_okay=False),
              help="Keep the logits of each --model (one FILE per --model, in order) as an .npz for later "
                   "reports or adjust, with no second forward pass.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
def report_command(models: Tuple[str, ...], logits: Tuple[str, ...], config: Optional[str], paddleclas: Optional[str],
                   val_list: Optional[str], data_root: Optional[str], label_file: Optional[str], device: str,
                   batch_size: Optional[int], out: str, save_logits: Tuple[str, ...], no_progress: bool) -> None:
    """Per-class evaluation of trained models: top-1, balanced accuracy, macro-F1, many/medium/few-shot
    accuracy, ECE, a per-class table, the confusion matrix and pictures, written into --out (report.md,
    report.json, per_class.csv, confusion.csv, PNGs).

    The forward pass is PaddleClas's own (build_model, the config's Eval dataloader, from --paddleclas).
    Memory: the logits, N x C float32 per model (50,000 images x 1,000 classes: 200 MB), and a C x C
    count matrix.
    """
    if not models and not logits:
        raise click.UsageError("give --model (with --config and --paddleclas) or --logits")
    if models and (config is None or paddleclas is None):
        raise click.UsageError("--model needs --config and --paddleclas (the forward pass is PaddleClas's)")
    if save_logits and len(save_logits) != len(models):
        raise click.UsageError(f"--save-logits takes one FILE per --model ({len(models)} given, "
                               f"{len(save_logits)} files)")
    if (val_list or data_root) and not models:
        raise click.UsageError("--val-list and --data-root go with --model (saved logits hold their labels)")
    try:
        import matplotlib  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as error:
        raise CsceError(f"report needs numpy and matplotlib ({error}): pip install 'ppcls-csce[plot]'") from None
    from .report_run import Request, run

    outcome = run(Request(out=out, models=models, logits=logits, config=config, paddleclas=paddleclas,
                          val_list=val_list, data_root=data_root, label_file=label_file, device=device,
                          batch_size=batch_size or 0, save_logits=save_logits, progress=not no_progress))
    if outcome.notes:
        echo_problems(outcome.notes)
    click.echo(outcome.summary, nl=False)
    click.echo(f"wrote {len(outcome.written)} files into {out}", err=True)
