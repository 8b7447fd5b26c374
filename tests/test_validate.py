"""`csce-config validate`: exit codes, output formats, many files, --fix, hostile input, the real PaddleClas
configs (as they are and after gen), random mutations of them, and what the process imports."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ppcls_csce import ppconfig
from ppcls_csce.cli import cli
from ppcls_csce.errors import ProblemsError
from ppcls_csce.gen import preconditions
from ppcls_csce.validate import Options, validate_file, validate_text
from ppcls_csce.yamlsource import load_yaml

from conftest import REPO, real_configs, write_list

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "validate"
CONFIGS = real_configs()
STALE = FIXTURES / "csce-stale-counts.bad.yaml"
GOOD = FIXTURES / "base.good.yaml"


def run(*args: str):
    return CliRunner().invoke(cli, ["validate", *args])


def copy_fixture(name: str, folder: Path) -> Path:
    """A fixture and both train lists in a scratch folder, so --fix can write and cls_label_path resolves."""
    for listing in ("train_list.txt", "bad_list.txt"):
        shutil.copy(FIXTURES / listing, folder / listing)
    target = folder / name
    shutil.copy(FIXTURES / name, target)
    return target


# --- the real PaddleClas configs --------------------------------------------------------------------------------


def test_every_real_config_is_clean_even_strict() -> None:
    result = run("--strict", *map(str, CONFIGS))
    assert result.exit_code == 0, result.output
    assert result.output == ""


def _gen_counts(class_num: int) -> List[int]:
    return [1 + label % 3 for label in range(class_num)]


def _class_num(config: Path) -> object:
    return ppconfig.class_num(load_yaml(config))[0]


# Configs with more classes (8 of 91: 30,671 to 192,612) are left out of this round trip to keep the suite short:
# each needs several seconds per parse of a num_class_list that long, and the round trip parses it four times.
# test_gen.py's test_real_config runs gen on all 91; test_a_huge_class_count covers validate at that size.
HUGE = 10_000
ROUND_TRIP = [config for config in CONFIGS if not (isinstance(_class_num(config), int) and _class_num(config) > HUGE)]


@pytest.mark.parametrize("config", ROUND_TRIP, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_gen_output_validates_clean(config: Path, tmp_path: Path) -> None:
    source = load_yaml(config)
    class_num, _ = ppconfig.class_num(source)
    counts = _gen_counts(class_num if isinstance(class_num, int) else 5)
    listing = write_list(tmp_path / "train_list.txt", counts, ppconfig.delimiter(source))
    out = tmp_path / "out.yaml"
    generated = CliRunner().invoke(cli, ["gen", "--train-list", str(listing), "--config", str(config), "-o", str(out)])
    if generated.exit_code != 0:  # a config gen refuses (distillation, multi-label, relabel, ...): nothing to check
        assert generated.exit_code == 1 and not out.exists(), generated.output
        return
    # Every rule applies, the stale-count check against the list included, and warnings fail too.
    checked = run("--strict", "--require-csce", "--train-list", str(listing), str(out))
    assert checked.exit_code == 0, checked.output
    assert checked.output == ""
    # The check is real: one class fewer in the list makes the counts stale, named with the fix.
    write_list(listing, [counts[0] + 1] + counts[1:], ppconfig.delimiter(source))
    stale = run("--train-list", str(listing), str(out))
    assert stale.exit_code == 1
    assert "[csce-stale-counts]" in stale.output and "class 0: " in stale.output and "--fix" in stale.output


def test_most_real_configs_go_through_the_round_trip() -> None:
    """Guards the test above against passing because gen refuses everything."""
    accepted = 0
    for config in ROUND_TRIP:
        try:
            preconditions(load_yaml(config), drw_planned=False)
        except ProblemsError:
            continue
        accepted += 1
    assert accepted >= 50


def test_a_huge_class_count(tmp_path: Path) -> None:
    counts = _gen_counts(HUGE * 2)
    write_list(tmp_path / "train_list.txt", counts)  # the config's cls_label_path, under --data-root
    config = tmp_path / "huge.yaml"
    config.write_text(GOOD.read_text(encoding="utf-8").replace("class_num: 4", f"class_num: {len(counts)}").replace(
        "[6, 3, 2, 1]", "[" + ", ".join(["7"] * len(counts)) + "]"), encoding="utf-8")
    result = run("--fix", "--data-root", str(tmp_path), str(config))
    assert (result.exit_code, result.output) == (1, f"Fixing {config}\n")
    assert yaml.safe_load(config.read_text())["Loss"]["Eval"][0]["CostSensitiveCE"]["num_class_list"] == counts
    assert run("--strict", "--data-root", str(tmp_path), str(config)).exit_code == 0


# --- exit codes and output formats ------------------------------------------------------------------------------


def test_exit_codes() -> None:
    assert run("--data-root", str(FIXTURES), str(GOOD)).exit_code == 0
    assert run("--data-root", str(FIXTURES), str(STALE)).exit_code == 1
    warned = FIXTURES / "csce-drw-eval.bad.yaml"
    assert run(str(warned)).exit_code == 0
    assert run("--strict", str(warned)).exit_code == 1
    assert run().exit_code == 2  # no file: usage
    assert run("--format", "xml", str(GOOD)).exit_code == 2
    assert run("--train-list", "/no/such/list.txt", str(GOOD)).exit_code == 2
    assert run("--data-root", "/no/such/folder", str(GOOD)).exit_code == 2


def test_text_format_is_path_line_column_severity_message_rule() -> None:
    result = run("--data-root", str(FIXTURES), str(STALE))
    first = result.stdout.splitlines()[0]
    match = re.fullmatch(r"(.+):(\d+):(\d+): (error|warning): (.+) \[([a-z-]+)\]", first)
    assert match, first
    assert match.group(1, 2, 3, 4, 6) == (str(STALE), "17", "26", "error", "csce-stale-counts")
    assert "class 0: 5 here, 6 in the list; class 3: 2 here, 1 in the list" in match.group(5)
    assert f"csce-config validate --fix --data-root {FIXTURES} {STALE}" in match.group(5)


def test_json_format() -> None:
    result = run("--format", "json", "--data-root", str(FIXTURES), str(STALE), str(GOOD),
                 str(FIXTURES / "csce-drw-eval.bad.yaml"))
    problems = json.loads(result.stdout)
    assert result.exit_code == 1
    assert [set(p) for p in problems] == [{"path", "line", "column", "severity", "rule", "message"}] * 4
    assert [(p["path"], p["line"], p["column"], p["severity"]) for p in problems] == [
        (str(STALE), 17, 26, "error"), (str(STALE), 23, 13, "error"),
        (str(FIXTURES / "csce-drw-eval.bad.yaml"), 17, 9, "warning"),
        (str(FIXTURES / "csce-drw-eval.bad.yaml"), 18, 9, "warning"),
    ]
    clean = run("--format", "json", "--data-root", str(FIXTURES), str(GOOD))
    assert (clean.exit_code, json.loads(clean.stdout)) == (0, [])


def test_github_format() -> None:
    result = run("--format", "github", "--data-root", str(FIXTURES), str(STALE))
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"::error file={STALE},line=17,col=26,title=csce-stale-counts::")
    assert "num_class_list is stale" in lines[0]


def test_many_files_each_checked_fully_in_order() -> None:
    files = [FIXTURES / "yaml-syntax.bad.yaml", GOOD, FIXTURES / "csce-params.bad.yaml",
             FIXTURES / "file-encoding.bad-binary.yaml", FIXTURES / "eval-name.bad.yaml"]
    result = run("--data-root", str(FIXTURES), *map(str, files))
    assert result.exit_code == 1
    paths = [line.split(":")[0] for line in result.stdout.splitlines()]
    assert paths == sorted(paths, key=lambda path: [str(f) for f in files].index(path))
    assert paths.count(str(files[2])) == 5 and paths.count(str(files[4])) == 6
    assert str(GOOD) not in paths
    # No state between files: each file's problems are the same alone as in the batch.
    for path in files:
        alone = run("--data-root", str(FIXTURES), str(path))
        assert alone.stdout.splitlines() == [line for line in result.stdout.splitlines()
                                             if line.startswith(f"{path}:") or line == str(path)]


# --- the train list ---------------------------------------------------------------------------------------------


def test_train_list_option_overrides_cls_label_path_and_lists_add_up(tmp_path: Path) -> None:
    first = write_list(tmp_path / "a.txt", [4, 2, 1, 1])
    second = write_list(tmp_path / "b.txt", [2, 1, 1, 0])
    assert run("--train-list", str(first), "--train-list", str(second), str(GOOD)).exit_code == 0
    stale = run("--train-list", str(first), str(GOOD))
    assert stale.exit_code == 1
    assert f"csce-config validate --fix --train-list {first} {GOOD}" in stale.output
    assert f"csce-config gen --train-list {first} --config {GOOD} --write" in stale.output


def test_cls_label_path_is_resolved_from_data_root_or_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    config = copy_fixture("csce-stale-counts.bad.yaml", tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run(str(config)).exit_code == 0  # ./train_list.txt is not here: no stale check
    assert run("--data-root", str(tmp_path), str(config)).exit_code == 1
    monkeypatch.chdir(tmp_path)
    assert run(str(config)).exit_code == 1


def test_tab_delimiter_from_the_config(tmp_path: Path) -> None:
    listing = write_list(tmp_path / "train_list.txt", [6, 3, 2, 1], delimiter="\t")
    text = GOOD.read_text(encoding="utf-8").replace("cls_label_path: ./train_list.txt",
                                                    'cls_label_path: ./train_list.txt\n      delimiter: "\\t"')
    config = tmp_path / "tab.yaml"
    config.write_text(text, encoding="utf-8")
    assert run("--data-root", str(tmp_path), str(config)).exit_code == 0
    config.write_text(text.replace('delimiter: "\\t"', 'delimiter: " "'), encoding="utf-8")
    result = run("--data-root", str(tmp_path), str(config))
    assert result.exit_code == 1 and "[list-line]" in result.output and "is the delimiter '\\t'?" in result.output
    assert str(listing) in result.output


def test_bad_list_lines_are_reported_and_the_stale_check_skipped(tmp_path: Path) -> None:
    config = copy_fixture("list-line.bad.yaml", tmp_path)
    config.write_text(config.read_text().replace("[6, 3, 2, 1]", "[60, 30, 20, 10]"))
    result = run("--data-root", str(tmp_path), "--fix", str(config))
    lines = result.stdout.splitlines()
    assert result.exit_code == 1
    assert lines[0] == f"{tmp_path / 'bad_list.txt'}:4: error: blank line [list-line]"
    assert len(lines) == 4 and "stale" not in result.output and "Fixing" not in result.output


def test_empty_class_in_the_list_is_named_and_not_fixed(tmp_path: Path) -> None:
    config = copy_fixture("csce-stale-counts.good.yaml", tmp_path)
    write_list(tmp_path / "train_list.txt", [6, 3, 0, 1])
    before = config.read_bytes()
    result = run("--fix", "--data-root", str(tmp_path), str(config))
    assert result.exit_code == 1 and "Fixing" not in result.output
    assert "Class 2 has no images in the list, so the weights would be infinite" in result.output
    assert config.read_bytes() == before


def test_labels_beyond_the_counts_without_a_class_count(tmp_path: Path) -> None:
    config = copy_fixture("csce-stale-counts.good.yaml", tmp_path)
    config.write_text(config.read_text().replace("  class_num: 4\n", ""))
    write_list(tmp_path / "train_list.txt", [6, 3, 2, 1, 1])
    result = run("--data-root", str(tmp_path), str(config))
    assert result.exit_code == 1 and "has labels up to 4, but num_class_list has 4 counts" in result.output


# --- --fix ------------------------------------------------------------------------------------------------------


def test_fix_rewrites_only_the_stale_counts(tmp_path: Path) -> None:
    config = copy_fixture("csce-stale-counts.bad.yaml", tmp_path)
    config.chmod(0o640)
    before = config.read_text(encoding="utf-8")
    result = run("--fix", "--data-root", str(tmp_path), str(config))
    assert (result.exit_code, result.output) == (1, f"Fixing {config}\n")
    after = config.read_text(encoding="utf-8")
    assert after == before.replace("[5, 3, 2, 2]   # old counts", "[6, 3, 2, 1]   # old counts").replace(
        "num_class_list:\n          - 5\n          - 3\n          - 2\n          - 2\n",
        "num_class_list:\n          [6, 3, 2, 1]\n")
    assert oct(config.stat().st_mode & 0o777) == oct(0o640)
    again = run("--fix", "--data-root", str(tmp_path), str(config))
    assert (again.exit_code, again.output) == (0, "")
    assert sorted(os.listdir(tmp_path)) == ["bad_list.txt", config.name, "train_list.txt"]  # no temporary left


def test_fix_keeps_anchors_crlf_and_bom(tmp_path: Path) -> None:
    text = ("\ufeff# counts shared through an anchor\r\nArch:\r\n  class_num: 4\r\nLoss:\r\n  Train:\r\n"
            "    - CostSensitiveCE:\r\n        weight: 1.0\r\n        num_class_list: &counts [1, 1, 1, 1]  # old\r\n"
            "  Eval:\r\n    - CostSensitiveCE:\r\n        weight: 1.0\r\n        num_class_list: *counts\r\n")
    config = tmp_path / "anchored.yaml"
    config.write_bytes(text.encode("utf-8"))
    listing = write_list(tmp_path / "list.txt", [6, 3, 2, 1])
    result = run("--fix", "--train-list", str(listing), str(config))
    assert result.exit_code == 1 and result.output == f"Fixing {config}\n"
    assert config.read_bytes() == text.replace("&counts [1, 1, 1, 1]", "&counts [6, 3, 2, 1]").encode("utf-8")
    assert run("--strict", "--train-list", str(listing), str(config)).exit_code == 0


def test_fix_reports_what_is_left_and_json_stays_parseable(tmp_path: Path) -> None:
    config = copy_fixture("csce-stale-counts.bad.yaml", tmp_path)
    config.write_text(config.read_text().replace("gamma: 0.5\n        num_class_list: [5", "gamma: 1e-3\n        num_class_list: [5"))
    result = run("--fix", "--format", "json", "--data-root", str(tmp_path), str(config))
    assert result.exit_code == 1
    assert result.stderr == f"Fixing {config}\n"
    assert [p["rule"] for p in json.loads(result.stdout)] == ["csce-params"]


def test_fix_that_cannot_be_written_is_reported_and_the_next_file_still_checked(tmp_path: Path, monkeypatch) -> None:
    config = copy_fixture("csce-stale-counts.bad.yaml", tmp_path)
    other = tmp_path / "other.yaml"
    shutil.copy(FIXTURES / "yaml-duplicate-key.bad.yaml", other)
    before = config.read_bytes()

    def read_only_disk(*args, **kwargs):  # what the OS says on a read-only file system
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr("ppcls_csce.atomic.tempfile.mkstemp", read_only_disk)
    result = run("--fix", "--data-root", str(tmp_path), str(config), str(other))
    assert result.exit_code == 1 and "Fixing" not in result.output
    assert (f"{config}: error: cannot write the fix: cannot write into {tmp_path}: Read-only file system [file]"
            in result.output)
    assert f"{other}:9:9: error: duplicate key" in result.output
    assert config.read_bytes() == before


def test_fix_without_anything_stale_changes_nothing(tmp_path: Path) -> None:
    config = copy_fixture("csce-params.bad.yaml", tmp_path)
    before = config.read_bytes()
    result = run("--fix", "--data-root", str(tmp_path), str(config))
    assert result.exit_code == 1 and "Fixing" not in result.output
    assert config.read_bytes() == before


# --- hostile and broken input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [9, 30])
def test_alias_bombs_are_refused(tmp_path: Path, levels: int) -> None:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    lines.append("Loss:\n  Train:\n    - CostSensitiveCE: {weight: 1.0, num_class_list: *l%d}" % (levels - 1))
    config = tmp_path / "bomb.yaml"
    config.write_text("\n".join(lines) + "\n")
    result = run(str(config))
    assert result.exit_code == 1
    assert result.output.startswith(f"{config}:1:1: error: ") and "[yaml-alias-bomb]" in result.output
    assert result.output.count("\n") == 1


@pytest.mark.parametrize("text", ["a: " + "[" * 100_000 + "]" * 100_000, "a: " + "{a: " * 100_000 + "1" + "}" * 100_000,
                                  "a:\n" + "- " * 100_000 + "x", "a:\n" + "".join(" " * i + "- \n" for i in range(1, 3000))],
                         ids=["flow-sequences", "flow-mappings", "compact-block", "indented-block"])
def test_deep_nesting_is_refused_without_crashing_the_process(tmp_path: Path, text: str) -> None:
    """libyaml recurses in C: nesting this deep must never reach it (a segfault would not even be a traceback)."""
    config = tmp_path / "deep.yaml"
    config.write_text(text + "\n")
    done = subprocess.run([sys.executable, "-m", "ppcls_csce", "validate", str(config)], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert done.stdout.count("\n") == 1 and "[yaml-alias-bomb]" in done.stdout and "too deeply" in done.stdout


def test_recursive_alias_is_refused() -> None:
    problems = validate_text("a: &a [*a, 1]\nLoss: {Train: [{CostSensitiveCE: *a}]}\n", "r.yaml")
    assert [p.rule for p in problems] == ["yaml-alias-bomb"]


@pytest.mark.parametrize("content, rule, why", [
    (b"", "yaml-top-level", "empty YAML document"),
    (b"# only a comment\n", "yaml-top-level", "empty YAML document"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "file-encoding", "binary file"),
    (b"Arch:\n  name: R\xe9sNet\n", "file-encoding", "not UTF-8"),
    (b"Loss: [\n", "yaml-syntax", "not valid YAML"),
    (b"Loss: !!python/object/apply:os.system ['id']\n", "yaml-syntax", "could not determine a constructor"),
])
def test_broken_files_give_one_line_and_exit_1(tmp_path: Path, content: bytes, rule: str, why: str) -> None:
    config = tmp_path / "broken.yaml"
    config.write_bytes(content)
    result = run(str(config))
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.count("\n") == 1 and result.output.startswith(str(config))
    assert f"[{rule}]" in result.output and why in result.output


def test_directory_and_missing_file(tmp_path: Path) -> None:
    result = run("--data-root", str(FIXTURES), str(tmp_path), str(tmp_path / "missing.yaml"), str(GOOD))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{tmp_path}: error: is a directory, not a YAML file [file]",
        f"{tmp_path / 'missing.yaml'}: error: no such file [file]",
    ]


def test_require_csce() -> None:
    plain = FIXTURES / "csce-required.bad.yaml"
    assert run(str(plain)).exit_code == 0  # pre-commit sends every YAML file: no CostSensitiveCE, no complaint
    required = run("--require-csce", str(plain))
    assert required.exit_code == 1 and f"{plain}:8:3: error: no CostSensitiveCE" in required.output


# --- random mutations of real configs never give a traceback ----------------------------------------------------

TEXTS = [path.read_text(encoding="utf-8") for path in CONFIGS[::9]] + [
    path.read_text(encoding="utf-8") for path in sorted(FIXTURES.glob("*.yaml"))
    if b"\x00" not in path.read_bytes() and path.read_bytes().isascii()
]
PIECES = [":", "-", " ", "\n", "[", "]", "{", "}", "&a", "*a", "&a ", " *a", "!!str ", "!!python/name:os.system ",
          "'", '"', "#", "\t", "|", ">", "?", ",", "%", "@", "`", "é", "\ufeff", "0", "1e-3", "true", "null", "~",
          "CostSensitiveCE", "num_class_list", "relabel: True", "Loss", "weight", "__import__('os')"]


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        kind = draw(st.sampled_from(["delete", "duplicate", "replace", "insert", "swap"]))
        i = draw(st.integers(0, len(lines) - 1))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            line = lines[i]
            at = draw(st.integers(0, len(line)))
            piece = draw(st.sampled_from(PIECES) | st.text(min_size=1, max_size=3))
            lines[i] = line[:at] + piece + line[at + (1 if kind == "replace" else 0):]
        text = "\n".join(lines)
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated())
def test_mutated_configs_never_crash(text: str) -> None:
    problems = validate_text(text, "mutant.yaml", Options(data_root=str(FIXTURES)))
    assert all(p.rule and p.severity in ("error", "warning") for p in problems)
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "mutant.yaml"
        config.write_text(text, encoding="utf-8", errors="surrogatepass")
        shutil.copy(FIXTURES / "train_list.txt", Path(folder) / "train_list.txt")
        for extra in ([], ["--fix", "--format", "json"], ["--strict", "--format", "github", "--require-csce"]):
            result = CliRunner().invoke(cli, ["validate", "--data-root", folder, *extra, str(config)])
            assert result.exit_code in (0, 1), result.output
            assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


# --- the process --------------------------------------------------------------------------------------------------


def test_validate_process_never_imports_paddle_nor_pydantic_for_valid_parameters() -> None:
    """paddle: never. pydantic (about 0.2 s to import): never either, not even to explain a bad parameter."""
    code = ("import sys\nfrom ppcls_csce.cli import main\ncode = main(sys.argv[1:])\n"
            "print('paddle' in sys.modules, 'pydantic' in sys.modules, code)")
    for config, wanted in ((STALE, "False False 1"), (FIXTURES / "csce-params.bad.yaml", "False False 1")):
        done = subprocess.run([sys.executable, "-c", code, "validate", "--data-root", str(FIXTURES), str(config), str(GOOD)],
                              capture_output=True, text=True, cwd=REPO)
        assert done.stdout.splitlines()[-1] == wanted, done.stdout + done.stderr


def test_console_script_and_python_dash_m() -> None:
    """The console script is declared to run cli.main (read from the installed metadata, not from PATH), and
    `python -m ppcls_csce` runs the same function as a process."""
    from importlib.metadata import entry_points

    from ppcls_csce import cli as cli_module

    scripts = [point for point in entry_points(group="console_scripts") if point.name == "csce-config"]
    assert scripts and scripts[0].value == "ppcls_csce.cli:main"
    assert (REPO / "ppcls_csce" / "__main__.py").read_text(encoding="utf-8").count("main()") >= 1
    assert cli_module.main.__module__ == "ppcls_csce.cli"
    done = subprocess.run([sys.executable, "-m", "ppcls_csce", "validate", "--data-root", str(FIXTURES), str(STALE)],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stdout.startswith(f"{STALE}:17:26: error: ")
    assert done.stderr == ""


def test_fix_rewrites_stale_balanced_softmax_and_class_balanced_counts(tmp_path: Path) -> None:
    config = copy_fixture("csce-stale-counts.bad-losses.yaml", tmp_path)
    before = config.read_text(encoding="utf-8")
    checked = run("--data-root", str(tmp_path), str(config))
    assert checked.exit_code == 1
    assert "Loss.Train BalancedSoftmaxCE num_class_list is stale: 2 of 4 classes differ" in checked.output
    assert "Loss.Eval ClassBalancedCE num_class_list is stale: 1 of 4 classes differ" in checked.output
    result = run("--fix", "--data-root", str(tmp_path), str(config))
    assert (result.exit_code, result.output) == (1, f"Fixing {config}\n")
    assert config.read_text(encoding="utf-8") == before.replace(
        "[5, 3, 2, 2]   # old counts", "[6, 3, 2, 1]   # old counts").replace(
        "num_class_list: [6, 3, 2, 2]", "num_class_list: [6, 3, 2, 1]")
    assert run("--strict", "--data-root", str(tmp_path), str(config)).exit_code == 0


def test_stale_long_tail_acc_counts_are_reported_and_fixed(tmp_path: Path) -> None:
    config = tmp_path / "cfg.yaml"
    text = ("Arch:\n  class_num: 4\nLoss:\n  Train:\n    - CELoss: {weight: 1.0}\n"
            "Metric:\n  Eval:\n    - LongTailAcc: {num_class_list: [5, 3, 2, 1]}\n    - TopkAcc: {topk: [1, 5]}\n")
    config.write_text(text)
    listing = write_list(tmp_path / "list.txt", [6, 3, 2, 1])
    checked = run("--train-list", str(listing), str(config))
    assert checked.exit_code == 1 and "Metric.Eval LongTailAcc num_class_list is stale" in checked.output
    assert run("--fix", "--train-list", str(listing), str(config)).exit_code == 1
    assert config.read_text() == text.replace("[5, 3, 2, 1]", "[6, 3, 2, 1]")
    assert run("--strict", "--train-list", str(listing), str(config)).exit_code == 0
