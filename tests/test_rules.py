"""Every validate rule against its fixtures: a bad file gives exactly the problems its `# expect:` lines list
(rule, line, column), a good file gives none. See tests/fixtures/validate/README.md."""

import re
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest
from click.testing import CliRunner

from ppcls_csce.cli import cli
from ppcls_csce.report import ERROR, WARNING
from ppcls_csce.rules import BY_ID, IDS, RULES
from ppcls_csce.rules.eval_names import expression_problem, name_problem
from ppcls_csce.validate import Options, validate_file, validate_text

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "validate"
EXPECT = re.compile(rb"^# expect: (\S+) (\S+)\r?$", re.MULTILINE)
BAD = sorted(FIXTURES.glob("*.bad*.yaml"))
GOOD = sorted(FIXTURES.glob("*.good*.yaml"))
Found = List[Tuple[str, str]]


def expected(path: Path) -> Found:
    return sorted((rule.decode(), where.decode()) for rule, where in EXPECT.findall(path.read_bytes()))


def options_for(path: Path) -> Options:
    return Options(data_root=str(FIXTURES), require_csce=b"# options: --require-csce" in path.read_bytes())


def found(path: Path) -> Found:
    """(rule, where): `LINE:COL` in the file itself, `-` without a position, `LIST:LINE` in a train list."""
    result = validate_file(path, options_for(path))
    assert not result.fixed
    out = []
    for problem in result.problems:
        assert problem.severity == BY_ID[problem.rule].severity, problem
        if problem.path != str(path):
            where = f"{Path(problem.path).name}:{problem.line}"
        elif problem.line is None:
            where = "-"
        else:
            where = f"{problem.line}:{problem.column}"
        out.append((problem.rule, where))
    return sorted(out)


def rule_of(path: Path) -> str:
    return path.name.split(".")[0]


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_fixture_gives_exactly_its_expected_problems(path: Path) -> None:
    wanted = expected(path)
    assert wanted, f"{path.name} has no '# expect:' line"
    assert {rule for rule, _ in wanted} == {rule_of(path)}, "a bad fixture shows its own rule only"
    assert found(path) == wanted


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_fixture_is_clean(path: Path) -> None:
    assert not EXPECT.search(path.read_bytes())
    assert found(path) == []


def test_every_rule_has_a_bad_and_a_good_fixture() -> None:
    for rule in RULES:
        if rule.id in ("installed", "paddleclas-engine", "dataset-alias"):
            continue  # need --paddleclas DIR and a checkout: tests/test_install.py, tests/test_versions.py
        assert any(rule_of(path) == rule.id for path in BAD), f"no {rule.id}.bad*.yaml"
        assert any(rule_of(path) == rule.id for path in GOOD), f"no {rule.id}.good*.yaml"
    assert {rule_of(path) for path in BAD + GOOD} <= set(BY_ID) | {"base"}


def test_file_rule(tmp_path: Path) -> None:
    for path, why in ((tmp_path, "is a directory"), (tmp_path / "missing.yaml", "no such file")):
        [problem] = validate_file(path).problems
        assert (problem.rule, problem.line, problem.severity) == ("file", None, ERROR)
        assert why in problem.message


def test_registry_is_documented() -> None:
    """Every rule and every id raised elsewhere has a unique id, a severity, a summary and its documentation (a
    rule's is its check's docstring)."""
    assert len(BY_ID) == len(RULES) + len(IDS), "ids are unique"
    for code in RULES + IDS:
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", code.id), code.id
        assert code.severity in (ERROR, WARNING)
        assert code.summary and len(code.doc) > 40, code.id
    assert all(rule.doc == " ".join(rule.check.__doc__.split()) for rule in RULES)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_cli_prints_each_problem_at_its_place(path: Path) -> None:
    args = ["validate", "--data-root", str(FIXTURES), str(path)]
    if b"# options: --require-csce" in path.read_bytes():
        args.insert(1, "--require-csce")
    result = CliRunner().invoke(cli, args)
    severities = {BY_ID[rule].severity for rule, _ in expected(path)}
    assert result.exit_code == (1 if ERROR in severities else 0), result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(expected(path))
    for rule, where in expected(path):
        if ":" in where and not where[0].isdigit():  # a train list's line: LIST:LINE
            shown = str(FIXTURES / where.split(":")[0]) + ":" + where.split(":")[1]
        else:
            shown = str(path) + ("" if where == "-" else f":{where}")
        pattern = re.escape(shown) + rf": {BY_ID[rule].severity}: .+ \[{re.escape(rule)}\]"
        assert any(re.fullmatch(pattern, line) for line in lines), (pattern, lines)


def test_strict_fails_on_warnings_only_fixture() -> None:
    path = FIXTURES / "csce-train-eval.bad.yaml"
    assert CliRunner().invoke(cli, ["validate", str(path)]).exit_code == 0
    assert CliRunner().invoke(cli, ["validate", "--strict", str(path)]).exit_code == 1


@pytest.mark.parametrize("name", ["CELoss", "TopkAcc", "ImageNetDataset", "DistributedBatchSampler", "PKSampler",
                                  "MixupOperator", "DistillationDMLLoss", "Topk", "_Private"])
def test_plain_names_pass(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize("name", ["__import__('os').system('id')", "os.system", "open", "eval", "exec", "print",
                                  "breakpoint", "__import__", "__builtins__", "lambda", "class", "a b", "", "CELoss()",
                                  3, None, True])
def test_names_that_run_code_are_refused(name: object) -> None:
    assert name_problem(name) is not None


def test_dotted_names_where_paddleclas_evals_attributes() -> None:
    assert name_problem("nn.GELU", dotted_ok=True) is None
    assert name_problem("nn.LayerNorm", dotted_ok=True) is None
    assert name_problem("nn.__class__", dotted_ok=True) is not None
    assert name_problem("os.system('x')", dotted_ok=True) is not None
    assert name_problem("exit.x", dotted_ok=True) is not None
    assert name_problem("nn.GELU") is not None  # a loss name is one identifier


@pytest.mark.parametrize("text", ["1.0/255.0", "1./255.", "0.00392157", "-1", "+0.5", "1.0/3.0", "2 * 0.5 - 1",
                                  "[0.0, 0.4, 0.4, 0.8, 0.8, 1.0]", "(1, 2)", " 1 / 255 "])
def test_arithmetic_expressions_pass(text: str) -> None:
    assert expression_problem(text) is None


@pytest.mark.parametrize("text", ["9**9**9", "[1.0] * 10**9", "__import__('os').getcwd()", "x", "1 if 1 else 2",
                                  "'a'", "True", "[[1.0]]", "1" + "+1" * 150, "(", "\x00", "[1.0] * 3"])
def test_other_expressions_are_refused(text: str) -> None:
    assert expression_problem(text) is not None


# --- csce-params reads params.entry_problems: every problem of an entry, in one pass, without pydantic -------------


def test_a_clean_config_is_validated_without_importing_pydantic() -> None:
    code = ("import sys\nfrom ppcls_csce.validate import Options, validate_file\n"
            f"problems = validate_file(sys.argv[1], Options(data_root={str(FIXTURES)!r})).problems\n"
            "print(len(problems), 'pydantic' in sys.modules, 'paddle' in sys.modules)")
    for name, wanted in (("base.good.yaml", "0 False False"), ("csce-params.bad.yaml", "5 False False")):
        done = subprocess.run([sys.executable, "-c", code, str(FIXTURES / name)], capture_output=True, text=True)
        assert done.stdout.split("\n")[-2] == wanted, done.stdout + done.stderr


# --- boundaries of the rules other helpers own (eval_names.py, stale.py): tests here, modules theirs ---------------


@pytest.mark.parametrize("text, keys", [
    ("Arch:\n  name: DistillationModel\n  models:\n    - Teacher:\n        name: __import__('os')\n",
     "Arch.models.0.Teacher.name"),
    ("Arch:\n  name: DistillationModel\n  models:\n    - Student:\n        name: ResNet\n        Backbone:\n"
     "          name: open\n", "Arch.models.0.Student.Backbone.name"),
    ("Loss:\n  Train:\n    - DistillationGTCELoss:\n        weight: 1.0\n        base_loss_name: os.system\n",
     "Loss.Train.0.DistillationGTCELoss.base_loss_name"),
])
def test_every_evaluated_model_and_base_loss_name_is_checked(text: str, keys: str) -> None:
    problems = [p for p in validate_text(text, "c.yaml") if p.rule == "eval-name"]
    assert len(problems) == 1 and problems[0].message.startswith(keys), problems


def test_a_label_at_the_configured_class_count_is_a_list_line(tmp_path: Path) -> None:
    listing = tmp_path / "l.txt"
    listing.write_text("a.jpg 0\nb.jpg 1\nc.jpg 2\nd.jpg 3\n")
    config = ("Arch:\n  name: R\n  class_num: 3\nDataLoader:\n  Train:\n    dataset:\n      name: ImageNetDataset\n"
              "      cls_label_path: l.txt\nLoss:\n  Train:\n    - CostSensitiveCE:\n        weight: 1.0\n"
              "        num_class_list: [1, 1, 1]\n")
    problems = validate_text(config, "c.yaml", Options(data_root=str(tmp_path)))
    assert [(p.rule, p.path, p.line) for p in problems] == [("list-line", str(listing), 4)], problems


# --- boundaries of the new rules ------------------------------------------------------------------------------------

DRW_TEXT = ("Global:\n  epochs: 120\nDataLoader:\n  Train:\n    sampler:\n      batch_size: 4\nArch:\n  name: R\n"
            "  class_num: 2\nLoss:\n  Train:\n    - CostSensitiveCE:\n        weight: 1.0\n        num_class_list: [6, 2]\n"
            "        drw_start_epoch: {start}\n        iters_per_epoch: {iters}\n")


@pytest.mark.parametrize("start, iters, wanted", [(120, 2, []), (121, 2, [(15, 26)]), (1, 2, []), (1, 3, [(16, 26)]),
                                                  (1, 1, [(16, 26)])])
def test_drw_schedule_boundaries(start: int, iters: int, wanted: List[Tuple[int, int]]) -> None:
    """The last epoch may be the first CS_CE epoch; 8 images in batches of 4 are exactly 2 iterations."""
    problems = validate_text(DRW_TEXT.format(start=start, iters=iters), "c.yaml")
    assert [(p.line, p.column) for p in problems if p.rule == "csce-drw-schedule"] == wanted, problems


def test_drw_schedule_counts_cards() -> None:
    text = DRW_TEXT.format(start=1, iters=1)  # 8 images on 2 cards: 4 per card, one batch
    assert [p for p in validate_text(text, "c.yaml", Options(world_size=2)) if p.rule == "csce-drw-schedule"] == []


@pytest.mark.parametrize("gamma, warned", [(6.3, False), (6.4, True)])
def test_weight_underflow_boundary(gamma: float, warned: bool) -> None:
    """1 image against 10**6: (1e-6) ** 6.3 = 1e-37.8 is a normal float32, 1e-38.4 is not (smallest normal 1.18e-38)."""
    text = ("Arch:\n  name: R\n  class_num: 2\nLoss:\n  Train:\n    - CostSensitiveCE:\n        weight: 1.0\n"
            f"        gamma: {gamma}\n        num_class_list: [1000000, 1]\n")
    found = [p for p in validate_text(text, "c.yaml") if p.rule == "csce-weight-underflow"]
    assert bool(found) == warned and all(p.severity == WARNING for p in found)


@pytest.mark.parametrize("section, tau, warned", [("Train", 0.63, False), ("Train", 0.64, True), ("Eval", 0.64, False)])
def test_balanced_softmax_smoothing_boundary(section: str, tau: float, warned: bool) -> None:
    """2 classes, epsilon 0.1: the margin is log(1 + 2 * 0.9 / 0.1) = log 19 = 2.944, and tau * log 100 reaches it at
    tau = 0.639. Only the training loss is meant (an Eval entry trains nothing)."""
    text = (f"Arch:\n  name: R\n  class_num: 2\nLoss:\n  {section}:\n    - BalancedSoftmaxCE:\n        weight: 1.0\n"
            f"        tau: {tau}\n        epsilon: 0.1\n        num_class_list: [100, 1]\n")
    found = [p for p in validate_text(text, "c.yaml") if p.rule == "balanced-softmax-smoothing"]
    assert bool(found) == warned and all(p.severity == WARNING and (p.line, p.column) == (9, 18) for p in found)
    if warned:
        assert "= 2.94, and Balanced Softmax's tau * log(N_max / N_min) = 2.95 is larger" in found[0].message
        assert "the class of 100 images loses to the rarest" in found[0].message


def test_the_plugin_keys_are_the_constructors_parameters() -> None:
    """counts.py names LongTailSampler's and LongTailAcc's keys once (the rules read them without paddle); they
    must be the constructors' parameters, and metric.py's figures are counts.py's."""
    import inspect

    from ppcls_csce import counts

    metric = pytest.importorskip("ppcls_csce.metric")
    assert metric.KEYS is counts.METRIC_FIGURES
    assert counts.METRIC_KEYS == tuple(inspect.signature(metric.LongTailAcc).parameters)
    sampler = pytest.importorskip("ppcls_csce.sampler")
    assert ("dataset",) + counts.SAMPLER_KEYS == tuple(inspect.signature(sampler.LongTailSampler).parameters)


def test_the_plugin_rules_use_the_keys_of_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """sampler-params and metric-params read counts.py's names, not a copy: a key added there is accepted."""
    from ppcls_csce import counts

    text = ("Global:\n  epochs: 4\nArch:\n  name: R\n  class_num: 2\nDataLoader:\n  Train:\n    sampler:\n"
            "      name: LongTailSampler\n      batch_size: 8\n      power: 0.5\n      extra: 1\n"
            "Metric:\n  Eval:\n    - LongTailAcc:\n        num_class_list: [9, 1]\n        extra: 1\n        best: extra_acc\n")
    rules = ("sampler-params", "metric-params")
    found = sorted(p.message for p in validate_text(text, "c.yaml") if p.rule in rules)
    assert len(found) == 3 and "LongTailAcc has no parameter 'extra'" in found[0]
    assert "best must be one of" in found[1] and "LongTailSampler has no parameter 'extra'" in found[2]
    monkeypatch.setattr(counts, "SAMPLER_KEYS", counts.SAMPLER_KEYS + ("extra",))
    monkeypatch.setattr(counts, "METRIC_KEYS", counts.METRIC_KEYS + ("extra",))
    monkeypatch.setattr(counts, "METRIC_FIGURES", counts.METRIC_FIGURES + ("extra_acc",))
    assert [p for p in validate_text(text, "c.yaml") if p.rule in rules] == []


# --- sampler-params and metric-params make the check the constructors make (counts.py), with the same words -------

SAMPLER_TEXT = ("Global:\n  epochs: 8\nDataLoader:\n  Train:\n    sampler:\n      name: LongTailSampler\n"
                "      batch_size: 4\n{extra}")


@pytest.mark.parametrize("extra, kwargs", [
    ("      power: -1.0\n", {"power": -1.0}),
    ("      power: 0.5\n      progressive: True\n", {"power": 0.5, "progressive": True}),
    ("      power: 0.0\n      shuffle: False\n", {"power": 0.0, "shuffle": False}),
    ("      power: 0.0\n      start_epoch: 9\n", {"power": 0.0, "start_epoch": 9}),
    ("      seed: 1.5\n      power: 1.0\n", {"power": 1.0, "seed": 1.5}),
    ("", {}),
])
def test_sampler_rule_and_constructor_refuse_alike(extra: str, kwargs: dict) -> None:
    pytest.importorskip("paddle")
    from ppcls_csce.sampler import LongTailSampler, SamplerError

    class Plain:
        labels = [0, 0, 0, 1]

        def __len__(self) -> int:
            return 4

    [problem] = validate_text(SAMPLER_TEXT.format(extra=extra), "c.yaml")
    with pytest.raises(SamplerError) as refused:
        LongTailSampler(Plain(), batch_size=4, total_epochs=8, **kwargs)
    assert (problem.rule, problem.message) == ("sampler-params", str(refused.value))


@pytest.mark.parametrize("entry, kwargs", [
    ("{num_class_list: [6, 3, -2]}", {"num_class_list": [6, 3, -2]}),
    ("{num_class_list: [0, 0, 0]}", {"num_class_list": [0, 0, 0]}),
    ("{num_class_list: [6, 3, 2], best: top5}", {"num_class_list": [6, 3, 2], "best": "top5"}),
    ("{num_class_list: [6, 3, 2], sum_over_ranks: 1}", {"num_class_list": [6, 3, 2], "sum_over_ranks": 1}),
    ("{num_class_list: '6 3 2'}", {"num_class_list": "6 3 2"}),
])
def test_metric_rule_and_constructor_refuse_alike(entry: str, kwargs: dict) -> None:
    pytest.importorskip("paddle")
    from ppcls_csce.metric import LongTailAcc, MetricError

    text = f"Arch:\n  name: R\n  class_num: 3\nMetric:\n  Eval:\n    - LongTailAcc: {entry}\n"
    [problem] = validate_text(text, "c.yaml")
    with pytest.raises(MetricError) as refused:
        LongTailAcc(**kwargs)
    assert (problem.rule, problem.message) == ("metric-params", str(refused.value))
