"""Error-path coverage: which source lines the runs executed, with and without an injected
fault, and which error-path lines no run reached (docs/analysis.md, "Error-path coverage").

The tracer stores, per build, its coverage points (basic blocks) and the source lines each
one runs, and per run a bitmap of the points it ran (docs/schema.md). Here the bitmaps are
counted per line for a set of runs (one sweep, or every run of a build):

- fault-free runs: runs whose armed fault never fired (the last run of every sweep);
- error-path lines: lines of the error-path functions that no fault-free run executed;
- error-path functions: the functions that called the allocator when a fault was injected
  (the fault sites), and the functions on a fault's stack in which some injected run
  executed a line no fault-free run executed (they handle the failure);
- reached: an error-path line some run with an injected fault executed.
"""
from __future__ import annotations

import dataclasses
import pathlib
from collections import defaultdict
from typing import Callable, Iterable, Optional, Sequence

from .db import Database
from .model import Run

Line = tuple[str, int]     # (file as recorded, line)


@dataclasses.dataclass(frozen=True)
class LineHits:
    file: str
    line: int
    funcs: tuple[str, ...]    # the functions whose blocks run this line (inlining: several)
    fault_free: int           # fault-free runs that executed it
    injected: int             # runs with an injected fault that executed it
    error_path: bool

    @property
    def hits(self) -> int:
        return self.fault_free + self.injected

    @property
    def never_reached(self) -> bool:
        return self.error_path and not self.injected


@dataclasses.dataclass
class Coverage:
    build: int
    nruns: int                     # runs with coverage counted
    nfault_free: int
    lines: dict[Line, LineHits]

    @property
    def error_lines(self) -> list[LineHits]:
        return [h for h in self.lines.values() if h.error_path]

    @property
    def reached(self) -> int:
        return sum(1 for h in self.error_lines if h.injected)

    @property
    def total(self) -> int:
        return len(self.error_lines)

    @property
    def percent(self) -> float:
        return 100.0 * self.reached / self.total if self.total else 100.0

    def never_reached(self) -> list[LineHits]:
        return sorted((h for h in self.lines.values() if h.never_reached),
                      key=lambda h: (h.file, h.line))

    def never_reached_functions(self) -> dict[str, list[LineHits]]:
        """Function -> its never-reached error-path lines, functions by name."""
        out: dict[str, list[LineHits]] = defaultdict(list)
        for h in self.never_reached():
            for f in h.funcs:
                out[f].append(h)
        return dict(sorted(out.items()))

    def files(self) -> dict[str, list[LineHits]]:
        """File -> its covered lines in line order."""
        out: dict[str, list[LineHits]] = defaultdict(list)
        for h in sorted(self.lines.values(), key=lambda h: (h.file, h.line)):
            out[h.file].append(h)
        return dict(sorted(out.items()))

    def headline(self) -> str:
        return (f"error paths reached: {self.reached}/{self.total} lines "
                f"({self.percent:.1f}%)")

    def to_json(self) -> dict:
        return {"build": self.build, "runs": self.nruns, "fault_free_runs": self.nfault_free,
                "error_path_lines": self.total, "reached": self.reached,
                "percent": round(self.percent, 1),
                "never_reached": {f: [f"{h.file}:{h.line}" for h in hs]
                                  for f, hs in self.never_reached_functions().items()}}


def _bits(blob: bytes, npoints: int) -> Iterable[int]:
    for i, byte in enumerate(blob[:(npoints + 7) // 8]):
        while byte:
            low = byte & -byte
            yield i * 8 + low.bit_length() - 1
            byte ^= low


def _fault_funcs(run: Run) -> tuple[Optional[str], set[str]]:
    """The fault site's function and every function on the fault's stack."""
    site = run.fault_frame.func if run.fault_frame else None
    stack = {f.func for f in run.fault_stack.frames if f.func}
    return site, stack | ({site} if site else set())


def coverage(db: Database, build: int, runs: Sequence[Run]) -> Optional[Coverage]:
    """Line coverage of these runs of one build; None when none of them reported any."""
    points, rows = db.coverage_map(build)
    bitmaps = db.coverage_bitmaps(build)
    counted = [r for r in runs if r.build == build and r.id in bitmaps]
    if not points or not counted:
        return None
    npoints = max(points) + 1
    point_lines: dict[int, list[Line]] = defaultdict(list)
    line_funcs: dict[Line, set[str]] = defaultdict(set)
    for point, file, line in rows:
        point_lines[point].append((file, line))
        line_funcs[(file, line)].add(points.get(point, "?"))

    fault_free: dict[Line, int] = defaultdict(int)
    injected: dict[Line, int] = defaultdict(int)
    injected_by_run: dict[int, set[Line]] = {}
    for r in counted:
        ran = {ln for p in _bits(bitmaps[r.id], npoints) for ln in point_lines.get(p, ())}
        for ln in ran:
            (injected if r.fired else fault_free)[ln] += 1
        if r.fired:
            injected_by_run[r.id] = ran

    sites: set[str] = set()
    on_stack: set[str] = set()
    for r in counted:
        if r.fired:
            site, stack = _fault_funcs(r)
            sites |= {site} if site else set()
            on_stack |= stack
    diverging = {f for ln in injected if ln not in fault_free for f in line_funcs[ln]}
    error_funcs = sites | (on_stack & diverging)

    lines = {}
    for ln, funcs in line_funcs.items():
        lines[ln] = LineHits(ln[0], ln[1], tuple(sorted(funcs)), fault_free.get(ln, 0),
                             injected.get(ln, 0),
                             ln not in fault_free and bool(funcs & error_funcs))
    return Coverage(build, len(counted), sum(1 for r in counted if not r.fired), lines)


def sweep_coverage(db: Database, runs: Sequence[Run], sweep: int) -> Optional[Coverage]:
    """The coverage of one sweep: for each error-path line, reached or never reached, and
    the functions with never-reached error paths (Coverage.never_reached_functions)."""
    mine = [r for r in runs if r.sweep == sweep]
    return coverage(db, mine[0].build, mine) if mine else None


def build_coverages(db: Database, runs: Sequence[Run]) -> list[Coverage]:
    """One Coverage per build whose runs reported coverage, over all their runs."""
    out = []
    for build in sorted({r.build for r in runs}):
        cov = coverage(db, build, runs)
        if cov:
            out.append(cov)
    return out


def lcov(cov: Coverage, resolve: Callable[[int, str], str]) -> str:
    """An lcov tracefile (geninfo(1) format): one record per source file, DA:<line>,<hits>.
    resolve(build, file) gives the path written in SF (genhtml reads the file there). A
    recorded name holding a control character (a hostile ELF) would break the line format:
    such a file is left out."""
    out = ["TN:faultline"]
    for file, hits in cov.files().items():
        path = resolve(cov.build, file)
        if any(ord(c) < 0x20 or ord(c) == 0x7f for c in path):
            continue
        out.append(f"SF:{path}")
        out += [f"DA:{h.line},{h.hits}" for h in hits]
        out.append(f"LF:{len(hits)}")
        out.append(f"LH:{sum(1 for h in hits if h.hits)}")
        out.append("end_of_record")
    return "\n".join(out) + "\n"



def shortfalls(covs: Sequence[Coverage], minimum: Optional[float]) -> list[str]:
    """Why the error-path coverage fails a minimum of P%, one line each; [] passes (and no
    minimum always passes). No coverage at all fails: a gate that asks for it must get it."""
    if minimum is None:
        return []
    if not covs:
        return ["no run reported coverage: the kernel was built without "
                "-fsanitize-coverage=trace-pc (build/kernel-cov.elf has it)"]
    return [f"error-path coverage {c.percent:.1f}% is below the minimum of {minimum:g}%"
            for c in covs if c.percent < minimum]
