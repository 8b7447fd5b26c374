"""The rules reference page, generated at `mkdocs build` from the rules' own registry (as yamllint's is).

Why: a rule's id, level, summary and docstring are its documentation; a hand-written table drifts. The page
docs/rules.md holds the prose and the marker below; this hook puts one section per rule in its place, with the
rule's bad and good fixture from tests/fixtures/validate (the files tests/test_rules.py checks).
"""

import inspect
import re
import sys
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "validate"
MARKER = "<!-- rules-reference -->"
BLOB = "https://github.com/ppcls-csce/ppcls-csce/blob/main/"
_DIRECTIVE = re.compile(r"#\s*(expect|options):\s*(.*)")


def _registry() -> Tuple[List[object], List[object]]:
    """(the rules the registry runs on a config, the ids raised elsewhere), in registry order, from this checkout.
    Every id is in BY_ID; those of RULES are run, the rest (COMMAND_RULES or IDS, as the registry is shaped) not."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from ppcls_csce import rules

    run = list(getattr(rules, "RULES", []))
    run_ids = {rule_fields(rule)["id"] for rule in run}
    elsewhere = [code for code in getattr(rules, "BY_ID", {}).values() if rule_fields(code)["id"] not in run_ids]
    return run, elsewhere


def rule_fields(rule: object) -> Dict[str, str]:
    """id, severity, summary and doc of a rule, read defensively (the one place that knows the Rule's shape):
    its attributes, else its check's docstring; a missing summary is the doc's first sentence."""
    check = getattr(rule, "check", None)
    doc = getattr(rule, "doc", "") or (inspect.getdoc(check) if callable(check) else "") or ""
    severity = getattr(rule, "severity", None) or getattr(rule, "level", None) or "error"
    summary = getattr(rule, "summary", "") or doc.split(". ")[0]
    return {"id": str(getattr(rule, "id", "") or getattr(rule, "name", "")), "severity": str(severity),
            "summary": " ".join(str(summary).split()), "doc": " ".join(str(doc).split())}


def _fixture_section(rule_id: str) -> str:
    """The rule's first bad fixture (what validate reports on it) and first good one, as a collapsed example."""
    def readable(paths: List[Path]) -> List[Path]:  # the plain `.bad.yaml` first; a binary file is no example
        return sorted((p for p in paths if b"\0" not in p.read_bytes()), key=lambda p: (".bad-" in p.name, p.name))

    bad = readable(list(FIXTURES.glob(f"{rule_id}.bad.yaml")) + list(FIXTURES.glob(f"{rule_id}.bad-*.yaml")))
    good = sorted(FIXTURES.glob(f"{rule_id}.good*.yaml"))
    if not bad:
        return ""
    text = bad[0].read_text(encoding="utf-8", errors="replace")
    body, expect, options = [], [], ""
    for line in text.splitlines():
        directive = _DIRECTIVE.fullmatch(line.strip())
        if directive and directive.group(1) == "expect":
            expect.append(directive.group(2).split())
        elif directive:
            options = directive.group(2).strip()
        body.append(line)  # directives kept: the line numbers are the file's
    places = ", ".join(f"`{where}`" for _, where, *_ in expect if where != "-")
    places = f"at {places} (line:column)" if places else "for the file as a whole"
    where = bad[0].relative_to(ROOT).as_posix()
    command = " ".join(filter(None, ["csce-config validate --data-root", FIXTURES.relative_to(ROOT).as_posix(),
                                     options, where]))
    lines = [f'??? example "Example: `{bad[0].name}`"', "",
             f"    `{command}` reports `[{rule_id}]` {places} on "
             f"[this file]({BLOB}{bad[0].relative_to(ROOT).as_posix()}):", "",
             "    ```yaml linenums=\"1\"", *[f"    {line}" if line else "" for line in body], "    ```", ""]
    if good:
        lines += [f"    A config that passes: [{good[0].name}]({BLOB}{good[0].relative_to(ROOT).as_posix()}).", ""]
    return "\n".join(lines)


def _section(rule: object) -> str:
    fields = rule_fields(rule)
    parts = [f"### `{fields['id']}`", "", f"**Level:** {fields['severity']}. {fields['summary']}", ""]
    if fields["doc"] and fields["doc"] != fields["summary"]:
        parts += [fields["doc"], ""]
    return "\n".join(parts) + "\n" + _fixture_section(fields["id"])


def reference_markdown() -> str:
    """The generated part of docs/rules.md: the rules run on a config, then the ids raised elsewhere."""
    checked, elsewhere = _registry()
    parts = ["## Checks of a config", "", "The rules `validate` runs on every config (and `gen` on the config it "
             "is about to write), in this order.", "", *(_section(rule) for rule in checked)]
    if elsewhere:
        parts += ["## Problems found elsewhere", "",
                  "These ids are raised outside the rules: while a file or a train list is read, or by a command "
                  "about its own input (gen's and smoke's preconditions, a list without a class, a PaddleClas "
                  "checkout without the installed files, input that is not a config).", "",
                  *(_section(code) for code in elsewhere)]
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ANN001 (mkdocs hook signature)
    """mkdocs hook: fill the marker of docs/rules.md."""
    if MARKER in markdown:
        return markdown.replace(MARKER, reference_markdown())
    return markdown
