"""What a user installs: the wheel's files against the source tree, its metadata, the README as the package page
renders it, no symlink in the repository, and the Pythons claimed against the ones CI tests.

The wheel is built here (pure Python, about 10 s) from the tracked files, or, when PPCLS_CSCE_WHEELS names a
folder (.ci/wheel does), every wheel and sdist in it is checked instead: the very files CI then installs.
"""

import email.message
import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, List, Set

import pytest

from conftest import REPO

CANONICAL = "https://github.com/ppcls-csce/ppcls-csce"
DOCS = "https://ppcls-csce.github.io/ppcls-csce/"
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
EXTRAS = {"paddle", "gpu", "plot", "engine", "test"}


def tracked(prefix: str = "") -> List[str]:
    """`git ls-files` of the repository (the source tree a release is built from)."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist?): the tracked files are unknown")
    done = subprocess.run(["git", "ls-files", "-z", "--", prefix] if prefix else ["git", "ls-files", "-z"],
                          cwd=REPO, capture_output=True, check=True)
    return [name for name in done.stdout.decode("utf-8").split("\0") if name]


def _has_setuptools(major: int) -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= major


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the wheel(s) and sdist to check: CI's, or a pure wheel and an sdist built now."""
    named = os.environ.get("PPCLS_CSCE_WHEELS")
    if named:
        return Path(named)
    source = tmp_path_factory.mktemp("source")
    for name in tracked():
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    env = dict(os.environ, PPCLS_CSCE_PURE="1")
    # Without build isolation when this environment has the build requirement (twice as fast), else isolated.
    isolation = ["--no-isolation"] if _has_setuptools(77) else []
    done = subprocess.run([sys.executable, "-m", "build", *isolation, "--sdist", "--wheel", "--outdir", str(out), str(source)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def wheels(dist: Path) -> List[Path]:
    found = sorted(dist.glob("ppcls_csce-*.whl"))
    assert found, f"no wheel in {dist}"
    return found


def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def package_files(names: List[str]) -> Set[str]:
    return {name for name in names if name.startswith("ppcls_csce/") and not name.endswith("/")}


def test_no_symlink_in_the_repository() -> None:
    """A checkout without symlinks (Windows' default) must hold the same files: git mode 120000 is a symlink."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist?): the tracked modes are unknown")
    staged = subprocess.run(["git", "ls-files", "-s"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    links = [line.split("\t", 1)[1] for line in staged.splitlines() if line.startswith("120000 ")]
    assert links == []
    assert (REPO / "ppcls_csce" / "templates").is_dir() and not (REPO / "ppcls_csce" / "templates").is_symlink()


def test_every_module_and_data_file_is_in_the_wheel(dist: Path) -> None:
    """Every tracked file of the package ships (subpackages found, not listed; templates and data too) and
    nothing else does, but the compiled scanner where the wheel was built with it; the C source stays in the sdist."""
    expected = {name for name in tracked("ppcls_csce") if not name.endswith(".c")}
    assert "ppcls_csce/smoke/__init__.py" in expected and "ppcls_csce/templates/loss_block.yaml" in expected
    for wheel in wheels(dist):
        with zipfile.ZipFile(wheel) as archive:
            shipped = package_files(archive.namelist())
        compiled = {name for name in shipped if re.fullmatch(r"ppcls_csce/_plainscan\..*\.(so|pyd)", name)}
        assert shipped - compiled == expected, (wheel.name, sorted(expected ^ (shipped - compiled)))
        pure = wheel.name.endswith("-py3-none-any.whl")
        assert len(compiled) == (0 if pure else 1), (wheel.name, compiled)


def test_the_pure_wheel_installs_everywhere(dist: Path) -> None:
    """The package index refuses a `linux_x86_64` wheel: the pure one is py3-none-any, purelib, no binary."""
    pure = [wheel for wheel in wheels(dist) if wheel.name.endswith("-py3-none-any.whl")]
    assert len(pure) == 1, [wheel.name for wheel in wheels(dist)]
    with zipfile.ZipFile(pure[0]) as archive:
        wheel_file = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/WHEEL"))).decode()
        entry_points = archive.read(next(n for n in archive.namelist() if n.endswith("entry_points.txt"))).decode()
    assert "Root-Is-Purelib: true" in wheel_file and "Tag: py3-none-any" in wheel_file
    assert "csce-config = ppcls_csce.cli:main" in entry_points


def test_the_release_publishes_the_pure_wheel_and_manylinux_wheels_only() -> None:
    """A wheel built here is tagged linux_x86_64, which the index refuses: the release builds the pure one and
    the compiled ones with cibuildwheel (manylinux, musllinux, macOS, Windows), checks them, publishes on a tag."""
    release = (REPO / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    for needed in ("python -m build --sdist", "PPCLS_CSCE_PURE=1 python -m build --wheel", "python -m cibuildwheel",
                   "twine check --strict", "pypa/gh-action-pypi-publish", "startsWith(github.ref, 'refs/tags/v')"):
        assert needed in release, needed
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert "[tool.cibuildwheel]" in pyproject and "[tool.cibuildwheel.macos]" in pyproject
    assert "[tool.cibuildwheel.windows]" in pyproject and "[tool.cibuildwheel.linux]" in pyproject


def test_the_sdist_holds_the_source_the_tests_and_the_build_files(dist: Path) -> None:
    sdists = sorted(dist.glob("ppcls_csce-*.tar.gz"))
    assert len(sdists) == 1, sdists
    with tarfile.open(sdists[0]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        assert not [member.name for member in archive.getmembers() if member.issym() or member.islnk()]
    wanted = set(tracked("ppcls_csce")) | set(tracked("tests")) | {"setup.py", "pyproject.toml", "README.md",
                                                                   "LICENSE", "examples/train_list.txt"}
    assert wanted - names == set()
    assert not [name for name in names if name.endswith((".so", ".pyd", ".pyc"))]


def test_metadata_describes_todays_tool(dist: Path) -> None:
    meta = metadata(wheels(dist)[0])
    assert "PaddleClas" in meta["Summary"] and "PaddleX" in meta["Summary"] and "long-tail" in meta["Summary"]
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["Requires-Python"] == f">={PYTHONS[0]}"
    classifiers = meta.get_all("Classifier")
    claimed = [c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert claimed == PYTHONS
    urls: Dict[str, str] = dict(url.split(", ", 1) for url in meta.get_all("Project-URL"))
    assert urls["Source"] == CANONICAL and urls["Homepage"] == CANONICAL and urls["Documentation"] == DOCS
    assert urls["Issues"] == f"{CANONICAL}/issues"
    assert set(meta.get_all("Provides-Extra")) == EXTRAS
    extras: Dict[str, Set[str]] = {}
    for requirement in meta.get_all("Requires-Dist"):
        match = re.match(r"([A-Za-z0-9_.-]+).*?(?:extra == \"(\w+)\")?$", requirement)
        assert match, requirement
        extras.setdefault(match.group(2) or "", set()).add(match.group(1).lower())
    assert extras[""] == {"pyyaml", "pydantic", "click"}
    assert extras["paddle"] == {"paddlepaddle"} and extras["gpu"] == {"paddlepaddle-gpu"}
    assert any(req.startswith("click>=8.2") for req in meta.get_all("Requires-Dist"))


def test_twine_check_passes(dist: Path) -> None:
    """The package index's own check of the metadata and of the README as the page renders it."""
    files = [str(path) for path in sorted(dist.iterdir()) if path.name.endswith((".whl", ".tar.gz"))]
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == len(files), done.stdout


LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
HTML = re.compile(r"<(?:img|a|source)\b[^>]*?\b(?:src|href|srcset)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)


def relative_targets(markdown: str) -> List[str]:
    """Links and pictures that would break on the package page: anything but an absolute URL or an anchor."""
    text = re.sub(r"^(```|~~~).*?^\1", "", markdown, flags=re.MULTILINE | re.DOTALL)  # fenced code is not rendered as links
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = LINK.findall(text) + REFERENCE.findall(text) + HTML.findall(text)
    return [t for t in targets if not re.match(r"(https?://|mailto:|#)", t)]


def test_relative_link_finder_sees_every_form() -> None:
    sample = ("[a](docs/x.md) ![p](pic.png) [ok](https://e.org/x) [top](#quick-start) `[no](code.md)`\n"
              "[ref]: other.md\n<img src=\"img/y.png\"> <a href='https://e.org'>x</a>\n```\n[no](fenced.md)\n```\n")
    assert relative_targets(sample) == ["docs/x.md", "pic.png", "other.md", "img/y.png"]


def test_readme_has_only_absolute_links_and_pictures() -> None:
    """The package page shows README.md away from the repository: a relative link or picture is broken there."""
    assert relative_targets((REPO / "README.md").read_text(encoding="utf-8")) == []


def test_claimed_pythons_are_the_ones_ci_tests() -> None:
    """CI runs the suite without paddle on the oldest and the newest claimed Python (.ci/run's legs)."""
    run = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    legs = re.findall(r"^\s*no_paddle_leg\s+(\d\.\d+)\b", run, re.MULTILINE)
    assert legs == [PYTHONS[0], PYTHONS[-1]]
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert f'requires-python = ">={PYTHONS[0]}"' in pyproject
    assert re.search(r'^build = "(cp3\d+-\* ?)+"$', pyproject, re.MULTILINE).group(0) == (
        'build = "' + " ".join(f"cp{v.replace('.', '')}-*" for v in PYTHONS) + '"')


def test_posix_only_tests_are_found_for_other_platforms() -> None:
    """conftest skips, off POSIX, a test whose code reaches a POSIX-only call: FIFOs, symlinks, owners, modes."""
    import conftest

    def fifo_test(tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "fifo")

    def link_helper(path: Path) -> None:
        path.symlink_to(path.parent)

    def portable_test(tmp_path: Path) -> None:
        (tmp_path / "a").write_bytes(b"x")

    class Item:
        def __init__(self, function: object) -> None:
            self.function = function

    assert conftest.needs_posix(Item(fifo_test)) and conftest.needs_posix(Item(link_helper))
    assert not conftest.needs_posix(Item(portable_test))
