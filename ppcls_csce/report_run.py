"""`csce-config report` end to end: check the inputs, one forward pass per model (or saved logits), the
figures, then every file rendered in memory and only then written (each atomically) into --out, so a bad
input or a failure on the way leaves the folder as it was."""

import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import classreport
from .atomic import all_or_nothing, write_atomic
from .errors import CsceError, ProblemsError
from .logits import load_logits, save_logits
from .report import Problem, note
from .report_files import (Entry, confusion_csv, per_class_csv, render_json, render_markdown, terminal_summary)
from .report_inputs import Inputs, read_inputs, read_names

RULE = "report"


@dataclass
class Request:
    """What the command line asked for."""

    out: str
    models: Sequence[str] = ()
    logits: Sequence[str] = ()
    config: Optional[str] = None
    paddleclas: Optional[str] = None
    val_list: Optional[str] = None
    data_root: Optional[str] = None
    label_file: Optional[str] = None
    device: str = "auto"
    batch_size: int = 0
    save_logits: Sequence[str] = ()
    progress: bool = True


@dataclass
class Outcome:
    summary: str
    written: List[str]
    notes: List[Problem] = field(default_factory=list)


def labels_for(paths: Sequence[str]) -> List[str]:
    """Short, distinct names for the models: the file stem, with its folder when stems repeat."""
    stems = [os.path.splitext(os.path.basename(path))[0] for path in paths]
    if len(set(stems)) < len(stems):
        stems = [f"{os.path.basename(os.path.dirname(os.path.abspath(path)))}/{stem}" for path, stem in zip(paths, stems)]
    seen: Dict[str, int] = {}
    labels = []
    for stem in stems:
        seen[stem] = seen.get(stem, 0) + 1
        labels.append(stem if seen[stem] == 1 else f"{stem}#{seen[stem]}")
    return labels


def _suffixes(labels: Sequence[str]) -> List[str]:
    if len(labels) == 1:
        return [""]
    return [f"_{index + 1}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', label)}" for index, label in enumerate(labels)]


def _check_out(out: str) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise CsceError("--out must be a folder (it is a file)", path=out, rule=RULE)
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise CsceError(f"cannot write: the folder {parent} does not exist", path=out, rule=RULE)


def run(request: Request) -> Outcome:
    _check_out(request.out)
    from .atomic import refuse_inputs  # before the forward pass: a typo must not cost a whole run

    refuse_inputs([("--save-logits", path) for path in request.save_logits],
                  [*request.models, *request.logits, request.config, request.val_list, request.label_file])
    with tempfile.TemporaryDirectory(prefix="csce-report-") as scratch:
        module_note = None
        if request.config is not None:
            config, module_note = paddleclas_config(request.config, scratch)
            request = replace(request, config=config)
        outcome = _run(request)
        if module_note is not None:
            outcome.notes.insert(0, module_note)
        return outcome


def paddleclas_config(config: str, scratch: str) -> Tuple[str, Optional[Problem]]:
    """The PaddleClas config a report runs: `config` itself, or for a PaddleX module config the one PaddleX
    trains (its template with PaddleX's rewrites, as gen and validate resolve it), written into `scratch`."""
    from .paddlex_commands import dataset_problems, is_module, resolve

    source = is_module(config)
    if source is None:
        return config, None
    from . import paddlex

    try:
        module = paddlex.load_module(config, (), source)
    except ValueError as error:
        raise CsceError(str(error), path=config, rule=paddlex.KIND_RULE) from None
    problems = dataset_problems(module)
    if problems:
        raise ProblemsError(problems)
    resolved = resolve(module)
    path = os.path.join(scratch, os.path.basename(config))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(resolved.source.text)
    return path, note(f"a PaddleX module config: reported with the PaddleClas config PaddleX trains for it "
                      f"({resolved.template} with PaddleX's rewrites)", config)


def _run(request: Request) -> Outcome:
    for path in request.models:  # before the config, paddle and PaddleClas are read: a typo fails at once
        if not os.path.isfile(path):
            raise CsceError("no such model file" + ("" if path.endswith(".pdparams") else
                                                    " (PaddleClas saves models as NAME.pdparams)"), path=path, rule=RULE)
    inputs: Optional[Inputs] = None
    if request.config is not None:
        inputs = read_inputs(request.config, request.val_list, request.data_root, request.label_file,
                             request.paddleclas, check_eval=bool(request.models))
    notes = list(inputs.notes) if inputs else []
    sources: List[str] = []
    all_logits: List[np.ndarray] = []
    labels: Optional[np.ndarray] = None
    counts = inputs.train_counts if inputs else None
    device = ""
    if request.models:
        from .evaluate import forward

        assert inputs is not None and request.paddleclas is not None  # the command line requires them
        all_logits, labels, device = forward(inputs, request.models, request.paddleclas, request.device,
                                             request.batch_size, request.progress)
        sources += list(request.models)
    for path in request.logits:
        saved = load_logits(path)
        if all_logits and saved.logits.shape[1] != all_logits[0].shape[1]:
            raise CsceError(f"has {saved.class_num} classes, the others {all_logits[0].shape[1]}", path=path, rule=RULE)
        if inputs is not None and saved.class_num != inputs.class_num:
            raise CsceError(f"has {saved.class_num} classes, the config {inputs.class_num}", path=path, rule=RULE)
        if labels is not None and not np.array_equal(saved.labels, labels):
            raise CsceError("was saved on another evaluation list (its labels differ): models are compared on "
                            "the same images only", path=path, rule=RULE)
        labels = saved.labels if labels is None else labels
        if counts is None and saved.train_counts is not None:
            counts = saved.train_counts.tolist()
        all_logits.append(saved.logits)
        sources.append(path)
    assert labels is not None
    if inputs is not None:
        names = dict(inputs.class_names)
    else:
        names = read_names(request.label_file, all_logits[0].shape[1]) if request.label_file else {}
    model_labels = labels_for(sources)
    entries = [Entry(label, source, classreport.build(logits, labels, counts))
               for label, source, logits in zip(model_labels, sources, all_logits)]
    meta = {"config": request.config, "evaluation list": inputs.eval_list if inputs and request.models else None,
            "image root": inputs.image_root if inputs and request.models else None, "device": device or None,
            "train list": inputs.train_list if inputs else None}
    files = render_files(entries, meta, names)
    written = _write(request, files, all_logits, labels, counts, inputs)
    if counts is None:
        notes.append(note("no training counts: no shot groups and no recall-vs-count picture (give --config, or "
                          "logits saved with them)"))
    return Outcome(terminal_summary(entries), written, notes)


def render_files(entries: List[Entry], meta: Dict[str, object], names: Dict[int, str]) -> Dict[str, bytes]:
    from .report_plots import pictures

    suffixes = _suffixes([entry.label for entry in entries])
    files = pictures([(entry.label, entry.report) for entry in entries], names, suffixes)
    for entry, suffix in zip(entries, suffixes):
        files[f"confusion{suffix}.csv"] = confusion_csv(entry.report).encode()
    files["per_class.csv"] = per_class_csv(entries, names).encode()
    files["report.json"] = render_json(entries, meta, names).encode()
    files["report.md"] = render_markdown(entries, meta, names, sorted(name for name in files if name.endswith(".png"))).encode()
    return files


def _write(request: Request, files: Dict[str, bytes], all_logits: List[np.ndarray], labels: np.ndarray,
           counts: Optional[List[int]], inputs: Optional[Inputs]) -> List[str]:
    written = []
    with all_or_nothing():  # every file of the report, or none (Ctrl-C included)
        for path, model, logits in zip(request.save_logits, request.models, all_logits):
            meta = {"model": model, "config": request.config, "list": inputs.eval_list if inputs else None,
                    "class_num": int(logits.shape[1])}
            save_logits(path, logits, labels, counts, meta)
            written.append(path)
        os.makedirs(request.out, exist_ok=True)
        for name, data in files.items():
            write_atomic(os.path.join(request.out, name), data)
            written.append(os.path.join(request.out, name))
    return written
