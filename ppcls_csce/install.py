"""Put the losses, the sampler and the metric into a PaddleClas checkout, check them, take them out again.

PaddleClas finds each of them by `eval(name)` in a package's `__init__.py` (build_loss, build_dataloader,
build_metrics), so installing one means writing a generated, self-contained file (this package's module
with its stdlib-only siblings inlined: PaddleClas has neither pydantic nor ppcls_csce) and adding one
marked import line. MANIFEST is the one description of what goes where; install, check and uninstall
all read it. Every change is planned and checked (it compiles) first, then applied with roll-back, so a
failure leaves every file as it was.
"""

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple, Union

from . import __version__
from .atomic import WriteError, all_or_nothing, remove, write_atomic
from .errors import CsceError
from .plugin_source import HEADER_PREFIX, digest, generate_source, split_lines

MARKER = "# ppcls-csce"
MARK_TEXT = "  # ppcls-csce: added by csce-config install, removed by csce-config uninstall"
INSTALLED, OUTDATED, EDITED, ABSENT = "installed", "outdated", "edited locally", "absent"
EDITED_WHY = "edited locally (its bytes are not what ppcls-csce wrote)"
_BOM = "\ufeff"


@dataclass(frozen=True)
class Part:
    source: str  # module of this package, e.g. "loss.py"
    target: str  # the generated file, relative to the checkout
    init: str  # the __init__.py whose eval() must see the names
    module: str  # the import's module as written in that __init__.py
    builder: str  # a `def` that identifies the right __init__.py

    @property
    def names(self) -> List[str]:
        """What the import line brings in: the source's __all__, else its public top-level classes."""
        tree = ast.parse((Path(__file__).resolve().parent / self.source).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
                return list(ast.literal_eval(node.value))
        return [node.name for node in tree.body if isinstance(node, ast.ClassDef) and not node.name.startswith("_")]

    @property
    def import_line(self) -> str:
        return f"from {self.module} import {', '.join(self.names)}{MARK_TEXT}"


MANIFEST = (
    Part("loss.py", "ppcls/loss/cs_celoss.py", "ppcls/loss/__init__.py", ".cs_celoss", "build_loss"),
    Part("sampler.py", "ppcls/data/dataloader/lt_sampler.py", "ppcls/data/__init__.py", ".dataloader.lt_sampler",
         "build_dataloader"),
    Part("metric.py", "ppcls/metric/lt_metric.py", "ppcls/metric/__init__.py", ".lt_metric", "build_metrics"),
)


# --- reading and editing a checkout ----------------------------------------------------------------

def _read(path: Path) -> str:
    """The exact text (line ends and a BOM kept, so uninstall can give back the same bytes)."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise CsceError(f"not UTF-8 text ({error.reason} at byte {error.start})", path) from None
    except (PermissionError, IsADirectoryError) as error:
        raise CsceError(f"cannot read it ({error.strerror})", path) from None


def _regular(path: Path) -> Path:
    """The file a path names, through symlinks; something other than a regular file is refused."""
    real = Path(os.path.realpath(path))
    if real.exists() and not real.is_file():
        raise CsceError("not a regular file; nothing was changed", path)
    return real


def _init_text(root: Path, part: Part) -> str:
    init = root / part.init
    try:
        text = _read(_regular(init))
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise CsceError(f"not a PaddleClas checkout (no {part.init})", root) from None
    if not re.search(rf"^def {part.builder}\b", text, re.M):
        raise CsceError(f"not PaddleClas's {part.init.rsplit('/', 2)[-2]} package (no `def {part.builder}`)", init)
    return text


def _is_marker_line(line: str, part: Part) -> bool:
    return line.lstrip().startswith(f"from {part.module} import") and MARKER in line


def _has_import(text: str, part: Part) -> bool:
    return any(_is_marker_line(line, part) for line in split_lines(text))


def _current_import(text: str, part: Part) -> bool:
    """Exactly one marked line, and it imports today's names (an older one may lack a newer loss)."""
    marked = [line.strip() for line in split_lines(text) if _is_marker_line(line, part)]
    return marked == [part.import_line]


def _parse(text: str, path: Path) -> ast.Module:
    """The module's tree; a leading byte-order mark (which Python's reader accepts) is not the compiler's to see."""
    text = text[1:] if text.startswith(_BOM) else text
    try:
        compile(text, str(path), "exec", dont_inherit=True)  # the compiler's own checks, beyond the grammar
        return ast.parse(text, str(path))
    except SyntaxError as error:
        raise CsceError(f"cannot parse it: {error.msg}", path, error.lineno, error.offset or None) from None


def insert_import(text: str, part: Part, path: Path = Path("__init__.py")) -> str:
    """The import line after the last top-level relative import (else any import), checked to compile."""
    bom, body = (_BOM, text[1:]) if text.startswith(_BOM) else ("", text)
    tree = _parse(body, path)
    imports: List[ast.stmt] = [node for node in tree.body if isinstance(node, ast.ImportFrom) and node.level]
    imports = imports or [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    after = (imports[-1].end_lineno or 0) if imports else 0
    lines = split_lines(body)
    newline = "\r\n" if "\r\n" in body else "\n"
    if after and not lines[after - 1].endswith(("\n", "\r")):
        lines[after - 1] += newline + part.import_line  # uninstall removes the added line end with ours
    else:
        lines.insert(after, part.import_line + newline)
    result = "".join(lines)
    new_tree = _parse(result, path)
    if not any(isinstance(n, ast.ImportFrom) and n.level and "." + str(n.module) == part.module for n in new_tree.body):
        raise CsceError("the import line would not land at the top level; nothing was changed", path)
    return bom + result


def _still_compiling(text: str, restored: str, part: Part, path: Path) -> str:
    """uninstall's edit of an __init__.py, checked to compile as install's is. Where the marked line was the only
    statement of a block (the user wrapped it in `try:` ... `except ImportError: pass`), it becomes `pass` at
    its indentation; a file that still would not compile is refused, at the line, with nothing changed."""
    try:
        _parse(restored, path)
        return restored
    except CsceError:
        pass
    kept = []
    for line in split_lines(text):
        indent = line[: len(line) - len(line.lstrip())]
        if _is_marker_line(line, part) and indent:
            kept.append(indent + "pass" + line[len(line.rstrip("\r\n")):])
        else:
            kept.append(line)
    with_pass = remove_import("".join(kept), part)
    try:
        _parse(with_pass, path)
    except CsceError as error:
        [problem] = error.problems
        try:
            _parse(text, path)
            why = "without the import line it would no longer compile"
        except CsceError:
            why = "it does not compile now, with or without the import line"
        raise CsceError(f"{why} ({problem.message}); nothing was changed: remove the line marked `# ppcls-csce` "
                        "by hand", path, problem.line, problem.column) from None
    return with_pass


def remove_import(text: str, part: Part) -> str:
    """Undo insert_import: drop the marked lines (and the line end added before a last one)."""
    kept: List[str] = []
    for line in split_lines(text):
        if _is_marker_line(line, part):
            if not line.endswith(("\n", "\r")) and kept:
                kept[-1] = kept[-1].rstrip("\r\n")
            continue
        kept.append(line)
    return "".join(kept)


def _file_state(path: Path, part: Part) -> Tuple[Optional[str], str]:
    """(None if absent | INSTALLED | OUTDATED | EDITED, why) for one generated file; a foreign one is refused."""
    real = _regular(path)
    if not real.exists():
        return None, f"{path} is missing"
    text = _read(real)
    if not text.startswith(HEADER_PREFIX):
        raise CsceError("exists but was not written by ppcls-csce; move it away first", path)
    header, _, body = text.partition("\n")
    version = header[len(HEADER_PREFIX):].split(" from ")[0].strip()
    recorded = re.search(r"\(body sha256 ([0-9a-f]{16})\)", header)
    if recorded and recorded.group(1) != digest(body):
        return EDITED, f"{path}: edited locally (its bytes are not what ppcls-csce {version} wrote)"
    if text != generate_source(part.source):
        return OUTDATED, f"{path} (ppcls-csce {version}) differs from what ppcls-csce {__version__} writes"
    return INSTALLED, f"{path} (ppcls-csce {__version__})"


def part_states(paddleclas: Union[str, Path]) -> List[Tuple[Part, str, str]]:
    """(part, state, why) for each manifest entry."""
    root, result = Path(paddleclas), []
    for part in MANIFEST:
        text = _init_text(root, part)
        has_import = _has_import(text, part)
        state, why = _file_state(root / part.target, part)
        if state is None:
            state, why = (ABSENT, f"{root / part.target} and its import are not there") if not has_import else (
                OUTDATED, f"{root / part.init} imports {part.module} but {root / part.target} is missing")
        elif state == INSTALLED and not _current_import(text, part):
            state, why = OUTDATED, f"{root / part.init} does not import {', '.join(part.names)}" + (
                " (its marked import line is from another version)" if has_import else "")
        result.append((part, state, why))
    return result


def check(paddleclas: Union[str, Path]) -> Tuple[str, str]:
    """Is the bundle installed in this checkout, and current? (the worst state, every part's reason)."""
    states = part_states(paddleclas)
    worst = next((s for s in (EDITED, OUTDATED, ABSENT) if any(st == s for _, st, _ in states)), INSTALLED)
    if {st for _, st, _ in states} == {ABSENT}:
        return ABSENT, f"nothing of ppcls-csce is installed in {paddleclas}"
    if worst == INSTALLED:
        return INSTALLED, ", ".join(str(Path(paddleclas) / p.target) for p in MANIFEST) + f" (ppcls-csce {__version__})"
    return worst, "; ".join(why for _, st, why in states if st != INSTALLED)


# --- applying a plan with roll-back ----------------------------------------------------------------

def _write_bytes(path: Path, data: bytes) -> None:
    write_atomic(path, data)


def _remove(path: Path) -> None:
    remove(path)


def _apply(plan: List[Tuple[Path, Optional[bytes]]]) -> None:
    """Write (or, for None, delete) each path in order, all or nothing: on any failure or Ctrl-C every file is
    put back as it was (atomic.all_or_nothing), and a failure says so (or names what could not be put back)."""
    try:
        with all_or_nothing():
            for path, data in plan:
                if data is None:
                    _remove(path)
                else:
                    _write_bytes(path, data)
    except WriteError as error:
        if error.__cause__ is not None:  # all_or_nothing could not put a file back: its message says which
            raise
        raise CsceError(f"{error.reason}; nothing was changed", error.path) from None
    except OSError as error:
        raise CsceError(f"{error.strerror or error}; nothing was changed", error.filename or path) from None


def install(paddleclas: Union[str, Path], force: bool = False) -> str:
    """Write the generated files, then the import lines (so no import ever points at a missing file)."""
    root = Path(paddleclas)
    files: List[Tuple[Path, Optional[bytes]]] = []
    inits: List[Tuple[Path, Optional[bytes]]] = []
    for part, state, why in part_states(root):
        if state == EDITED and not force:
            raise CsceError(f"{EDITED_WHY}; nothing was changed (install --force overwrites it)", root / part.target)
        target = _regular(root / part.target)
        source = generate_source(part.source).encode("utf-8")
        if not target.exists() or target.read_bytes() != source:
            if not target.parent.is_dir():
                raise CsceError(f"not a PaddleClas checkout (no {Path(part.target).parent}/)", root)
            files.append((target, source))
        text = _init_text(root, part)
        if not _current_import(text, part):
            new_text = insert_import(remove_import(text, part), part, root / part.init)
            inits.append((_regular(root / part.init), new_text.encode("utf-8")))
    if not files and not inits:
        return f"already installed in {root}: nothing changed"
    _apply(files + inits)
    return f"installed {', '.join(p.target for p in MANIFEST)} into {root}, with their imports"


def uninstall(paddleclas: Union[str, Path], force: bool = False) -> str:
    """Remove the import lines, then the generated files (only ours, and unedited unless force)."""
    root = Path(paddleclas)
    inits: List[Tuple[Path, Optional[bytes]]] = []
    files: List[Tuple[Path, Optional[bytes]]] = []
    for part, state, why in part_states(root):
        if state == EDITED and not force:
            raise CsceError(f"{EDITED_WHY}; nothing was changed (uninstall --force removes it anyway)",
                            root / part.target)
        text = _init_text(root, part)
        restored = remove_import(text, part)
        if restored != text:
            restored = _still_compiling(text, restored, part, root / part.init)
        if restored != text:
            inits.append((_regular(root / part.init), restored.encode("utf-8")))
        target = _regular(root / part.target)
        if target.exists():
            files.append((target, None))
    if not files and not inits:
        return f"not installed in {root}: nothing to remove"
    _apply(inits + files)
    return f"removed {', '.join(p.target for p in MANIFEST)} and their imports from {root}"
