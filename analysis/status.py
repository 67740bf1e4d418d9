"""Whether the sweeps behind an audit are complete, and the verdict every output shows.

A sweep line is complete when the injector recorded one of its sweeps finished (sweeps.
finished_at: it reached the N where the fault no longer fired, or injected every call site
of its reference run) and none of its runs is an infrastructure failure left to redo. A
sweep stopped by --max-n, an interrupted one, a lone `injector run` and infrastructure
failures leave gaps. Runs read from a saved console log (exec mode `log`) are a record,
not a sweep, and have no end to reach.

The verdict: FAIL when a finding fails the run; else INCOMPLETE when there is a gap; else
PASS. Exit codes follow the findings alone (cli.py).
"""
from __future__ import annotations

import dataclasses
from collections import Counter

from .model import Outcome, Run
from .unique import Audit

FAIL, INCOMPLETE, PASS = "FAIL", "INCOMPLETE", "PASS"


@dataclasses.dataclass
class Gap:
    """One reason the audit is incomplete."""
    label: str                      # the sweep line, "proc reset/once"
    reason: str
    cases: set[tuple[str, str]]     # the (scenario, fault mode) of the runs it concerns


def _unfinished(audit: Audit) -> list[Gap]:
    keyed: dict[tuple, list] = {}
    for s in audit.sweeps:
        if s.exec_mode != "log":
            key = (s.build, s.scenario, s.exec_mode, s.fault_mode, s.class_filter, s.site)
            keyed.setdefault(key, []).append(s)
    by_sweep: dict[int, list[Run]] = {}
    for r in audit.runs:
        if r.sweep is not None and r.fault_mode != "none":    # not a reference run
            by_sweep.setdefault(r.sweep, []).append(r)
    gaps = []
    for (_, scenario, exec_mode, fault_mode, cls, site), sweeps in keyed.items():
        if any(s.finished_at for s in sweeps):
            continue
        runs = [r for s in sweeps for r in by_sweep.get(s.id, [])]
        mode = "by-site" if fault_mode == "site" else fault_mode
        extra = "".join(f" {k}={v}" for k, v in (("class", cls), ("site", site)) if v)
        done = f"{len(runs)} run(s), N up to {max(r.n for r in runs)}" if runs else "no runs"
        gaps.append(Gap(f"{scenario} {exec_mode}/{mode}{extra}",
                        f"not swept to the end ({done}): stopped by --max-n, interrupted, "
                        "or a single `injector run`",
                        {(r.scenario, r.fault_mode) for r in runs} or
                        {(scenario, "once" if fault_mode == "site" else fault_mode)}))
    return gaps


def _infra(runs: list[Run]) -> list[Gap]:
    lines = Counter((r.scenario, r.exec_mode, r.fault_mode) for r in runs
                    if r.outcome is Outcome.INFRA)
    return [Gap(f"{s} {e}/{f}", f"{n} infrastructure failure(s) not redone (run the same "
                "command again to redo them)", {(s, f)})
            for (s, e, f), n in sorted(lines.items())]


def gaps(audit: Audit) -> list[Gap]:
    return _unfinished(audit) + _infra(audit.runs)


def verdict(audit: Audit, strict: bool = False) -> str:
    if audit.failing(strict):
        return FAIL
    return INCOMPLETE if gaps(audit) else PASS
