"""SARIF 2.1.0 output for code-scanning UIs.

One rule per finding class with a stable id (`faultline/<class>`), one result per unique
finding (suppressed ones carry an external suppression), the site as physicalLocation with
a path relative to the repository root (uriBaseId SRCROOT), each recorded stack as a codeFlow
(outermost frame first, as execution ran), and the fingerprint in partialFingerprints.
"""
from __future__ import annotations

from typing import Any, Optional

from .model import FindingClass, Frame, Stack
from .unique import Audit, UniqueFinding

SCHEMA_URI = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
              "sarif-schema-2.1.0.json")
TOOL_NAME = "faultline"
TOOL_VERSION = "1.0"
FINGERPRINT_KEY = "faultlineFingerprint/v1"
CLASSES = [c for c in FindingClass if c is not FindingClass.UNKNOWN]


def rule_id(cls: FindingClass, class_text: str = "") -> str:
    return f"faultline/{cls.value if cls is not FindingClass.UNKNOWN else class_text}"


def _rules(audit: Audit) -> list[dict[str, Any]]:
    rules = []
    for c in CLASSES:
        level = "warning" if c is FindingClass.UNWIND_ORDER else "error"
        rules.append({
            "id": rule_id(c),
            "name": "".join(w.capitalize() for w in c.value.split("-")),
            "shortDescription": {"text": c.label},
            "fullDescription": {"text": c.description},
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
             ("the offending call" if u.cls not in (FindingClass.PANIC, FindingClass.CRASH)
              else "the panic/trap", m.bad_stack)]
    return [(name, s) for name, s in named if s.frames]


def _result(u: UniqueFinding, audit: Audit, index: dict[str, int]) -> dict[str, Any]:
    m = u.minimal
    b = m.run.build
    text = (f"{u.title}. {m.message} Seen in {u.nruns} run(s), minimal N={u.min_n} "
            f"({', '.join(u.scenarios)}). Repro: {u.repro}")
    res: dict[str, Any] = {
        "ruleId": rule_id(u.cls, u.class_text),
        "ruleIndex": index[rule_id(u.cls, u.class_text)],
        "level": "warning" if u.is_warning else "error",
        "message": {"text": text},
        "partialFingerprints": {FINGERPRINT_KEY: u.fingerprint},
    }
    site = u.located.site
    if site is not None:
        res["locations"] = [_location(site, b, audit)]
    else:
        res["locations"] = [{"logicalLocations": [{"name": u.func, "kind": "function"}]}]
    flows, related = [], []
    next_id = 1
    for name, stack in _stacks(u):
        flows.append({
            "message": {"text": f"stack of {name}"},
            "threadFlows": [{"locations": [
                {"location": _location(f, b, audit, f"{name}: {f.name}"), "nestingLevel": i}
                for i, f in enumerate(reversed(stack.frames))]}],
        })
        for depth, f in enumerate(stack.frames):
            related.append(_location(f, b, audit, f"{name} #{depth} {f.name}", next_id))
            next_id += 1
    if flows:
        res["codeFlows"] = flows
        res["relatedLocations"] = related
    if u.suppressed_by is not None:
        r = u.suppressed_by
        res["suppressions"] = [{"kind": "external", "justification":
                                f"suppressions entry {r.text} ({r.source}:{r.lineno})"}]
    res["properties"] = {"runs": u.nruns, "firstN": u.first_n, "minN": u.min_n,
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
            "tool": {"driver": {"name": TOOL_NAME, "version": TOOL_VERSION,
                                "rules": rules}},
            "originalUriBaseIds": {"SRCROOT": {"uri": root}},
            "columnKind": "utf16CodeUnits",
            "results": [_result(u, audit, index) for u in audit.findings + audit.suppressed],
        }],
    }
