"""A kernel's test suite gating on faultline: one scenario swept, or one fault run, into a
database, and the result as typed data a test asserts on.

`Gate` holds what stays the same for a suite (the kernel, the execution mode, the
suppressions, the kernel's profile) and drives build/injector the way bisection does
(analysis/bisect.py's Host), then audits the database with analyze(): the findings it gives
back are the unique findings, named for the function to fix.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
from collections import Counter
from typing import Optional

from . import coverage, status
from .bisect import Host, audit_of, call, default_injector, kernel_scenarios, sweep_argv
from .db import Database
from .model import FindingClass, Outcome, Severity
from .profile import load_or_default
from .suppressions import load
from .text import visible
from .unique import Audit, UniqueFinding

MODES = ("fresh", "reset", "warm")
FAULTS = ("once", "persist")


class GateError(Exception):
    """The injector could not do what was asked (a usage or infrastructure error)."""


@dataclasses.dataclass(frozen=True)
class Finding:
    """One unique finding: its class, the function to fix and the line in it."""
    fingerprint: str
    cls: FindingClass
    severity: Severity
    title: str
    function: str
    file: Optional[str]
    line: Optional[int]
    repro: str
    symptoms: tuple[FindingClass, ...]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file and self.line else self.file or "?"

    @classmethod
    def of(cls, u: UniqueFinding, audit: Audit) -> "Finding":
        frame = u.blame.frame
        return cls(u.fingerprint, u.cls, u.severity, u.title, u.func,
                   audit.sources.relative(u.minimal.run.build, frame.file) if frame else None,
                   frame.line if frame else None, u.repro,
                   tuple(dict.fromkeys(o.cls for o in u.symptoms)))


@dataclasses.dataclass
class SweepResult:
    """A sweep of one scenario in one fault mode, as the database holds it."""
    scenario: str
    fault: str
    db: pathlib.Path
    verdict: str                        # status.PASS, FAIL or INCOMPLETE
    findings: list[Finding]             # unsuppressed, errors first, then warnings
    suppressed: int
    gaps: list[str]                     # why the sweep is incomplete, one line each
    runs: int                           # runs in the database
    executed: int                       # runs this sweep added (0: all resumed)
    outcomes: Counter
    error_coverage: Optional[float] = None   # % of error-path lines reached, None without
    coverage_shortfall: list[str] = dataclasses.field(default_factory=list)  # min not met

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def passed(self) -> bool:
        return self.verdict == status.PASS and not self.coverage_shortfall

    def explain(self) -> str:
        """What a failing test says: each finding with its function, line and repro."""
        lines = [f"faultline: {self.scenario} ({self.fault}): {self.verdict}, "
                 f"{len(self.errors)} finding(s) in {self.runs} run(s)"]
        for f in self.findings:
            kind = "" if f.severity is Severity.ERROR else " [warning]"
            lines += [f"  {f.title}{kind}",
                      f"    function: {f.function} ({f.where})",
                      f"    repro: {f.repro}"]
        lines += [f"  incomplete: {g}" for g in self.gaps]
        lines += [f"  coverage: {s}" for s in self.coverage_shortfall]
        return "\n".join(visible(line) for line in lines)


@dataclasses.dataclass
class RunResult:
    """One injected fault: how the run ended and what it showed."""
    scenario: str
    n: int
    outcome: Outcome
    fired: bool                         # the armed fault was reached and failed
    fault_function: Optional[str]       # the function whose allocation failed
    findings: list[Finding]
    log: Optional[pathlib.Path]         # the run's raw console stream
    db: pathlib.Path


def _max_run_id(db: pathlib.Path) -> int:
    if not db.exists():
        return 0
    with Database(db) as d:
        return max((r.id for r in d.runs()), default=0)


def sweepable(offered: list[str]) -> list[str]:
    """The scenarios `injector sweep --scenario all` sweeps: those the kernel offers but its
    own `all` and its self-tests (`test-*`)."""
    return [s for s in offered if s != "all" and not s.startswith("test-")]


@dataclasses.dataclass
class Gate:
    kernel: pathlib.Path
    mode: str = "warm"
    suppressions: Optional[pathlib.Path] = None
    profile: Optional[pathlib.Path] = None
    jobs: int = dataclasses.field(default_factory=lambda: os.cpu_count() or 1)
    timeout: Optional[float] = None
    injector: pathlib.Path = dataclasses.field(default_factory=default_injector)
    min_error_coverage: Optional[float] = None  # % of error-path lines a sweep must reach

    def host(self) -> Host:
        """The injector's settings, with the suppressions read afresh (an audit counts
        its matches into the rules)."""
        return Host(self.injector, self.jobs, self.timeout, self.mode,
                    load(self.suppressions) if self.suppressions else [],
                    profile=load_or_default(self.profile))

    def offered(self) -> list[str]:
        """Every scenario the kernel offers (its .scenarios section)."""
        names = kernel_scenarios(self.host(), self.kernel)
        if names is None:
            why = call([str(self.injector), "scenarios", "--kernel", str(self.kernel)])
            raise GateError(why.output.strip() or f"{self.kernel}: cannot list its scenarios")
        return names

    def _inject(self, sub: str, db: pathlib.Path, argv: list[str]) -> None:
        c = call(self.host().command(sub, self.kernel, db, *argv))
        if c.code not in (0, 1):
            raise GateError(f"{' '.join(c.argv)} exited {c.code}:\n{c.output.strip()}")

    def sweep(self, scenario: str, db: pathlib.Path, fault: str = "once", site: str = "",
              max_n: Optional[int] = None) -> SweepResult:
        """Sweep scenario (N = 1, 2, ... until the fault no longer fires) into db; what
        db already holds is not run again."""
        before = _max_run_id(db)
        self._inject("sweep", db, sweep_argv(scenario, site, fault, max_n))
        audit = audit_of(db, self.host())
        cov = self._coverage(db, [r for r in audit.runs if r.scenario == scenario])
        return SweepResult(
            scenario, fault, db, status.verdict(audit),
            [Finding.of(u, audit) for u in audit.findings], len(audit.suppressed),
            [f"{g.label}: {g.reason}" for g in status.gaps(audit)], len(audit.runs),
            sum(1 for r in audit.runs if r.id > before),
            Counter(r.outcome_text for r in audit.runs), cov.percent if cov else None,
            coverage.shortfalls([cov] if cov else [], self.min_error_coverage))

    @staticmethod
    def _coverage(db: pathlib.Path, runs: list) -> Optional[coverage.Coverage]:
        """The error-path coverage of these runs (one build), None without coverage."""
        if not runs:
            return None
        with Database(db) as d:
            return coverage.coverage(d, runs[0].build, runs)

    def run(self, scenario: str, fail: int, db: pathlib.Path, site: str = "",
            persist: bool = False) -> RunResult:
        """Run scenario once with its fail-th allocation (counting only those from site,
        when given) failing, into db."""
        argv = ["--scenario", scenario, "--fail", str(fail)]
        argv += ["--site", site] if site else []
        argv += ["--persist"] if persist else []
        self._inject("run", db, argv)
        audit = audit_of(db, self.host())
        run = max(audit.runs, key=lambda r: r.id)          # the one just stored
        mine = [u for u in audit.findings if any(o.run.id == run.id for o in u.occurrences)]
        return RunResult(scenario, fail, run.outcome, run.fired,
                         run.fault_frame.func if run.fired and run.fault_frame else None,
                         [Finding.of(u, audit) for u in mine],
                         pathlib.Path(run.raw_log) if run.raw_log else None, db)
