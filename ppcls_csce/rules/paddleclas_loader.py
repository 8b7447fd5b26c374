"""What PaddleClas's own YAML loader refuses, validate refuses: libyaml (read here for speed) is more lenient."""

from typing import Iterator

import yaml

from ..report import Problem
from .base import ERROR, Context, Rule


def check_paddleclas_loader(context: Context) -> Iterator[Problem]:
    """PaddleClas reads a config with PyYAML's pure-Python `yaml.SafeLoader` (ppcls/utils/config.py), which
    refuses a tab anywhere outside a quoted string (`batch_size:\t2`, a tab before a comment), while libyaml,
    which validate reads with for speed, accepts it: such a file would pass here and stop `tools/train.py` at
    its first line. Where the file holds a tab, it is read again with PaddleClas's own loader, and its error is
    reported where that loader stops."""
    text = context.source.text
    if "\t" not in text:  # the two loaders agree on a file without tabs: nothing to read again
        return
    loader = yaml.SafeLoader(text)
    try:
        loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(part for part in (error.context, error.problem) if part)
        tab = " (replace the tab by spaces)" if "'\\t'" in problem else ""
        yield context.at(PADDLECLAS_LOADER, mark.line + 1 if mark else None, mark.column + 1 if mark else None,
                         f"PaddleClas's loader (PyYAML's SafeLoader) cannot read it: {problem}{tab}")
    except yaml.YAMLError as error:
        yield context.at(PADDLECLAS_LOADER, None, None, f"PaddleClas's loader (PyYAML's SafeLoader) cannot read it: "
                         f"{error}")
    finally:
        loader.dispose()


PADDLECLAS_LOADER = Rule(
    "yaml-paddleclas-loader", ERROR,
    "YAML that libyaml reads but PaddleClas's pure-Python loader refuses: a tab after a colon, before a comment, ...",
    check=check_paddleclas_loader,
)
RULES = [PADDLECLAS_LOADER]
