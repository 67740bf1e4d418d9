"""JSON output: the whole audit as plain data (format "faultline-findings", version 1)."""
from __future__ import annotations

import json
from typing import Any, Optional

from . import status
from .model import Frame, Run, RunFinding, Stack
from .sources import SourceTree
from .unique import Audit, UniqueFinding

FORMAT_VERSION = 1


def frame_dict(frame: Frame, build: int, sources: SourceTree) -> dict[str, Any]:
    return {"pc": f"{frame.pc:x}", "function": frame.func,
            "file": sources.relative(build, frame.file), "line": frame.line}


def stack_list(stack: Stack, build: int, sources: SourceTree) -> list[dict[str, Any]]:
    return [frame_dict(f, build, sources) for f in stack.frames]


def run_dict(run: Run) -> dict[str, Any]:
    return {"id": run.id, "scenario": run.scenario, "exec_mode": run.exec_mode,
            "fault_mode": run.fault_mode, "class_filter": run.class_filter,
            "site": run.site, "n": run.n, "outcome": run.outcome_text, "fired": run.fired,
            "ended": run.ended, "expected_panic": run.expected_panic,
            "infra_reason": run.infra_reason, "wall_ms": run.wall_ms,
            "nmalformed": run.nmalformed, "raw_log": run.raw_log}


def _hex(v: Optional[int]) -> Optional[str]:
    return None if v is None else f"{v:x}"


def occurrence_dict(o: RunFinding) -> dict[str, Any]:
    return {"run": o.run.id, "scenario": o.run.scenario, "exec_mode": o.run.exec_mode,
            "fault_mode": o.run.fault_mode, "n": o.run.n, "message": o.message,
            "addr": _hex(o.addr), "size": o.size, "synthesized": o.synthesized}


def symptom_dict(u: UniqueFinding, o: RunFinding) -> dict[str, Any]:
    return {"class": o.class_text, "severity": o.severity.value, "function": o.func,
            "object": u.kinds.get(o.id), "addr": _hex(o.addr), "size": o.size,
            "op": o.op_name, "message": o.message}


def finding_dict(u: UniqueFinding, sources: SourceTree) -> dict[str, Any]:
    m = u.minimal
    b = m.run.build
    site = u.located.site
    blame = u.blame
    return {
        "fingerprint": u.fingerprint, "class": u.class_text, "severity": u.severity.value,
        "title": u.title, "function": u.func,
        "location": frame_dict(blame.frame, b, sources) if blame.frame else None,
        "attribution": {"rule": blame.rule, "why": blame.why, "ambiguous": blame.ambiguous,
                        "failed_call": blame.failed_call or None},
        "error_path": [dict(frame_dict(s.frame, b, sources) if s.frame else {},
                            text=s.text) for s in u.path],
        "symptoms": [symptom_dict(u, o) for o in u.symptoms],
        "site": frame_dict(site, b, sources) if site else None,
        "normalized_stack": list(u.located.key_funcs),
        "runs": u.nruns, "occurrences": len(u.occurrences), "first_n": u.first_n,
        "min_n": u.min_n, "max_n": u.max_n, "scenarios": u.scenarios,
        "exec_modes": u.exec_modes, "fault_modes": u.fault_modes, "repro": u.repro,
        "suppressed_by": u.suppressed_by.text if u.suppressed_by else None,
        "minimal_run": run_dict(m.run),
        "message": m.message, "op": m.op_name,
        "fault": dict(frame_dict(m.run.fault_frame, b, sources), **{
            "class": m.run.fault_class}) if m.run.fault_frame else None,
        "stacks": {
            "fault": stack_list(m.run.fault_stack, b, sources),
            "alloc": stack_list(m.alloc_stack, b, sources),
            "free": stack_list(m.free_stack, b, sources),
            "bad": stack_list(m.bad_stack, b, sources),
        },
        "all_occurrences": [occurrence_dict(o) for o in u.occurrences],
    }


def audit_dict(audit: Audit, strict: bool = False) -> dict[str, Any]:
    src = audit.sources
    return {
        "format": "faultline-findings", "version": FORMAT_VERSION,
        "database": audit.db_path, "schema_version": audit.schema_version,
        "created_at": audit.meta.get("created_at"),
        "builds": [{"id": b.id, "build_id": b.build_id, "elf": b.elf_path,
                    "src_root": b.src_root} for b in audit.builds.values()],
        "sweeps": [{"id": s.id, "scenario": s.scenario, "exec_mode": s.exec_mode,
                    "fault_mode": s.fault_mode, "command": s.command,
                    "started_at": s.started_at, "finished_at": s.finished_at,
                    "wall_s": s.wall_s} for s in audit.sweeps],
        "totals": {"runs": len(audit.runs), "findings": len(audit.findings),
                   "errors": len(audit.errors), "warnings": len(audit.warnings),
                   "suppressed": len(audit.suppressed), "infra": len(audit.infra_runs),
                   "expected_panics": audit.nexpected_panics,
                   "malformed_lines": audit.nmalformed, "wall_s": audit.wall_s},
        "strict": strict, "exit_code": audit.exit_code(strict),
        "status": status.verdict(audit, strict),
        "incomplete": [{"sweep_line": g.label, "reason": g.reason} for g in status.gaps(audit)],
        "groups": [{"scenario": g.scenario, "exec_mode": g.exec_mode,
                    "fault_mode": g.fault_mode, "class_filter": g.class_filter,
                    "site": g.site, "build": g.build, "runs": len(g.runs), "max_n": g.max_n,
                    "outcomes": dict(sorted(g.outcomes.items())),
                    "malformed_lines": g.nmalformed} for g in audit.groups],
        "findings": [finding_dict(u, src) for u in audit.findings],
        "suppressed": [finding_dict(u, src) for u in audit.suppressed],
        "suppressions": [{"entry": r.text, "source": r.source, "line": r.lineno,
                          "findings": r.findings, "occurrences": r.occurrences}
                         for r in audit.rules],
        "expected_panics": [{"function": e.func, "message": e.message,
                             "runs": [run_dict(r) for r in e.runs]}
                            for e in audit.expected_panics],
        "infra": [run_dict(r) for r in audit.infra_runs],
        "malformed": {"lines": audit.nmalformed,
                      "kept_by_reason": dict(audit.malformed_reasons),
                      "examples": [{"run": m.run, "line": m.lineno, "reason": m.reason,
                                    "text": m.text} for m in audit.malformed]},
    }


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"
