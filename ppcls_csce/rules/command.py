"""Ids that are raised outside the rule registry, documented here beside the rules: a command's own
preconditions (gen's in gen.py, smoke's in smoke/build.py) and input that is not a config (a list file, a
PaddleClas checkout, a missing dependency). None is a validate rule: a config that gen will not edit (FocalLoss,
a multi-label dataset) is still a valid config."""

from ..errors import INPUT_RULE
from .base import ERROR, DocumentedId

GEN_LOSS = DocumentedId(
    "gen-loss", ERROR,
    "gen: Loss.Train has no CELoss, CostSensitiveCE, BalancedSoftmaxCE or ClassBalancedCE (or is no list), so "
    "there is nothing to re-weight.",
    doc="gen edits a config only when Loss.Train is a list holding CELoss (which becomes the chosen loss) or one of "
        "CostSensitiveCE, BalancedSoftmaxCE, ClassBalancedCE (whose counts it updates): replacing any other loss "
        "would change what the model learns.",
)
GEN_DATASET = DocumentedId(
    "gen-dataset", ERROR,
    "gen: the train dataset is not an ImageNetDataset, whose list gen can count.",
    doc="gen counts single-label ImageNetDataset lists (`path label` lines) only: the train dataset must be one.",
)
SMOKE_LOSS = DocumentedId(
    "smoke-loss", ERROR,
    "smoke: Loss.Train has no CostSensitiveCE, BalancedSoftmaxCE or ClassBalancedCE entry to build and run.",
    doc="smoke runs every CostSensitiveCE, ClassBalancedCE and BalancedSoftmaxCE of Loss.Train: one must be there.",
)
LIST_CLASSES = DocumentedId(
    "list-classes", ERROR,
    "gen, stats, smoke: a class of 0..K-1 with no training image (its weight would be infinite), or an empty list.",
    doc="The weight of a class is (N_min / N_c) ** gamma, infinite for a class with no image: each such class is "
        "named, with where the class count K came from and how to change it (or --clamp-empty to count it as 1).",
)
INPUT = DocumentedId(
    INPUT_RULE, ERROR,
    "Input a command cannot use: a list file that cannot be read, a folder that is no PaddleClas checkout, a "
    "missing optional dependency.",
    doc="Reported with the path it is about (or csce-config when it is about none) and exit 1, never a traceback.",
)

# A PaddleX module config (paddlex.py, paddlex_commands.py; docs/paddlex.md has the recipe).
PADDLEX_KIND = DocumentedId(
    "paddlex-kind", ERROR,
    "A module config that is not a PaddleX image-classification one (detection, OCR, segmentation, multi-label), "
    "or a Train section without num_classes and epochs_iters.",
    doc="gen and validate read PaddleX image-classification module configs only: the others train other code.",
)
PADDLEX_TEMPLATE = DocumentedId(
    "paddlex-template", ERROR,
    "No PaddleClas template found for the module config (the message says where it looked), a "
    "Train.basic_config_path that is no file, or a template PaddleX could not use.",
    doc="PaddleX trains its PaddleClas template for Global.model rewritten from the module config: without it "
        "there is nothing to edit or check. Give Train.basic_config_path or --template FILE.",
)
PADDLEX_DATASET = DocumentedId(
    "paddlex-dataset", ERROR,
    "Global.dataset_dir is no folder, has no train.txt or label.txt, or label.txt's ids are not 0..K-1.",
    doc="PaddleX points both lists at DIR/train.txt and DIR/val.txt and names the classes from DIR/label.txt.",
)
PADDLEX_CLASSES = DocumentedId(
    "paddlex-classes", ERROR,
    "Train.num_classes is not the number of classes in label.txt (or train.txt has labels outside it).",
    doc="PaddleX sets Arch.class_num from Train.num_classes: a count that differs crashes at the first step.",
)

IDS = [GEN_LOSS, GEN_DATASET, SMOKE_LOSS, LIST_CLASSES, INPUT, PADDLEX_KIND, PADDLEX_TEMPLATE, PADDLEX_DATASET,
       PADDLEX_CLASSES]
