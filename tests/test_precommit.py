"""The pre-commit hooks for real: the hooks file, each hook's entry run as pre-commit runs it, and `pre-commit
try-repo` plus a real `git commit` against a snapshot of this checkout, which pre-commit pip-installs (with
pyyaml, pydantic and click from the package index, and the scanner's C pass compiled) into a fresh environment under a temporary
PRE_COMMIT_HOME."""

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from conftest import REPO

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "validate"
HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
BAD = "csce-stale-counts.bad.yaml"  # stale counts at 17:26 and 23:13; --fix repairs both
GOOD = "base.good.yaml"
LISTS = ("train_list.txt", "bad_list.txt")


def test_hooks_file() -> None:
    by_id = {hook["id"]: hook for hook in HOOKS}
    assert list(by_id) == ["csce-config-validate", "csce-config-fix"]
    for hook in HOOKS:
        assert hook["language"] == "python" and hook["types"] == ["yaml"] and hook["name"]
        assert shlex.split(hook["entry"])[:2] == ["csce-config", "validate"]
    assert "--fix" not in shlex.split(by_id["csce-config-validate"]["entry"]) + by_id["csce-config-validate"].get("args", [])
    assert "--fix" in shlex.split(by_id["csce-config-fix"]["entry"]) + by_id["csce-config-fix"].get("args", [])


def hook_command(hook: Dict) -> List[str]:
    """The hook's command line as pre-commit builds it: entry words, then args (files come last)."""
    words = shlex.split(hook["entry"]) + list(hook.get("args", []))
    assert words[0] == "csce-config", words
    return [sys.executable, "-m", "ppcls_csce"] + words[1:]  # what the console script runs, without PATH


def copy_fixtures(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in (BAD, GOOD) + LISTS:
        shutil.copy(FIXTURES / name, folder / name)
    return folder


@pytest.mark.parametrize("hook", HOOKS, ids=lambda hook: hook["id"])
def test_hook_entry_runs_on_the_fixtures(hook: Dict, tmp_path: Path) -> None:
    """Run from the folder the lists are relative to, as pre-commit runs hooks from the repository root."""
    root = copy_fixtures(tmp_path / "repo")
    command = hook_command(hook)
    clean = subprocess.run(command + [GOOD], cwd=root, capture_output=True, text=True)
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, "", "")
    before = (root / BAD).read_bytes()
    done = subprocess.run(command + [GOOD, BAD], cwd=root, capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr == ""
    if "--fix" in command:
        assert done.stdout == f"Fixing {BAD}\n"
        assert (root / BAD).read_bytes() != before
        again = subprocess.run(command + [GOOD, BAD], cwd=root, capture_output=True, text=True)
        assert (again.returncode, again.stdout) == (0, "")
    else:
        lines = done.stdout.splitlines()
        assert [line.split(": error: ")[0] for line in lines] == [f"{BAD}:17:26", f"{BAD}:23:13"]
        assert all(line.endswith("[csce-stale-counts]") for line in lines)
        assert (root / BAD).read_bytes() == before


def git(*args: str, cwd: Path, env: Dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done


def snapshot_of_this_checkout(target: Path, env: Dict[str, str]) -> str:
    """This working tree as one commit (tracked and untracked files, .gitignore respected): what a clean clone in
    CI holds, and what is being tested here even before it is committed. Returns the commit."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    files = [name for name in listed if name and ((REPO / name).is_file() or (REPO / name).is_symlink())]
    assert ".pre-commit-hooks.yaml" in files and "pyproject.toml" in files
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target / name, follow_symlinks=False)
    git("init", "-q", cwd=target, env=env)
    git("add", "-A", cwd=target, env=env)
    git("commit", "-q", "-m", "snapshot", cwd=target, env=env)
    return git("rev-parse", "HEAD", cwd=target, env=env).stdout.strip()


def pre_commit(*args: str, cwd: Path, env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def test_pre_commit_try_repo_and_a_real_commit(tmp_path: Path) -> None:
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), GIT_AUTHOR_NAME="t",
               GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid",
               GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    env.pop("VIRTUAL_ENV", None)
    hooks_repo = tmp_path / "ppcls-csce"
    hooks_repo.mkdir()
    rev = snapshot_of_this_checkout(hooks_repo, env)

    user = tmp_path / "user"
    configs = copy_fixtures(user / "configs")
    for name in LISTS:  # PaddleClas resolves cls_label_path from its root, where pre-commit runs the hooks
        shutil.move(str(configs / name), str(user / name))
    (user / "docs").mkdir()
    (user / "docs" / "notes.yaml").write_text("not: [valid\n")  # outside `files:`: never checked
    git("init", "-q", cwd=user, env=env)
    git("add", "-A", cwd=user, env=env)

    bad = pre_commit("try-repo", str(hooks_repo), "csce-config-validate", "--files", f"configs/{BAD}",
                     f"configs/{GOOD}", cwd=user, env=env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"configs/{BAD}:17:26: error: " in bad.stdout and "[csce-stale-counts]" in bad.stdout
    good = pre_commit("try-repo", str(hooks_repo), "csce-config-validate", "--files", f"configs/{GOOD}", cwd=user,
                      env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout

    # The README's snippet, narrowed with `files:`; installed as a git hook, it refuses the commit.
    (user / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks_repo}\n    rev: {rev}\n    hooks:\n"
        "      - id: csce-config-validate\n        files: ^configs/\n"
        "      - id: csce-config-fix\n        files: ^configs/\n        stages: [manual]\n")
    git("add", ".pre-commit-config.yaml", cwd=user, env=env)
    assert pre_commit("install", cwd=user, env=env).returncode == 0
    refused = subprocess.run(["git", "commit", "-m", "configs"], cwd=user, env=env, capture_output=True, text=True)
    assert refused.returncode != 0
    assert f"configs/{BAD}:23:13: error: " in refused.stdout + refused.stderr
    fixed = pre_commit("run", "--hook-stage", "manual", "csce-config-fix", "--files", f"configs/{BAD}", cwd=user, env=env)
    assert fixed.returncode == 1 and f"Fixing configs/{BAD}" in fixed.stdout
    git("add", "-A", cwd=user, env=env)
    git("commit", "-q", "-m", "configs", cwd=user, env=env)  # the hook passes now; docs/notes.yaml was never checked
