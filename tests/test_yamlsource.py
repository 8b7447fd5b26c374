"""Positions, duplicate keys, alias bombs and unreadable files."""

import time

import pytest

from ppcls_csce.yamlsource import YamlLoadError, iter_duplicate_keys, load_yaml, parse_yaml

TEXT = """\
Arch:
  name: ResNet18
  class_num: &n 10
Loss:
  Train:
    - CostSensitiveCE:
        weight: 1.0
        num_class_list: [5, 4, 3]
"""


def test_positions_are_one_based_and_point_at_nodes():
    source = parse_yaml(TEXT, "c.yaml")
    assert source.position(("Arch", "class_num")) == (3, 14)
    assert source.position(("Loss", "Train", 0, "CostSensitiveCE", "num_class_list", 1)) == (8, 29)
    assert source.position(("Loss", "Train", 0, "CostSensitiveCE", "weight"), at_key=True) == (7, 9)
    # a missing node falls back to its nearest ancestor
    assert source.position(("Loss", "Eval")) == (5, 3)
    assert source.get(("Arch", "class_num")) == 10


def test_duplicate_keys_are_found():
    source = parse_yaml("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    found = sorted((node.value, node.start_mark.line + 1) for node in iter_duplicate_keys(source.root))
    assert found == [("a", 5), ("c", 4)]


def test_syntax_error_has_a_position():
    with pytest.raises(YamlLoadError) as caught:
        parse_yaml("a: [1, 2\nb: 3\n")
    assert caught.value.line is not None and caught.value.rule == "yaml-syntax"


def test_billion_laughs_is_refused_quickly():
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    started = time.perf_counter()
    with pytest.raises(YamlLoadError) as caught:
        parse_yaml("\n".join(lines) + "\n")
    assert caught.value.rule == "yaml-alias-bomb"
    assert time.perf_counter() - started < 5


def test_bom_is_kept_in_the_text_and_skipped_by_the_parser(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    source = load_yaml(path)
    assert source.data == {"a": 1} and source.text.startswith("\ufeff")


@pytest.mark.parametrize(
    "make, rule, words",
    [
        (lambda p: p.mkdir(), "file", "directory"),
        (lambda p: None, "file", "no such file"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00"), "file-encoding", "binary"),
        (lambda p: p.write_bytes(b"a: caf\xe9\n"), "file-encoding", "not UTF-8"),
    ],
)
def test_unreadable_files_get_one_line(tmp_path, make, rule, words):
    path = tmp_path / "x.yaml"
    make(path)
    with pytest.raises(YamlLoadError) as caught:
        load_yaml(path)
    assert caught.value.rule == rule and words in caught.value.message
    assert "\n" not in caught.value.message


def test_empty_file_is_no_document(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    source = load_yaml(path)
    assert source.root is None and source.data is None


# --- inputs that must never be read without limit -------------------------------------------------------------

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from ppcls_csce.yamlsource import MAX_CONFIG_BYTES  # noqa: E402


def test_special_files_are_refused_unread(tmp_path):
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)  # nobody writes: a blocking open or read would hang here
    for path in (fifo, "/dev/zero"):
        with pytest.raises(YamlLoadError) as caught:
            load_yaml(path)
        assert caught.value.rule == "file"
        assert caught.value.message == "is not a regular file (a device, FIFO or socket); not read"
    with pytest.raises(YamlLoadError) as caught:
        load_yaml(tmp_path)
    assert (caught.value.rule, caught.value.message) == ("file", "is a directory, not a YAML file")


def test_a_config_above_the_size_limit_is_refused_unread(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as handle:
        handle.truncate(MAX_CONFIG_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(YamlLoadError) as caught:
        load_yaml(big)
    assert caught.value.message == (f"is {MAX_CONFIG_BYTES + 1:,} bytes, above the limit of {MAX_CONFIG_BYTES:,} "
                                    "for a config; not read")
    exact = tmp_path / "exact.yaml"
    exact.write_bytes(b"a: 1\n" + b"#" * 100 + b"\n")
    assert load_yaml(exact).data == {"a": 1}


def test_validate_dev_zero_and_a_fifo_under_a_memory_cap(tmp_path):
    """One line, exit 1, in a process that could not even hold 64 MB twice over."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (600 << 20, 600 << 20)); "
            "from ppcls_csce.cli import main; sys.exit(main(sys.argv[1:]))")
    for target in ("/dev/zero", str(fifo)):
        done = subprocess.run([sys.executable, "-c", code, "validate", target], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 1, done.stderr
        assert done.stdout == f"{target}: error: is not a regular file (a device, FIFO or socket); not read [file]\n"
        assert done.stderr == ""
