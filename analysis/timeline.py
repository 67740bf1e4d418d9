"""The event timeline of one run, as rows for the finding page: each record with its op
nesting depth, a one-line description, and marks on the events that prove the finding and on
the injected faults. Long runs are cut to windows around the marked events."""
from __future__ import annotations

import dataclasses
from typing import Optional

from .db import Database
from .model import Event, Run

MAX_FULL = 400       # show every event of a run up to this many
WINDOW = 12          # else: this many events either side of each marked one
EDGE = 5             # and this many at the start and at the end


@dataclasses.dataclass
class Row:
    seq: int
    kind: str
    depth: int
    text: str
    stack: str                    # "func < caller < ..." or ""
    mark: Optional[str]           # "root", "finding", "fault" or None
    gap_before: int = 0           # events omitted before this row
    op: Optional[int] = None      # the op this record is in (op+/op-: that op)


def _hex(v: Optional[int]) -> str:
    return "?" if v is None else f"{v:x}"


def describe(ev: Event, op_names: dict[int, str]) -> str:
    fn = ev.func or (f"pc {_hex(ev.pc)}" if ev.pc is not None else "")
    k = ev.kind
    if k == "alloc":
        return f"{ev.cls} {_hex(ev.addr)} ({ev.size} bytes) by {fn}"
    if k == "free":
        return f"{ev.cls} {_hex(ev.addr)} by {fn}"
    if k in ("fault", "oom"):
        what = "injected failure" if k == "fault" else "out of memory"
        return f"{ev.cls} {ev.size} bytes requested by {fn}: {what}"
    if k == "badfree":
        return f"{ev.name} free of {ev.cls} {_hex(ev.addr)} by {fn} (refused)"
    if k == "op+":
        return f"{ev.name or op_names.get(ev.op or -1, '?')} begins"
    if k == "op-":
        name = ev.name or op_names.get(ev.op or -1, "?")
        return f"{name} returns {ev.rc}"
    if k in ("acq", "rel"):
        return f"{ev.name} {_hex(ev.addr)} by {fn}"
    if k == "ref":
        return f"{ev.name or 'ref'} {_hex(ev.addr)} count {ev.rc} by {fn}"
    if k == "result":
        return f"scenario {ev.name or ''} rc {ev.rc}".replace("  ", " ")
    if k in ("panic", "trap"):
        return " ".join(x for x in (ev.name, ev.text, f"at {fn}" if fn else "") if x)
    return " ".join(x for x in (ev.name, ev.text) if x)


def key_rows(rows: list[Row]) -> list[Row]:
    """The rows that tell a finding's story: the marked ones and the begin and end of every
    op that holds one."""
    ops = {r.op for r in rows if r.mark and r.op is not None}
    keep = [r for r in rows if r.mark or (r.kind in ("op+", "op-") and r.op in ops)]
    out, last = [], -1
    for r in keep:
        i = rows.index(r)
        out.append(dataclasses.replace(r, gap_before=i - last - 1))
        last = i
    return out


def build(db: Database, run: Run, marked: set[int], root: Optional[int] = None
          ) -> list[Row]:
    events = db.events(run)
    op_names: dict[int, str] = {}
    faults = {e.seq for e in events if e.kind == "fault"}
    if run.fault_event is not None:
        faults.add(run.fault_event)
    rows: list[Row] = []
    depth = 0
    for ev in events:
        if ev.kind == "op+" and ev.op is not None and ev.name:
            op_names[ev.op] = ev.name
        if ev.kind == "op-":
            depth = max(0, depth - 1)
        stack = db.stack(ev.stack)
        mark = ("root" if ev.seq == root else "finding" if ev.seq in marked
                else "fault" if ev.seq in faults else None)
        rows.append(Row(ev.seq, ev.kind, depth, describe(ev, op_names),
                        " < ".join(f.name for f in stack.frames), mark, op=ev.op))
        if ev.kind == "op+":
            depth += 1
    if len(rows) <= MAX_FULL:
        return rows
    keep = set(range(EDGE)) | set(range(len(rows) - EDGE, len(rows)))
    for i, r in enumerate(rows):
        if r.mark:
            keep.update(range(max(0, i - WINDOW), min(len(rows), i + WINDOW + 1)))
    out: list[Row] = []
    last = -1
    for i in sorted(keep):
        row = rows[i]
        row.gap_before = i - last - 1
        out.append(row)
        last = i
    return out
