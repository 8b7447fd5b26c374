"""gen's edits outside the Loss section: DataLoader.Train.sampler made a LongTailSampler, LongTailAcc put first in
Metric.Eval (or its counts kept current). Each is a list of TextEdits on the config's text, applied with the loss
edits in one pass by gen.edit_config."""

from dataclasses import dataclass
from typing import List, Optional

import yaml

from . import ppconfig
from .edit import TextEdit, newline_of, set_keys, yaml_int_list
from .errors import ProblemsError
from .rules.base import located
from .rules.plugins import METRIC_NAME, METRIC_PARAMS, SAMPLER_PARAMS, metric_entries
from .weights import WeightTable
from .yamlsource import YamlSource


@dataclass(frozen=True)
class SamplerChoice:
    kind: str  # a key of ppconfig.SAMPLER_CHOICES
    start_epoch: Optional[int] = None


def sampler_edits(source: YamlSource, choice: SamplerChoice) -> List[TextEdit]:
    """DataLoader.Train.sampler made a LongTailSampler of the chosen kind; batch_size and drop_last stay (its
    len() is DistributedBatchSampler's, so iters_per_epoch is unchanged), shuffle becomes True (it draws at random)."""
    node = source.node_at(ppconfig.SAMPLER)
    values = source.get(ppconfig.SAMPLER)
    if not isinstance(node, yaml.MappingNode) or not isinstance(values, dict) or not node.value:
        raise ProblemsError([located(
            source, SAMPLER_PARAMS, ppconfig.SAMPLER[:2], "--sampler: DataLoader.Train.sampler is no mapping with batch_size to "
            "turn into a LongTailSampler; add one (name, batch_size, drop_last)")])
    items = [("name", ppconfig.LONG_TAIL_SAMPLER)] + list(ppconfig.SAMPLER_CHOICES[choice.kind].items())
    if "progressive" in ppconfig.SAMPLER_CHOICES[choice.kind] and "power" in values:
        items.append(("power", "null"))  # progressive has its own formula; the constructor refuses both
    elif values.get("progressive") not in (None, False):
        items.append(("progressive", "False"))
    epochs = source.get(("Global", "epochs"))
    if "progressive" in ppconfig.SAMPLER_CHOICES[choice.kind] and isinstance(epochs, int) and not isinstance(epochs, bool):
        items.append(("total_epochs", str(epochs)))  # PaddleClas before release/2.5.1 does not fill it
    if choice.start_epoch is not None:
        items.append(("start_epoch", str(choice.start_epoch)))
    if "shuffle" in values and values["shuffle"] is not True:
        items.append(("shuffle", "True"))
    return set_keys(source.text, node, items)


def metric_edits(source: YamlSource, table: WeightTable) -> List[TextEdit]:
    """A LongTailAcc entry with the counts first in Metric.Eval (PaddleClas picks the best model by the first
    metric's first figure, LongTailAcc's balanced accuracy); the entries there stay. Existing LongTailAcc entries
    (Metric.Train or Eval) get their counts updated instead, also without --metric, so they never go stale."""
    counts = yaml_int_list(table.num_class_list)
    existing = [keys for keys, _ in metric_entries(source)]
    if existing:
        edits: List[TextEdit] = []
        for keys in existing:
            node = source.node_at(keys)
            if not isinstance(node, yaml.MappingNode) or not node.value:
                raise ProblemsError([located(
            source,         METRIC_PARAMS, keys, "LongTailAcc is no mapping gen can update: write it as "
                    "`- LongTailAcc: {num_class_list: [...]}`", at_key=True)])
            edits.extend(set_keys(source.text, node, [("num_class_list", counts)]))
        return edits
    node = source.node_at(("Metric", "Eval"))
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise ProblemsError([located(
            source, METRIC_PARAMS, ("Metric", "Eval") if source.get(("Metric",)) is not None else (),
            "--metric: the config has no Metric.Eval list to add LongTailAcc to; add `Metric: {Eval: [{TopkAcc: "
            "{topk: [1, 5]}}]}`", at_key=True)])
    entry = f"{METRIC_NAME}: {{num_class_list: {counts}}}"
    if node.flow_style:
        first = node.value[0].start_mark.index
        return [TextEdit(first, first, f"{{{entry}}}, ")]
    first = node.value[0]
    line_start = source.text.rfind("\n", 0, first.start_mark.index) + 1
    dash = source.text.rfind("-", line_start, first.start_mark.index)
    indent = source.text[line_start:dash]
    if indent.strip():  # `key: - item` on one line is not something to insert a line into
        raise ProblemsError([located(
            source, METRIC_PARAMS, ("Metric", "Eval"), "--metric: Metric.Eval is laid out in a way gen cannot add to; add "
            "`- LongTailAcc: {num_class_list: [...]}` first in it by hand", at_key=True)])
    return [TextEdit(line_start, line_start, f"{indent}- {entry}{newline_of(source.text)}")]
