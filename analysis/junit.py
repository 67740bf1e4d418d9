"""JUnit XML output: one testsuite per scenario, one testcase per (scenario, fault mode).

A testcase fails when an unsuppressed finding (a warning too, in strict mode) occurred in one
of its runs, and errors when only infrastructure failures did; a testcase whose sweep was not
run to its end (status.py) is skipped with an INCOMPLETE message, never passed. Expected
panics, warnings, suppressed findings and gaps are listed in its system-out.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

from . import status
from .text import visible_in_document
from .unique import Audit, UniqueFinding


def _xml_safe(root: ET.Element) -> None:
    """Show control characters (which XML 1.0 cannot carry, and a CI log would print raw) as
    visible escapes, in every text and attribute of the tree."""
    for el in root.iter():
        if el.text:
            el.text = visible_in_document(el.text)
        for k, v in el.attrib.items():
            el.set(k, visible_in_document(v))


def _describe(f: UniqueFinding) -> str:
    return (f"[{f.fingerprint}] {f.title} ({f.nruns} run(s), minimal N={f.min_n})\n"
            f"    repro: {f.repro}")


def junit_xml(audit: Audit, strict: bool = False) -> bytes:
    cases: dict[tuple[str, str], list] = {}
    for r in audit.runs:
        cases.setdefault((r.scenario, r.fault_mode), []).append(r)
    gaps = status.gaps(audit)
    for g in gaps:
        for key in g.cases:
            cases.setdefault(key, [])
    failing = audit.failing(strict)
    quiet = [f for f in audit.findings if f not in failing]

    def touching(findings, key):
        return [f for f in findings if any((o.run.scenario, o.run.fault_mode) == key
                                           for o in f.occurrences)]

    root = ET.Element("testsuites", name="faultline")
    totals = Counter()
    for scenario in sorted({k[0] for k in cases}):
        suite = ET.SubElement(root, "testsuite", name=f"faultline.{scenario}")
        counts = Counter()
        for key in sorted(k for k in cases if k[0] == scenario):
            runs = cases[key]
            secs = sum(r.wall_ms or 0.0 for r in runs) / 1000.0
            case = ET.SubElement(suite, "testcase", classname=f"faultline.{scenario}",
                                 name=f"{scenario} fault={key[1]}", time=f"{secs:.3f}")
            bad = touching(failing, key)
            infra = [r for r in runs if r.outcome_text == "infra"]
            short = [f"INCOMPLETE: {g.label}: {g.reason}" for g in gaps if key in g.cases]
            if bad:
                el = ET.SubElement(case, "failure", message=f"{len(bad)} finding(s): "
                                   + "; ".join(f.title for f in bad),
                                   type=",".join(sorted({f.class_text for f in bad})))
                el.text = "\n".join(_describe(f) for f in bad) + "\n"
                counts["failures"] += 1
            elif infra:
                el = ET.SubElement(case, "error", message=f"{len(infra)} infrastructure "
                                   "failure(s)", type="infra")
                el.text = "".join(f"{r.exec_mode} N={r.n}: {r.infra_reason}\n" for r in infra)
                counts["errors"] += 1
            elif short:
                ET.SubElement(case, "skipped", message="; ".join(short))
                counts["skipped"] += 1
            counts["tests"] += 1
            counts["time"] += secs
            out = [f"{len(runs)} run(s), exec modes {', '.join(sorted({r.exec_mode for r in runs}))}, "
                   f"max N {max((r.n for r in runs), default=0)}",
                   "outcomes: " + ", ".join(f"{k}={v}" for k, v in
                                            sorted(Counter(r.outcome_text for r in runs)
                                                   .items()))]
            for f in touching(quiet, key):
                out.append("warning (does not fail): " + _describe(f))
            for f in touching(audit.suppressed, key):
                out.append(f"suppressed by {f.suppressed_by.text}: " + _describe(f))
            for e in audit.expected_panics:
                hit = [r for r in e.runs if (r.scenario, r.fault_mode) == key]
                if hit:
                    out.append(f"expected panic in {e.func} ({len(hit)} run(s)): {e.message}")
            out += short
            if infra and bad:
                out += [f"infrastructure failure {r.exec_mode} N={r.n}: {r.infra_reason}"
                        for r in infra]
            ET.SubElement(case, "system-out").text = "\n".join(out) + "\n"
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("skipped", str(counts["skipped"]))
        suite.set("time", f"{counts['time']:.3f}")
        totals.update(counts)
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", str(totals["errors"]))
    root.set("skipped", str(totals["skipped"]))
    root.set("time", f"{totals['time']:.3f}")
    _xml_safe(root)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
