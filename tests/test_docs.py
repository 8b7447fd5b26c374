"""Every command the README and the docs show stays true (issue 22.5): each ```console block is run, page by page, in
a scratch folder holding the bundled example, and its output compared; a block the scratch folder cannot run
carries `<!-- tested-by: tests/test_x.py::test_name -->`, and that test must exist and hold each command's text.
The recipe the README and the walk-through show from the PaddleClas root is run here for real, through PaddleClas's
own tools/train.py on the CPU. Also: the README fits a screen and renders on the package page (absolute links),
the rules reference covers every rule, and the docs speak of no machine of this project.
"""

import ast
import difflib
import hashlib
import importlib.util
import math
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import yaml

from conftest import PADDLECLAS, REPO, repo_env, shrink_transforms

README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
TEST_COMMAND = "pip install -e '.[test,paddle,engine]' && python -m pytest"
SITE = "https://ppcls-csce.github.io/ppcls-csce/"
BLOB = "https://github.com/ppcls-csce/ppcls-csce/blob/main/"
RAW = "https://raw.githubusercontent.com/ppcls-csce/ppcls-csce/main/"
TIMEOUT = 300
FENCE = re.compile(r"^(?:<!--\s*tested-by:\s*(?P<by>\S+)\s*-->\n)?```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```",
                   re.M | re.S)


@dataclass
class Example:
    command: str
    expected: List[str] = field(default_factory=list)


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    body: str
    tested_by: Optional[str]

    def examples(self) -> List[Example]:
        """The `$ command` lines (a trailing backslash continues one) and the output lines after each."""
        examples: List[Example] = []
        for line in self.body.splitlines():
            if line.startswith("$ "):
                examples.append(Example(line[2:]))
            elif examples and examples[-1].command.endswith("\\") and not examples[-1].expected:
                examples[-1].command = examples[-1].command[:-1].rstrip() + " " + line.strip()
            elif examples:
                examples[-1].expected.append(line.rstrip())
        return examples


def blocks(page: Path) -> List[Block]:
    text = page.read_text(encoding="utf-8")
    return [Block(page, text.count("\n", 0, match.start()) + 1, match.group("lang"), match.group("body"),
                  match.group("by")) for match in FENCE.finditer(text)]


def console_blocks(page: Path, tested_by: bool) -> List[Block]:
    return [block for block in blocks(page) if block.lang == "console" and bool(block.tested_by) == tested_by]


def matches(expected: List[str], actual: List[str]) -> bool:
    """Line by line; a line `...` stands for any lines, a line ending in `...` for any line with that start."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[skip:]) for skip in range(len(actual) + 1))
    if not actual:
        return False
    line = actual[0]
    same = line.startswith(head[:-3]) if head.endswith("...") else line == head
    return same and matches(rest, actual[1:])


def argv(command: str) -> List[str]:
    """The command as the user's shell would run it: csce-config is this checkout's, python this interpreter."""
    words = shlex.split(command)
    if words[0] == "csce-config":
        return [sys.executable, "-m", "ppcls_csce", *words[1:]]
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    return words


def run(command: str, cwd: Path) -> Tuple[int, List[str]]:
    env = repo_env()
    done = subprocess.run(argv(command), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=TIMEOUT, env=env)
    return done.returncode, [line.rstrip() for line in done.stdout.splitlines()]


def scratch(folder: Path) -> Path:
    """A folder like a checkout's top, for the docs' commands: the bundled example and the validate fixtures."""
    shutil.copytree(REPO / "examples", folder / "examples",
                    ignore=shutil.ignore_patterns("work", "__pycache__"))
    shutil.copytree(REPO / "tests" / "fixtures", folder / "tests" / "fixtures")
    return folder


RUNNABLE = [page for page in PAGES if console_blocks(page, tested_by=False)]
TESTED_ELSEWHERE = [block for page in PAGES for block in console_blocks(page, tested_by=True)]


def test_the_readme_and_the_walk_through_have_commands() -> None:
    assert README in RUNNABLE or any(block.page == README for block in TESTED_ELSEWHERE)
    assert DOCS / "paddleclas.md" in RUNNABLE and DOCS / "getting-started.md" in RUNNABLE


@pytest.mark.parametrize("page", RUNNABLE, ids=[page.relative_to(REPO).as_posix() for page in RUNNABLE])
def test_every_console_command_prints_what_the_page_says(page: Path, tmp_path: Path) -> None:
    """The page's commands in order, in one scratch folder (a later command may read what an earlier one wrote);
    a command shown without output must also exit 0 (one that fails says so in what the page shows)."""
    folder = scratch(tmp_path)
    failures = []
    for block in console_blocks(page, tested_by=False):
        for example in block.examples():
            code, actual = run(example.command, folder)
            if not matches(example.expected, actual) or (code != 0 and not example.expected):
                failures.append("\n".join([f"{page.name}:{block.line}: $ {example.command}", "the page says:",
                                           *example.expected, f"the command prints (exit {code}):", *actual]))
    assert not failures, "\n\n".join(failures)


def _test_source(reference: str) -> Optional[str]:
    """The source of the named test function, with that of the module-level names its body uses (a command may
    live in a constant), and the strings they hold; None when there is no such test."""
    path, _, name = reference.partition("::")
    name = name.split("[", 1)[0]  # a parametrized test's id names the same function
    file = REPO / path
    if not file.is_file() or not name:
        return None
    text = file.read_text(encoding="utf-8")
    tree = ast.parse(text)
    top = {node.name if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else target.id: node
           for node in tree.body
           for target in ([node] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else getattr(node, "targets", []))
           if isinstance(node, (ast.FunctionDef, ast.ClassDef)) or isinstance(target, ast.Name)}
    function = top.get(name)
    if not isinstance(function, ast.FunctionDef) or not name.startswith("test"):
        return None
    used = {node.id for node in ast.walk(function) if isinstance(node, ast.Name)}
    nodes = [function, *(top[used_name] for used_name in sorted(used & set(top)))]
    strings = [node.value for tree_node in nodes for node in ast.walk(tree_node)
               if isinstance(node, ast.Constant) and isinstance(node.value, str)]  # "a \"b\"" as the shell sees it
    return "\n".join([*(ast.get_source_segment(text, node) or "" for node in nodes), *strings])


@pytest.mark.parametrize("block", TESTED_ELSEWHERE,
                         ids=[f"{block.page.name}:{block.line}" for block in TESTED_ELSEWHERE])
def test_a_block_tested_elsewhere_names_a_test_that_runs_its_commands(block: Block) -> None:
    source = _test_source(block.tested_by or "")
    assert source is not None, f"{block.page.name}:{block.line}: no test {block.tested_by}"
    missing = [example.command for example in block.examples() if example.command not in source]
    assert block.examples() and not missing, f"{block.page.name}:{block.line}: {block.tested_by} never runs {missing}"


def test_the_tested_by_check_refuses_a_missing_test_or_command() -> None:
    assert _test_source("tests/test_docs.py::test_no_such_test") is None
    assert _test_source("tests/no_such_file.py::test_x") is None
    source = _test_source("tests/test_docs.py::test_the_recipe_trains_from_the_paddleclas_root")
    assert source is not None and "python tools/train.py -c my_config.yaml" in source
    assert "csce-config gen --config my_config.yaml --write --gamma 2" not in source


# --- the recipe from the PaddleClas root, for real ------------------------------------------------------------------

STAND_IN = [8, 6, 5, 4, 3, 3, 2, 2, 2, 1]  # images a class: a long tail of the example's lines, 36 in all
VAL_PER_CLASS = 2
SIZE = 32


def _stand_in_data(checkout: Path) -> None:
    """dataset/imagenette_lt/ as the walk-through says: the example's list lines (a long-tailed part of them) and
    small images at the paths they name; the repository ships no images."""
    import cv2
    import numpy as np

    folder = checkout / "dataset" / "imagenette_lt"
    rng = np.random.default_rng(0)
    for name, keep in (("train_list.txt", STAND_IN), ("val_list.txt", [VAL_PER_CLASS] * len(STAND_IN))):
        taken: Dict[int, int] = {}
        lines = []
        for line in (REPO / "examples" / name).read_text(encoding="utf-8").splitlines():
            path, label = line.split(" ")
            if taken.get(int(label), 0) < keep[int(label)]:
                taken[int(label)] = taken.get(int(label), 0) + 1
                lines.append(line)
                image = folder / path
                image.parent.mkdir(parents=True, exist_ok=True)
                pixels = np.clip(rng.normal(40 + 20 * int(label), 30, (SIZE + 4, SIZE + 4, 3)), 0, 255)
                assert cv2.imwrite(str(image), pixels.astype(np.uint8))
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _my_config(checkout: Path) -> Path:
    """The example config with the walk-through's changes (the lists' paths, the device), then shrunk to a
    one-epoch run on the stand-in images; none of the shrinking is in the docs' commands."""
    text = (REPO / "examples" / "ResNet18_longtail.yaml").read_text(encoding="utf-8")
    for old, new in (("cls_label_path: ./examples/train_list.txt", "cls_label_path: ./dataset/imagenette_lt/train_list.txt"),
                     ("cls_label_path: ./examples/val_list.txt", "cls_label_path: ./dataset/imagenette_lt/val_list.txt"),
                     ("device: gpu", "device: cpu")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    data = yaml.safe_load(text)
    assert data["DataLoader"]["Train"]["dataset"]["image_root"] == "./dataset/imagenette_lt/"  # unchanged
    data["Global"].update(epochs=1, print_batch_step=1, image_shape=[3, SIZE, SIZE])
    data["Optimizer"]["lr"] = {"name": "Cosine", "learning_rate": 0.01, "warmup_epoch": 0}
    for mode in ("Train", "Eval"):
        loader = data["DataLoader"][mode]
        loader["sampler"]["batch_size"] = 8
        loader["loader"] = {"num_workers": 0, "use_shared_memory": False}
        shrink_transforms(loader, SIZE)
    path = checkout / "my_config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _digest(root: Path) -> Dict[str, str]:
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted((root / "ppcls").rglob("*")) if path.is_file() and "__pycache__" not in path.parts}


@pytest.mark.engine
def test_the_recipe_trains_from_the_paddleclas_root(tmp_path: Path) -> None:
    """README's recipe and the walk-through's step 5, word for word, in a copy of a PaddleClas checkout."""
    pytest.importorskip("paddle", reason="the recipe trains with paddle: pip install -e '.[paddle]'")
    pytest.importorskip("cv2", reason="PaddleClas's tools/train.py needs the [engine] extra: pip install -e '.[engine]'")
    checkout = tmp_path / "PaddleClas"
    shutil.copytree(PADDLECLAS, checkout, ignore=shutil.ignore_patterns("__pycache__", "output*", "dataset"))
    before = _digest(checkout)
    _stand_in_data(checkout)
    config = _my_config(checkout)
    recipe = [
        "csce-config stats --train-list dataset/imagenette_lt/train_list.txt",
        "csce-config gen --config my_config.yaml --write",
        "csce-config install --paddleclas .",
        "csce-config install --paddleclas . --check",
        "csce-config validate my_config.yaml --paddleclas .",
        "csce-config smoke --config my_config.yaml --paddleclas .",
        "python tools/train.py -c my_config.yaml",
        "csce-config uninstall --paddleclas .",
    ]
    outputs = {}
    for command in recipe:
        code, lines = run(command, checkout)
        assert code == 0, "\n".join([f"$ {command} (exit {code})", *lines[-60:]])
        outputs[command] = lines
    assert any(line.startswith("10 classes, 36 samples") for line in outputs[recipe[0]])
    entry = yaml.safe_load(config.read_text(encoding="utf-8"))["Loss"]["Train"][0]["CostSensitiveCE"]
    assert entry["num_class_list"] == STAND_IN  # the counts of the list the config names, from the PaddleClas root
    log = "\n".join(outputs["python tools/train.py -c my_config.yaml"])
    losses = [float(value) for value in re.findall(r"\[Train\]\[Epoch 1/1\]\[Avg\].*?CS_CELoss: ([^,\s]+)", log)]
    assert losses and all(math.isfinite(value) for value in losses), log[-3000:]
    assert (checkout / "output" / "latest.pdparams").is_file()  # Global.output_dir ./output/, from the root
    assert _digest(checkout) == before  # uninstall gave PaddleClas back byte for byte


@pytest.mark.skipif(importlib.util.find_spec("paddle") is None, reason="needs paddle: pip install -e '.[paddle]'")
def test_dropping_the_drw_step_counter(tmp_path: Path) -> None:
    """losses.md: the one-liner that takes the DRW step counter out of a checkpoint, run as the page shows it."""
    import numpy as np
    import paddle

    paddle.save({"fc.weight": paddle.to_tensor(np.ones((2, 3), "float32")),
                 "loss_func.0.train_steps": paddle.to_tensor(np.array([39], "int64"))},
                str(tmp_path / "best_model.pdparams"))
    command = ("python -c \"import paddle; s = paddle.load('best_model.pdparams'); "
               "[s.pop(k) for k in list(s) if k.endswith('train_steps')]; paddle.save(s, 'best_model_fresh.pdparams')\"")
    code, lines = run(command, tmp_path)
    assert code == 0, lines
    assert sorted(paddle.load(str(tmp_path / "best_model_fresh.pdparams"))) == ["fc.weight"]


# --- what the pages show besides commands ---------------------------------------------------------------------------


def test_the_diff_shown_is_what_gen_does(tmp_path: Path) -> None:
    (shown,) = [block.body for block in blocks(DOCS / "paddleclas.md") if block.lang == "diff"]
    out = tmp_path / "out.yaml"
    subprocess.run([sys.executable, "-m", "ppcls_csce", "gen", "--train-list", "examples/train_list.txt",
                    "--config", "examples/ResNet18_longtail.yaml", "-o", str(out)],
                   cwd=REPO, check=True, capture_output=True)
    before = (REPO / "examples" / "ResNet18_longtail.yaml").read_text().splitlines()
    changed = [line for line in difflib.ndiff(before, out.read_text().splitlines()) if line[:2] in ("- ", "+ ")]
    assert [line[0] + line[2:] for line in changed] == [line for line in shown.splitlines() if line[:1] in "+-"]


def test_the_experiment_tables_are_the_committed_results() -> None:
    """The Fashion-MNIST tables are rows of examples/longtail/results.md, the run's own output."""
    page = (DOCS / "experiment.md").read_text(encoding="utf-8")
    results = (REPO / "examples" / "longtail" / "results.md").read_text(encoding="utf-8").splitlines()
    labels = {line.split(" | ")[0] for line in results if line.startswith("| ") and " | 3 | " in line}
    shown = [line for line in page.splitlines() if line.split(" | ")[0] in labels]
    assert len(shown) >= len(labels) >= 7  # every arm of the main table at least once
    assert [line for line in shown if line not in results] == []


def test_the_readme_fits_a_screen_and_keeps_the_test_command() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 100
    assert TEST_COMMAND in text
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert TEST_COMMAND in [line.strip() for line in ci.splitlines()]  # CI runs the README's command, word for word


def test_the_readme_links_are_absolute_and_lead_somewhere() -> None:
    """The package page renders the README away from the repository: every link and image is absolute; each
    points at a file of this repository or a page of the docs site that exists."""
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r"<img[^>]+src=\"([^\"]+)\"", text)
    assert targets
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    for target in targets:
        assert target.startswith("https://"), f"README link {target!r} is not absolute"
        if target.startswith(BLOB) or target.startswith(RAW):
            path = target.split("/main/", 1)[1]
            assert (REPO / path).exists(), target
        elif target.startswith(SITE) and target != SITE:
            page = target[len(SITE):].strip("/")
            assert (DOCS / f"{page}.md").is_file() or f" {page}.md" in nav, target


def _rules_reference():
    spec = importlib.util.spec_from_file_location("rules_reference", DOCS / "hooks" / "rules_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rules_reference_is_generated_from_every_rule() -> None:
    from ppcls_csce import rules

    reference = _rules_reference()
    text = reference.reference_markdown()
    registry = list(getattr(rules, "BY_ID", {}).values()) or list(rules.RULES)
    assert len(registry) >= 20
    for rule in registry:
        fields = reference.rule_fields(rule)
        assert f"### `{fields['id']}`\n\n**Level:** {fields['severity']}. {fields['summary']}" in text
        assert fields["doc"] and fields["doc"] in text  # the docstring is the documentation
    assert text.count("### `") == len(registry)
    page = (DOCS / "rules.md").read_text(encoding="utf-8")
    assert reference.MARKER in page
    assert reference.on_page_markdown(page, None, None, None) == page.replace(reference.MARKER, text)


def test_every_page_is_in_the_nav() -> None:
    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]

    def pages(entries) -> List[str]:
        found = []
        for entry in entries:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            found += pages(value) if isinstance(value, list) else [value]
        return found

    listed = pages(nav)
    assert sorted(set(listed)) == sorted(listed)
    assert {page.name for page in DOCS.glob("*.md")} <= set(listed)
    for page in ("paddlex.md", "versions.md", "report.md", "adjust.md"):  # written on other branches
        assert page in listed


def test_the_docs_speak_of_no_machine_of_this_project() -> None:
    for page in [*PAGES, REPO / "mkdocs.yml"]:
        text = page.read_text(encoding="utf-8")
        for word in ("../shared", "shared/PaddleClas", "shared/reference", "lent accelerator"):
            assert word not in text, f"{page.relative_to(REPO)}: {word}"
        assert not re.search(r"(?<![\w.])/work/", text), f"{page.relative_to(REPO)}: /work/"
