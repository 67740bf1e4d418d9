"""Plain-text tables for the terminal. Every line passes through text.visible() when the
text is joined (terminal_text), so no control character from a guest string, a symbol name or
a path reaches the terminal raw; table cells are escaped before their widths are measured."""
from __future__ import annotations

from collections import Counter
from typing import Sequence

from . import status
from .coverage import Coverage
from .chart import outcome_key, outcome_order
from .text import visible
from .unique import Audit, UniqueFinding


def table(headers: Sequence[str], rows: Sequence[Sequence[object]],
          right: Sequence[int] = ()) -> list[str]:
    """Columns padded to their widest cell; the last column is left unpadded."""
    cells = [[visible(str(c)) for c in r] for r in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = []
    for r in cells:
        parts = []
        for i, c in enumerate(r):
            last = i == len(r) - 1
            if i in right:
                parts.append(c.rjust(widths[i]))
            else:
                parts.append(c if last else c.ljust(widths[i]))
        out.append("  ".join(parts).rstrip())
    return out


def terminal_text(lines: Sequence[str]) -> str:
    """The lines as terminal output: each escaped whole, so a newline inside a field cannot
    start a line of its own."""
    return "".join(visible(line) + "\n" for line in lines)


def header(audit: Audit) -> list[str]:
    builds = ", ".join(b.build_id[:12] for b in audit.builds.values()) or "none"
    return [f"faultline: {audit.db_path}: build {builds}, {len(audit.runs)} runs in "
            f"{len(audit.groups)} sweep lines, {audit.wall_s:.1f} s"]


def _finding_rows(findings: Sequence[UniqueFinding]) -> list[str]:
    lines = table(["ID", "CLASS", "RUNS", "MIN N", "TITLE"],
                  [(f.fingerprint, f.class_text, f.nruns, f.min_n, f.title) for f in findings],
                  right=(2, 3))
    out = [lines[0]]
    for f, line in zip(findings, lines[1:]):
        out.append(line)
        out.append(f"    repro: {f.repro}")
    return out


def findings_text(audit: Audit, strict: bool = False, coverage: Sequence[str] = ()) -> str:
    """The findings, then what else the audit saw; coverage (coverage_lines(), and what fails
    a coverage minimum) goes before the result line, which stays last."""
    out = header(audit)
    if audit.errors:
        out += ["", f"findings ({len(audit.errors)}):"] + _finding_rows(audit.errors)
    if audit.warnings:
        note = "fail the run (--strict)" if strict else "reported, do not fail the run"
        out += ["", f"warnings ({len(audit.warnings)}, {note}):"] + \
            _finding_rows(audit.warnings)
    if audit.rules:
        out += ["", "suppressions:"]
        out += table(["ENTRY", "FINDINGS", "RUNS", "WHERE"],
                     [(r.text, r.findings, r.occurrences, f"{r.source}:{r.lineno}")
                      for r in audit.rules], right=(1, 2))
    if audit.expected_panics:
        out += ["", "expected panics (annotated, not findings):"]
        for e in audit.expected_panics:
            ns = ", ".join(f"{r.scenario} N={r.n}" for r in e.runs[:6])
            more = f" (+{len(e.runs) - 6} more)" if len(e.runs) > 6 else ""
            out.append(f"  {len(e.runs)} run(s) in {e.func}: {e.message}  [{ns}{more}]")
    infra = audit.infra_runs
    if infra:
        out += ["", f"infrastructure failures ({len(infra)} runs, not kernel findings):"]
        for r in infra[:10]:
            out.append(f"  {r.scenario} {r.exec_mode}/{r.fault_mode} N={r.n}: "
                       f"{r.infra_reason or 'no reason recorded'}")
        if len(infra) > 10:
            out.append(f"  ... {len(infra) - 10} more")
    if audit.nmalformed:
        out += ["", f"malformed console lines: {audit.nmalformed} (rejected and counted)"]
    gaps = status.gaps(audit)
    out += gap_lines(gaps)
    out += coverage
    incomplete = f", {len(gaps)} incomplete" if gaps else ""
    out += ["", f"result: {len(audit.errors)} finding(s), {len(audit.warnings)} warning(s), "
                f"{len(audit.suppressed)} suppressed, {len(infra)} infrastructure "
                f"failure(s){incomplete} -> {status.verdict(audit, strict)}"]
    return terminal_text(out)


def gap_lines(gaps: Sequence[status.Gap]) -> list[str]:
    if not gaps:
        return []
    return ["", f"incomplete ({len(gaps)} sweep line(s), so never PASS):"] + \
        [f"  {g.label}: {g.reason}" for g in gaps]


def summary_text(audit: Audit) -> str:
    """Outcome counts per sweep line; annotated panics counted apart from real ones."""
    counts = [Counter(outcome_key(r) for r in g.runs) for g in audit.groups]
    columns = [k for k in outcome_order() if any(c[k] for c in counts)]
    rows = []
    for g, c in zip(audit.groups, counts):
        fault = g.fault_mode + "".join(f" {v}" for v in (g.class_filter, g.site) if v)
        rows.append([g.scenario, g.exec_mode, fault, len(g.runs), g.max_n] +
                    [c.get(k, 0) or "." for k in columns] + [g.nmalformed])
    out = header(audit) + [""]
    out += table(["SCENARIO", "EXEC", "FAULT", "RUNS", "MAX N"] + columns + ["MALFORMED"],
                 rows, right=tuple(range(3, 6 + len(columns))))
    out += gap_lines(status.gaps(audit))
    return terminal_text(out)


def coverage_lines(covs: Sequence[Coverage]) -> list[str]:
    """The error-path coverage line of each build with coverage, and the functions holding
    error-path lines no run reached (docs/analysis.md, "Error-path coverage")."""
    out = []
    for cov in covs:
        name = f" (build {cov.build})" if len(covs) > 1 else ""
        out += ["", cov.headline() + name]
        never = cov.never_reached_functions()
        if never:
            out.append(f"never-reached error paths ({len(never)} functions):")
        for func, hits in never.items():
            by_file: dict[str, list[str]] = {}
            for h in hits:
                by_file.setdefault(h.file, []).append(str(h.line))
            out.append(f"  {func}: " + "; ".join(f"{f}:{','.join(ls)}"
                                                 for f, ls in by_file.items()))
    return out
