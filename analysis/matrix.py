"""The site × outcome matrix: one row per allocation call site, one column per scenario and
fault mode, each cell the worst outcome of the runs whose (first) injected fault failed that
site, linked to the finding those runs showed, else to the log of the worst run.

Rows come from both sides: every allocation call site of each build's ELF (callsites.py) and
every site a run failed. A site no run failed is a row with empty cells, "never failed": its
error path was never run. A row is a source call site (innermost function, file:line); the
function it was inlined into is named with it when that differs.
"""
from __future__ import annotations

import dataclasses
import os
import urllib.parse
from typing import Optional

from . import callsites, chart
from .inlines import Inlines
from .model import Frame, Run
from .unique import Audit, UniqueFinding


@dataclasses.dataclass(frozen=True)
class Column:
    scenario: str
    fault_mode: str

    @property
    def label(self) -> str:
        return f"{self.scenario} {self.fault_mode}"


@dataclasses.dataclass
class Cell:
    outcome: str
    colour: str
    runs: int
    href: str
    title: str
    finding: bool = False     # href is a finding page


@dataclasses.dataclass
class SiteRow:
    func: str
    inlined_in: str       # the symbol the site's code lies in, when not func itself
    where: str            # file:line, "" when unknown
    cells: list[Optional[Cell]]

    @property
    def never_failed(self) -> bool:
        return not any(self.cells)


@dataclasses.dataclass
class Matrix:
    columns: list[Column]
    rows: list[SiteRow]
    legend: list[tuple[str, str]]     # (outcome, colour) of the outcomes shown, worst first

    @property
    def never_failed(self) -> list[SiteRow]:
        return [r for r in self.rows if r.never_failed]


SiteKey = tuple[str, str, str]        # (func, inlined_in, where)


class _Sites:
    """Names sites: the innermost function and line at the return pc, from the DWARF of
    builds whose ELF was read (`verified`), else the frame the tracer stored."""

    def __init__(self, audit: Audit):
        self.audit = audit
        self.inlines = Inlines(audit.builds)
        self.verified: set[int] = set()

    def key(self, build: int, pc: int, symbol: Optional[str],
            frame: Optional[Frame] = None) -> SiteKey:
        scope = self.inlines.innermost(build, pc) if build in self.verified else None
        if scope is None and frame is not None:
            return (frame.name, "", self._where(build, frame.file, frame.line))
        if scope is None:
            return (symbol or f"?? {pc:x}", "", "")
        outer = "" if (symbol or "").split(".")[0] == scope.func else symbol or ""
        return (scope.func, outer, self._where(build, scope.file, scope.line))

    def _where(self, build: int, file: Optional[str], line: Optional[int]) -> str:
        rel = self.audit.sources.relative(build, file) if file else ""
        return f"{rel}:{line}" if rel and line else rel or ""


def build(audit: Audit, out_dir: Optional[str] = None) -> Matrix:
    """The matrix of the audit's runs; `out_dir` (where index.html goes) makes run-log links
    relative to it."""
    sites = _Sites(audit)
    failed = [r for r in audit.runs if r.fault_pc]
    columns = list(dict.fromkeys(Column(g.scenario, g.fault_mode) for g in audit.groups))
    by_site: dict[SiteKey, dict[Column, list[Run]]] = {}
    for bid, b in audit.builds.items():
        calls = callsites.disassemble(b.elf_path, b.build_id)
        if calls:
            sites.verified.add(bid)
        symbol = {c.ret: c.caller for c in calls}
        pcs = {r.fault_pc for r in failed if r.build == bid}
        for pc in callsites.allocation_sites(calls, pcs, audit.norm.is_allocator):
            by_site.setdefault(sites.key(bid, pc, symbol.get(pc)), {})
    for r in failed:
        frame = r.fault_frame
        key = sites.key(r.build, r.fault_pc, frame.func if frame else None, frame)
        by_site.setdefault(key, {}).setdefault(Column(r.scenario, r.fault_mode), []).append(r)
    finding_of = _finding_of_runs(audit)
    rows = [SiteRow(*key, [_cell(key, c, cells.get(c), finding_of, out_dir) for c in columns])
            for key, cells in sorted(by_site.items(), key=lambda kv: _order(kv[0]))]
    shown = {c.outcome for row in rows for c in row.cells if c}
    legend = [(k, chart.colour(k)) for k in chart.outcome_order() if k in shown]
    return Matrix(columns, rows, legend)


def _order(key: SiteKey) -> tuple:
    file, _, line = key[2].rpartition(":")
    return (file or key[2], int(line) if line.isdigit() else 0, key[0], key[1])


def _finding_of_runs(audit: Audit) -> dict[int, UniqueFinding]:
    """Each run's worst finding (findings come worst first; suppressed ones last)."""
    out: dict[int, UniqueFinding] = {}
    for u in audit.findings + audit.suppressed:
        for o in u.occurrences:
            out.setdefault(o.run.id, u)
    return out


def _cell(key: SiteKey, column: Column, runs: Optional[list[Run]],
          finding_of: dict[int, UniqueFinding], out_dir: Optional[str]) -> Optional[Cell]:
    if not runs:
        return None
    worst = min(runs, key=lambda r: (chart.rank(chart.outcome_key(r)), r.n))
    outcome = chart.outcome_key(worst)
    finding = finding_of.get(worst.id) or next(
        (finding_of[r.id] for r in sorted(runs, key=lambda r: r.n) if r.id in finding_of),
        None)
    title = (f"{key[0]} {key[2]}, {column.label}: {len(runs)} run(s) failed this site, "
             f"worst {outcome} (N={worst.n})")
    if finding is not None:
        return Cell(outcome, chart.colour(outcome), len(runs),
                    f"findings/{finding.fingerprint}.html", f"{title}; {finding.title}", True)
    href = _log_href(worst, out_dir)     # "" when its log was not kept (lazy storage)
    return Cell(outcome, chart.colour(outcome), len(runs), href,
                f"{title}; no finding" + (", link: the run's console log" if href else ""))


def _log_href(run: Run, out_dir: Optional[str]) -> str:
    if not run.raw_log:
        return ""
    path = run.raw_log
    if out_dir and os.path.isabs(path):
        path = os.path.relpath(path, out_dir)
    return urllib.parse.quote(path, safe="/")
