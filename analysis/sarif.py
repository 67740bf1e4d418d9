"""SARIF 2.1.0 output for code-scanning UIs.

One rule per finding class with a stable id (`faultline-<class>`, with a helpUri into the
docs), one result per unique finding (suppressed ones carry an external suppression): the
line of the responsible function as physicalLocation with a path relative to the repository
root (uriBaseId SRCROOT), the error path from the injected fault to that line as the
codeFlow, each recorded stack in `stacks` (innermost frame first) and as relatedLocations,
and the fingerprint in partialFingerprints.
"""
from __future__ import annotations

from typing import Any, Optional

from .model import FindingClass, Frame, Stack
from .unique import Audit, UniqueFinding
from .version import version

SCHEMA_URI = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
              "sarif-schema-2.1.0.json")
TOOL_NAME = "faultline"
FINGERPRINT_KEY = "faultlineFingerprint/v1"
CLASSES = [c for c in FindingClass if c is not FindingClass.UNKNOWN]


def rule_id(cls: FindingClass, class_text: str = "") -> str:
    return f"faultline-{cls.value if cls is not FindingClass.UNKNOWN else class_text}"


def docs_uri(audit: Audit, page: str) -> str:
    return (audit.sources.repo_root.resolve() / "docs" / page).as_uri()


def _rules(audit: Audit) -> list[dict[str, Any]]:
    rules = []
    for c in CLASSES:
        level = "warning" if c is FindingClass.UNWIND_ORDER else "error"
        rules.append({
            "id": rule_id(c),
            "name": "".join(w.capitalize() for w in c.value.split("-")),
            "shortDescription": {"text": c.label},
            "fullDescription": {"text": c.description},
            "helpUri": docs_uri(audit, "schema.md") + "#findings",
            "help": {"text": f"{c.description} The finding names the function to fix; "
                             "docs/analysis.md says how it is chosen."},
            "defaultConfiguration": {"level": level},
        })
    extra = sorted({u.class_text for u in audit.findings + audit.suppressed
                    if u.cls is FindingClass.UNKNOWN})
    for text in extra:
        rules.append({"id": rule_id(FindingClass.UNKNOWN, text), "name": text,
                      "shortDescription": {"text": text},
                      "fullDescription": {"text": FindingClass.UNKNOWN.description},
                      "defaultConfiguration": {"level": "error"}})
    return rules


def _location(frame: Frame, build: int, audit: Audit,
              message: Optional[str] = None, loc_id: Optional[int] = None) -> dict[str, Any]:
    loc: dict[str, Any] = {}
    if loc_id is not None:
        loc["id"] = loc_id
    rel = audit.sources.relative(build, frame.file)
    if rel:
        phys: dict[str, Any] = {"artifactLocation": {"uri": rel, "uriBaseId": "SRCROOT"}}
        if frame.line and frame.line > 0:
            phys["region"] = {"startLine": frame.line}
        loc["physicalLocation"] = phys
    loc["logicalLocations"] = [{"name": frame.name, "kind": "function"}]
    if message:
        loc["message"] = {"text": message}
    return loc


def _stacks(u: UniqueFinding) -> list[tuple[str, Stack]]:
    m = u.minimal
    named = [("the injected fault", m.run.fault_stack), ("the allocation", m.alloc_stack),
             ("the first free" if u.cls is FindingClass.DOUBLE_FREE else "the free",
              m.free_stack),
             ("the panic/trap" if u.cls in (FindingClass.PANIC, FindingClass.CRASH) else
              "the access after the free" if u.cls is FindingClass.USE_AFTER_FREE else
              "the offending call", m.bad_stack)]
    return [(name, s) for name, s in named if s.frames]


def _result(u: UniqueFinding, audit: Audit, index: dict[str, int]) -> dict[str, Any]:
    m = u.minimal
    b = m.run.build
    text = (f"{u.title}. {' → '.join(step.text for step in u.path)}. Seen in {u.nruns} "
            f"run(s), minimal N={u.min_n} ({', '.join(u.scenarios)}). Repro: {u.repro}")
    if u.blame.ambiguous:
        text += f" Attribution ambiguous: {u.blame.ambiguous}."
    res: dict[str, Any] = {
        "ruleId": rule_id(u.cls, u.class_text),
        "ruleIndex": index[rule_id(u.cls, u.class_text)],
        "level": "warning" if u.is_warning else "error",
        "message": {"text": text},
        "partialFingerprints": {FINGERPRINT_KEY: u.fingerprint},
    }
    frame = u.blame.frame or u.located.site
    if frame is not None:
        res["locations"] = [_location(frame, b, audit)]
    else:
        res["locations"] = [{"logicalLocations": [{"name": u.func, "kind": "function"}]}]
    steps = [step for step in u.path if step.frame is not None]
    if steps:
        res["codeFlows"] = [{
            "message": {"text": "the error path, from the injected fault to the function "
                                "to fix"},
            "threadFlows": [{"locations": [
                {"location": _location(step.frame, b, audit, step.text), "nestingLevel": 0}
                for step in steps]}]}]
    stacks, related = [], []
    for name, stack in _stacks(u):
        stacks.append({"message": {"text": f"stack of {name}"},
                       "frames": [{"location": _location(f, b, audit)}
                                  for f in stack.frames]})
        for depth, f in enumerate(stack.frames):
            related.append(_location(f, b, audit, f"{name} #{depth} {f.name}",
                                     len(related) + 1))
    if stacks:
        res["stacks"] = stacks
        res["relatedLocations"] = related
    if u.suppressed_by is not None:
        r = u.suppressed_by
        res["suppressions"] = [{"kind": "external", "justification":
                                f"suppressions entry {r.text} ({r.source}:{r.lineno})"}]
    res["properties"] = {"function": u.func, "attribution": u.blame.rule,
                         "symptoms": [{"class": o.class_text, "function": o.func}
                                      for o in u.symptoms],
                         "runs": u.nruns, "firstN": u.first_n, "minN": u.min_n,
                         "maxN": u.max_n, "scenarios": u.scenarios, "execModes": u.exec_modes,
                         "faultModes": u.fault_modes, "repro": u.repro}
    return res


def sarif_log(audit: Audit) -> dict[str, Any]:
    rules = _rules(audit)
    index = {r["id"]: i for i, r in enumerate(rules)}
    root = audit.sources.repo_root.resolve().as_uri().rstrip("/") + "/"
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": TOOL_NAME, "version": version(),
                                "informationUri": docs_uri(audit, "analysis.md"),
                                "rules": rules}},
            "originalUriBaseIds": {"SRCROOT": {"uri": root}},
            "columnKind": "utf16CodeUnits",
            "results": [_result(u, audit, index) for u in audit.findings + audit.suppressed],
        }],
    }
