"""Attribution: the function to fix for each per-run symptom, decided from the run's own
records (the injected fault's stack, each object's alloc and free records with their stacks,
the op+/op- records with their return codes, the ref records). docs/analysis.md, "Which
function a finding names", states the rules with worked examples.

Stacks are innermost first and start at the allocator's (or panic's) caller. Two stacks
*meet* in the innermost function activation they share: the outer frames are the same calls
(same pcs), and the frame where they part is one call of the same function, reached at two
different lines. A meeting is trusted only when both records lie inside one op opened from
that shared part of the stacks (a syscall's trap stack and another syscall's share the trap
entry, not an activation).
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

from .db import Database
from .fingerprint import FAULT_CLASSES, Normalizer
from .inlines import Inlines
from .model import EMPTY_STACK, Event, FindingClass, Frame, Run, RunFinding, Stack

MAX_FRAMES = 8      # the protocol's backtrace depth: a stack this deep may be cut short
_OBJECT_CLASSES = (FindingClass.LEAK, FindingClass.UNBALANCED_UNWIND,
                   FindingClass.RESOURCE_LEAK)
_BAD_FREES = (FindingClass.INVALID_FREE, FindingClass.MISMATCHED_FREE)
# A resource that is not memory is an object like any other: its acq record plays the
# alloc record's part, its rel record the free's.
_TAKES = ("alloc", "acq")
_GIVES = ("free", "rel")


@dataclasses.dataclass(frozen=True)
class Blame:
    """The function a symptom is attributed to, and why."""
    func: str
    frame: Optional[Frame]        # the line in func the evidence points at
    rule: str                     # which rule decided (docs/analysis.md)
    why: str                      # the evidence in one clause, for the error-path story
    ambiguous: Optional[str] = None   # set when the records do not decide: what is missing
    fault: Optional[Event] = None     # the injected fault whose error path this is
    failed_call: str = ""             # what failed in func: a call, or the allocation itself
    path: tuple["Step", ...] = ()     # the fault's way out to func, innermost first
    evidence: Optional[int] = None    # events.seq of the record that shows the mistake


@dataclasses.dataclass
class Op:
    id: int
    name: str
    opener: Optional[str]         # the function that emitted op+
    pc: Optional[int]
    parent: Optional[int]
    begin: int
    end: Optional[int] = None
    rc: Optional[int] = None


def meet(a: Sequence[Frame], b: Sequence[Frame]) -> Optional[tuple[int, int]]:
    """Indices in a and b of the innermost activation the two stacks share, or None.
    Identical stacks are two calls made from one line: two activations of the innermost
    function (a retry or a walk calls it in a loop), so they meet in its caller."""
    if len(a) > 1 and [f.pc for f in a] == [f.pc for f in b]:
        return 1, 1
    for i, fa in enumerate(a):
        for j, fb in enumerate(b):
            if fa.pc == fb.pc and all(x.pc == y.pc for x, y in zip(a[i:], b[j:])):
                if i and j and a[i - 1].func and a[i - 1].func == b[j - 1].func:
                    return i - 1, j - 1
                return i, j
    if a and b and a[-1].func and a[-1].func == b[-1].func:
        return len(a) - 1, len(b) - 1       # the same outermost function, reached apart
    return None


def meet_all(stacks: Sequence[Stack]) -> Optional[int]:
    """Index in the first stack of the innermost activation all stacks share."""
    first = stacks[0].frames
    if not first:
        return None
    at = 0
    for other in stacks[1:]:
        m = meet(first, other.frames)
        if m is None:
            return None
        at = max(at, m[0])
    return at


@dataclasses.dataclass
class Step:
    """One step of the error path as the finding page tells it."""
    text: str
    frame: Optional[Frame]


class RunRecords:
    """One run's events, indexed for attribution."""

    def __init__(self, db: Database, run: Run, inlines: Inlines):
        self.db = db
        self.run = run
        self.inlines = inlines
        self.events = db.events(run)
        self.by_seq = {e.seq: e for e in self.events}
        self.ops: dict[int, Op] = {}
        self.freed: dict[int, Event] = {}       # alloc (acq) seq -> the free (rel) ending it
        self.allocs: list[Event] = []           # alloc and acq records
        self.faults = [e for e in self.events if e.kind == "fault"]
        live: dict[tuple[Optional[str], int], Event] = {}
        open_ops: list[int] = []
        for e in self.events:
            if e.kind == "op+" and e.op is not None:
                self.ops[e.op] = Op(e.op, e.name or "?", e.func, e.pc,
                                    open_ops[-1] if open_ops else None, e.seq)
                open_ops.append(e.op)
            elif e.kind == "op-" and e.op in self.ops:
                op = self.ops[e.op]
                op.end, op.rc = e.seq, e.rc
                if e.op in open_ops:
                    del open_ops[open_ops.index(e.op):]
            elif e.kind in _TAKES and e.addr is not None:
                live[(e.cls or e.name, e.addr)] = e
                self.allocs.append(e)
            elif e.kind in _GIVES and e.addr is not None:
                a = live.pop((e.cls or e.name, e.addr), None)
                if a is not None:
                    self.freed[a.seq] = e

    def stack(self, e: Optional[Event]) -> Stack:
        return self.db.stack(e.stack) if e is not None else EMPTY_STACK

    def scope(self, a: Frame, b: Optional[Frame] = None) -> Frame:
        """The innermost function (inlined ones too) two frames of one symbol share."""
        return self.inlines.common(self.run.build, a, b if b is not None else a)

    def chain(self, op_id: Optional[int]) -> list[Op]:
        """The op and its ancestors, innermost first."""
        out = []
        while op_id is not None and op_id in self.ops and len(out) < len(self.ops):
            out.append(self.ops[op_id])
            op_id = self.ops[op_id].parent
        return out

    def common_op(self, a: Event, b: Event) -> Optional[Op]:
        ids = {o.id for o in self.chain(b.op)}
        return next((o for o in self.chain(a.op) if o.id in ids), None)

    def alloc_of(self, f: RunFinding) -> Optional[Event]:
        for seq in f.events:
            e = self.by_seq.get(seq)
            if e is not None and e.kind in _TAKES and e.addr == f.addr:
                return e
        return None

    def object_kind(self, f: RunFinding) -> Optional[str]:
        """The allocator class of the finding's object, or the kind of its resource."""
        e = self.alloc_of(f)
        return (e.cls or e.name) if e is not None else None

    def shared(self, a: Event, b: Event, sa: Stack, sb: Stack) -> Optional[tuple[int, int]]:
        """Where stacks sa (of record a) and sb (of record b) meet, if that is one
        activation: both records lie in one op opened from the shared frames."""
        m = meet(sa.frames, sb.frames)
        op = self.common_op(a, b)
        if m is None or (op is None and self.ops):
            return None
        if op is None:      # a run without op records: nothing says an activation ended
            return m
        for s, k in ((sa, m[0]), (sb, m[1])):
            outer = [f.func for f in s.frames[k:]]
            if op.opener not in outer and len(s.frames) < MAX_FRAMES:
                return None
        return m

    def meeting(self, a: Event, b: Event, sa: Stack, sb: Stack
                ) -> Optional[tuple[Frame, Frame]]:
        """The function (inlined ones too) one activation of which both records lie in,
        as a's frame and b's frame in it. An op that holds a (the earlier record) but not
        b and was opened from that function or outside it ended the activation a was in."""
        m = self.shared(a, b, sa, sb)
        if m is None:
            return None
        fa = self.scope(sa.frames[m[0]], sb.frames[m[1]])
        fb = self.scope(sb.frames[m[1]], sa.frames[m[0]])
        first, stack = (a, sa) if a.seq < b.seq else (b, sb)
        names = [f.func for f in self.inlines.expand(self.run.build, stack.frames)]
        outer = names[names.index(fa.func):] if fa.func in names else []
        common = self.common_op(a, b)
        for op in self.chain(first.op):
            if common is not None and op.id == common.id:
                break
            if op.pc is not None and self.opener(op) in outer:
                return None
        return fa, fb

    def ref_frame(self, e: Event) -> Optional[Frame]:
        """The line in the ref record's function (its symbol) that took the ref: the
        get/put helper is usually inlined, its caller is the one to read."""
        if e.pc is None:
            return None
        return self.inlines.chain(self.run.build, self.db.frame(self.run.build, e.pc))[-1]

    def opener(self, op: Op) -> Optional[str]:
        """The function (inlined ones too) that emitted the op's op+."""
        return self.scope(self.db.frame(self.run.build, op.pc)).func

    def fault_for(self, e: Event, stack: Stack, before: bool
                  ) -> Optional[tuple[Event, Frame, Frame]]:
        """The injected fault whose error path record e is on (the first after it, or the
        last before it), with the function both lie in (as the fault's frame and e's)."""
        faults = [x for x in self.faults if (x.seq < e.seq) == before]
        for fault in (reversed(faults) if before else faults):
            where = self.meeting(fault, e, self.stack(fault), stack)
            if where is not None:
                return fault, where[0], where[1]
        return None

    def undo_function(self, free: Event, after: int) -> Optional[Frame]:
        """The function through which the op holding this free gave things back: where the
        stacks of that op's own frees (from seq `after` on) meet."""
        stacks = [self.stack(e) for e in self.events if e.kind in _GIVES and
                  e.op == free.op and e.seq >= after and e.stack is not None]
        stacks = stacks or [self.stack(free)]
        at = meet_all(stacks)
        if at is None:
            return None
        here = stacks[0].frames[at]
        for other in stacks[1:]:
            m = meet(stacks[0].frames, other.frames)
            if m is not None and m[0] == at and other.frames[m[1]].pc != here.pc:
                return self.scope(here, other.frames[m[1]])
        return self.scope(here)


def _where(frame: Optional[Frame]) -> str:
    return f" ({frame.where})" if frame is not None and frame.where else ""


def _giving(e: Optional[Event]) -> str:
    """How giving back the object of take record e reads: freeing memory, releasing a
    resource."""
    return "releasing" if e is not None and e.kind == "acq" else "freeing"


def _caller_of(rec: RunRecords, fault: Event, owner: Frame, undo: Frame) -> bool:
    """Whether undo calls owner on the fault's stack: its frees came after the error had
    left owner, so they give back what earlier calls made (a caller's teardown, as when a
    loop creates until one creation fails), not a sibling the failing call forgot."""
    names = [f.func for f in rec.inlines.expand(rec.run.build, rec.stack(fault).frames)]
    return (owner.func in names and undo.func != owner.func
            and undo.func in names[names.index(owner.func) + 1:])


def _object(rec: RunRecords, f: RunFinding, norm: Normalizer) -> Blame:
    """Leak or unbalanced unwind of one object (memory or another resource)."""
    alloc = rec.alloc_of(f)
    site = f.func or "??"
    astack = f.alloc_stack if f.alloc_stack.frames or alloc is None else rec.stack(alloc)
    hit = rec.fault_for(alloc, astack, before=False) if alloc is not None else None
    if hit is not None:
        fault, owner, _ = hit
        op = rec.common_op(alloc, fault)
        inner = rec.scope(astack.frames[0]).func != owner.func
        kin = [a for a in rec.allocs if inner and a.stack == alloc.stack and
               a.seq != alloc.seq and a.seq in rec.freed and rec.freed[a.seq].seq > fault.seq
               and (op is None or op.end is None or rec.freed[a.seq].seq < op.end)]
        undo = rec.undo_function(rec.freed[kin[0].seq], fault.seq) if kin else None
        if undo is not None and undo.func and not _caller_of(rec, fault, owner, undo):
            return Blame(undo.name, undo, "undo",
                         f"{undo.name} freed {len(kin)} object(s) allocated where this one "
                         f"was ({site}), not this one", fault=fault)
        return Blame(owner.name, owner, "error-path",
                     f"{owner.name} returned the error without {_giving(alloc)}",
                     fault=fault)
    kin = [a for a in rec.allocs if alloc is not None and a.stack == alloc.stack
           and a.seq != alloc.seq and a.seq in rec.freed]
    if kin:
        free = rec.freed[kin[0].seq]
        undo = rec.undo_function(free, rec.ops[free.op].begin if free.op in rec.ops else 0)
        if undo is not None and undo.func:
            return Blame(undo.name, undo, "teardown",
                         f"{undo.name} freed {len(kin)} object(s) allocated where this one "
                         f"was ({site}), not this one")
    frames = norm.strip(f.alloc_stack, f.func)
    return Blame(site, frames[0] if frames else None, "site",
                 f"allocated in {site} and never freed",
                 ambiguous="no record shows who owned it: neither an error path that left "
                           "it nor a teardown that freed its kin")


def _refcount(rec: RunRecords, f: RunFinding) -> Blame:
    """The get (or put) inside the innermost failed op whose refs on the object do not
    balance. Named by the ref record's symbol: the get/put helper is usually inlined."""
    refs = [e for e in rec.events if e.kind == "ref" and e.addr == f.addr]
    deltas: dict[int, int] = {}
    for e in refs:
        verb = (e.name or "").split(" ")[0]
        d = 1 if verb == "get" else -1 if verb == "put" else 0
        for op in rec.chain(e.op):
            if op.rc is not None and op.rc < 0:
                deltas[op.id] = deltas.get(op.id, 0) + d
    failed = [rec.ops[i] for i, d in deltas.items() if d]
    if failed:
        op = max(failed, key=lambda o: o.begin)
        want = "get" if deltas[op.id] > 0 else "put"
        e = [x for x in refs if op.id in {o.id for o in rec.chain(x.op)}
             and (x.name or "").startswith(want)][-1]
        func = e.func or "??"
        fault = next((x for x in rec.faults if op.begin < x.seq < (op.end or x.seq + 1)),
                     None)
        return Blame(func, rec.ref_frame(e), "refcount",
                     f"{func} took a {e.name or 'ref'} in {op.name}, which failed "
                     f"(rc {op.rc}) without the matching {'put' if want == 'get' else 'get'}",
                     fault=fault, evidence=e.seq)
    gets = [e for e in refs if (e.name or "").startswith("get")] or refs
    func = (gets[-1].func if gets else None) or f.func or "??"
    frame = rec.ref_frame(gets[-1]) if gets else None
    return Blame(func, frame, "refcount", f"the last reference was taken in {func}",
                 ambiguous="no failed op holds an unmatched get or put; the last one "
                           "taken is named", evidence=gets[-1].seq if gets else None)


def _double_free(rec: RunRecords, f: RunFinding, norm: Normalizer) -> Blame:
    """The function whose one activation both frees (or releases) came from (the two paths
    to the free part there); when they share none, the first free once the innermost calls
    both share (the destructor at the same line) are set aside: freeing it then was the
    mistake."""
    if not f.free_stack.frames or not f.bad_stack.frames:
        return _site(rec, f, f.cls.value)
    events = [rec.by_seq[s] for s in f.events if s in rec.by_seq]
    first = next((e for e in events if e.kind in _GIVES), None)
    again = next((e for e in events if e.kind in ("badfree",) + _GIVES and e is not first),
                 None)
    who = _parting(rec, f, first, again)
    one, two = (rec.scope((norm.strip(s) or s.frames)[0]) for s in (f.free_stack, f.bad_stack))
    hit = rec.fault_for(again, f.bad_stack, before=True) if again is not None else None
    verb = "released" if first is not None and first.kind == "rel" else "freed"
    return Blame(who.name, who, f.cls.value,
                 f"{who.name} {verb} it twice: in {one.name}{_where(one)}, then in "
                 f"{two.name}{_where(two)}", fault=hit[0] if hit else None)


def _parting(rec: RunRecords, f: RunFinding, first: Optional[Event],
             again: Optional[Event]) -> Frame:
    """Where the free (free_stack) and a later touch of the object (bad_stack) part: the
    activation both came from, else the first frame once the calls both share are set
    aside."""
    a, b = f.free_stack.frames, f.bad_stack.frames
    both = rec.meeting(first, again, f.free_stack, f.bad_stack) \
        if first is not None and again is not None else None
    if both is not None:
        return both[0]
    k = 0
    while k < min(len(a), len(b)) - 1 and a[k].pc == b[k].pc:
        k += 1
    return rec.scope(a[k], b[k] if a[k].func == b[k].func else None)


def _use_after_free(rec: RunRecords, f: RunFinding, norm: Normalizer) -> Blame:
    """A trapped access (guard mode): the function whose one activation freed the object and
    then touched it, as for a double free. A poison-detected write has no writer's stack:
    the function that freed the object is named, and the finding says so."""
    if not f.free_stack.frames:
        return _site(rec, f, "use-after-free")
    events = [rec.by_seq[s] for s in f.events if s in rec.by_seq]
    free = next((e for e in events if e.kind == "free"), None)
    use = next((e for e in events if e.kind in ("trap", "poison")), None)
    freer = rec.scope((norm.strip(f.free_stack) or f.free_stack.frames)[0])
    if use is None or use.kind == "poison" or not f.bad_stack.frames:
        return Blame(freer.name, freer, "use-after-free",
                     f"{freer.name} freed it{_where(freer)}; a later write changed its poison",
                     ambiguous="the poison check sees that freed memory was written, not "
                               "who wrote it: the function that freed it is named")
    a, b = f.free_stack.frames, f.bad_stack.frames
    same = a[0].func == b[0].func and [x.pc for x in a[1:]] == [x.pc for x in b[1:]]
    who = rec.scope(a[0]) if same else _parting(rec, f, free, use)
    user = rec.scope(b[0])
    hit = rec.fault_for(use, f.bad_stack, before=True)
    return Blame(who.name, who, "use-after-free",
                 f"{who.name} freed it in {freer.name}{_where(freer)}, then touched it in "
                 f"{user.name}{_where(user)}", fault=hit[0] if hit else None)


def _site(rec: RunRecords, f: RunFinding, rule: str, why: str = "") -> Blame:
    stack = f.bad_stack if f.bad_stack.frames else f.alloc_stack
    frame = next((fr for fr in stack.frames if fr.func == f.func), None)
    if frame is not None:
        frame = rec.scope(frame)
    func = frame.name if frame is not None else (f.func or "??")
    ev = next((rec.by_seq[s] for s in reversed(f.events) if s in rec.by_seq), None)
    hit = rec.fault_for(ev, stack, before=True) if ev is not None and stack.frames else None
    return Blame(func, frame, rule, why or f"{f.cls.label} in {func}",
                 fault=hit[0] if hit else None)


SCAUSE = {0: "instruction address misaligned", 1: "instruction access fault",
          2: "illegal instruction", 3: "breakpoint", 4: "load address misaligned",
          5: "load access fault", 6: "store address misaligned", 7: "store access fault",
          8: "environment call from U-mode", 9: "environment call from S-mode",
          12: "instruction page fault", 13: "load page fault", 15: "store page fault"}


def describe_trap(text: Optional[str]) -> str:
    """A trap record's "scause sepc stval" (hex) in words: "load page fault at address
    0x0"; the text itself when it does not parse."""
    try:
        scause, _, stval = (int(x, 16) for x in (text or "").split()[:3])
    except ValueError:
        return (text or "trap").strip()
    if scause >> 63:
        return f"interrupt {scause & ((1 << 63) - 1)}"
    what = SCAUSE.get(scause, f"exception {scause}")
    return f"{what} at address {stval:#x}" if scause in (0, 1, 4, 5, 6, 7, 12, 13, 15) \
        else what


def _crash(rec: RunRecords, f: RunFinding) -> Blame:
    trap = next((rec.by_seq[s] for s in f.events if s in rec.by_seq
                 and rec.by_seq[s].kind in ("trap", "panic")), None)
    hit = rec.fault_for(trap, f.bad_stack, before=True) if trap is not None else None
    what = describe_trap(trap.text) if trap is not None and trap.kind == "trap" else "trap"
    if hit is not None and hit[2].func != f.func:
        fault, _, user = hit
        return Blame(user.name, user, "unchecked",
                     f"{user.name} went on with the failed call's result: {what} in "
                     f"{f.func or '??'}", fault=fault)
    return _site(rec, f, "crash", f"{what} in {f.func or '??'}")


def _panic(rec: RunRecords, f: RunFinding, norm: Normalizer) -> Blame:
    """A panic where an error came back: the panicking function, unless the error came
    from a callee no op record vouches for (then the callee whose failure it checked)."""
    ev = next((rec.by_seq[s] for s in f.events if s in rec.by_seq
               and rec.by_seq[s].kind == "panic"), None)
    hit = rec.fault_for(ev, f.bad_stack, before=True) if ev is not None else None
    if hit is None:
        return _site(rec, f, "panic")
    fault, _, user = hit
    path = norm.strip(rec.stack(fault))
    reported = [o for o in rec.ops.values() if o.end is not None and o.rc is not None
                and o.rc < 0 and fault.seq < o.end < ev.seq]
    if reported or not path or path[0].func == user.func:
        return Blame(user.name, user, "panic",
                     f"{user.name} panicked on an error its callee reported cleanly"
                     if reported else f"{user.name} panicked where its allocation failed",
                     fault=fault)
    callee = rec.scope(path[0])
    return Blame(callee.name, callee, "panic-check",
                 f"{callee.name} returned its error, then {user.name}'s check panicked",
                 ambiguous=f"{callee.name} is not an op, so no record shows whether it "
                           f"failed cleanly; {user.name} may instead have panicked on a "
                           "recoverable error", fault=fault)


def _hang(rec: RunRecords, f: RunFinding, norm: Normalizer) -> Blame:
    frames = norm.strip(f.bad_stack)
    if not frames:
        return _site(rec, f, "hang")
    last = rec.scope(frames[0])
    return Blame(last.name, last, "hang",
                 f"the last record before the timeout came from {last.name}",
                 ambiguous="a hang has no end; the function of the last stack seen is named",
                 fault=rec.faults[-1] if rec.faults else None)


def _unwind_order(rec: RunRecords, f: RunFinding) -> Blame:
    a, b = f.free_stack.frames, f.bad_stack.frames
    m = meet(a, b)
    if m is None:
        return _site(rec, f, "unwind-order")
    ladder = rec.scope(a[m[0]], b[m[1]])
    op = next((rec.by_seq[s] for s in f.events if s in rec.by_seq), None)
    hit = rec.fault_for(op, f.free_stack, before=True) if op is not None else None
    return Blame(ladder.name, ladder, "unwind-order",
                 f"{ladder.name}'s undo freed an object before one acquired after it",
                 fault=hit[0] if hit else None)


_WENT_ON = ("alloc", "fault", "oom")     # records of new work: the failure was put behind


def _swallowed(rec: RunRecords, f: RunFinding, norm: Normalizer) -> Blame:
    """The function that ate an injected failure: the innermost frame of the fault's stack
    (allocator frames aside) whose activation left a record after the fault, while the
    innermost op open at the fault was still open: the error went no further up."""
    fault = next((rec.by_seq[s] for s in f.events if s in rec.by_seq
                  and rec.by_seq[s].kind == "fault"), None)
    fstack = f.bad_stack
    first = len(fstack.frames) - len(norm.strip(fstack))
    if fault is None or first == len(fstack.frames):
        return _site(rec, f, "swallowed")
    op = rec.ops.get(fault.op) if fault.op is not None else None
    end = op.end if op is not None and op.end is not None else len(rec.events)
    at, who, went_on = None, rec.scope(fstack.frames[first]), False
    for e in rec.events:
        if not fault.seq < e.seq < end or e.stack is None:
            continue
        estack = rec.stack(e)
        m = rec.shared(fault, e, fstack, estack)
        if m is None or (at is not None and max(m[0], first) > at):
            continue
        if at is None or max(m[0], first) < at:
            at, went_on = max(m[0], first), False
            who = rec.scope(fstack.frames[at], estack.frames[m[1]] if m[0] == at else None)
        went_on = went_on or e.kind in _WENT_ON
    if at is None:
        return Blame(who.name, who, "swallowed",
                     f"{who.name} got the failed allocation and returned success",
                     ambiguous="no record after the failure shows how far the error went; "
                               "the function that got it is named", fault=fault)
    why = (f"{who.name} went on after the failure" if went_on
           else f"{who.name} cleaned up after the failure") + \
        ", and no op on the path returned the error"
    ambiguous = None
    if at > first:
        callee = rec.scope(fstack.frames[at - 1]).name
        ambiguous = (f"{callee} left no record after the failure, so no record shows whether "
                     f"it returned the error (then {who.name} dropped it) or success")
    elif not went_on:
        ambiguous = (f"{who.name} only gave back what it held: it may have returned the "
                     "error to a caller that dropped it")
    return Blame(who.name, who, "swallowed", why, ambiguous=ambiguous, fault=fault)


def _not_atomic(rec: RunRecords, f: RunFinding) -> Blame:
    """The function that made the broken state promise: its state begin record's pc lies
    in it. A promise made inside it on the same state and broken too would have been
    reported instead (the tracer reports the innermost), so it is the most specific."""
    events = [rec.by_seq[s] for s in f.events if s in rec.by_seq]
    begin = next((e for e in events if e.kind == "state"), None)
    fault = next((e for e in events if e.kind == "fault"), None)
    frame = rec.scope(rec.db.frame(rec.run.build, begin.pc)) \
        if begin is not None and begin.pc is not None else None
    func = frame.name if frame is not None and frame.func else (f.func or "??")
    state = begin.name if begin is not None and begin.name else "its"
    return Blame(func, frame, "not-atomic",
                 f"{func} promised its {state} state unchanged on failure, then failed "
                 "with it changed", fault=fault, evidence=begin.seq if begin else None)


@dataclasses.dataclass
class Attribution:
    """One run's blames (by RunFinding.id) and the allocator class of each symptom's
    object."""
    blames: dict[int, Blame]
    kinds: dict[int, Optional[str]]


def _finish(rec: RunRecords, blame: Blame, norm: Normalizer) -> Blame:
    """The failed call in the blamed function and the fault's way out to it."""
    if blame.fault is None:
        return blame
    fstack = rec.stack(blame.fault)
    frames = rec.inlines.expand(rec.run.build, norm.strip(fstack))
    if not frames:
        return blame
    what = norm.allocator_entry(fstack, frames[0].func) or \
        FAULT_CLASSES.get(blame.fault.cls or "", "allocation")
    rcs = {o.name: o.rc for o in sorted(rec.ops.values(), key=lambda o: o.begin)
           if o.end is not None and o.rc is not None and o.rc < 0 and o.end > blame.fault.seq}
    steps = [Step(f"{what} failed in {frames[0].name}", frames[0])]
    for k, fr in enumerate(frames):
        if fr.func == blame.func:
            failed = frames[k - 1].name if k else what
            return dataclasses.replace(blame, failed_call=failed, path=tuple(steps))
        if k and fr.name != frames[k - 1].name:
            rc = rcs.get(fr.name)
            steps.append(Step(f"{fr.name} returned {rc}" if rc is not None
                              else f"back in {fr.name}", fr))
    return blame


def attribute(db: Database, run: Run, findings: list[RunFinding], norm: Normalizer,
              inlines: Inlines) -> Attribution:
    """Blame for each of one run's findings. Symptoms another finding of the run explains
    take its blame: a leak of an object a refused free or a reference count was about, and
    a leak no error path or teardown accounts for in a run whose refcount stayed up."""
    rec = RunRecords(db, run, inlines)
    out: dict[int, Blame] = {}
    for f in findings:
        c = f.cls
        if c in _OBJECT_CLASSES:
            out[f.id] = _object(rec, f, norm)
        elif c is FindingClass.REFCOUNT:
            out[f.id] = _refcount(rec, f)
        elif c in (FindingClass.DOUBLE_FREE, FindingClass.DOUBLE_RELEASE):
            out[f.id] = _double_free(rec, f, norm)
        elif c is FindingClass.INVALID_RELEASE:
            out[f.id] = _site(rec, f, "bad-release",
                              f"{f.func} released what no record shows it acquired")
        elif c in _BAD_FREES:
            out[f.id] = _site(rec, f, "bad-free", f"{f.func} freed it through the wrong call")
        elif c is FindingClass.UNWIND_ORDER:
            out[f.id] = _unwind_order(rec, f)
        elif c is FindingClass.CRASH:
            out[f.id] = _crash(rec, f)
        elif c is FindingClass.PANIC:
            out[f.id] = _panic(rec, f, norm)
        elif c is FindingClass.HANG:
            out[f.id] = _hang(rec, f, norm)
        elif c is FindingClass.ERROR_SWALLOWED:
            out[f.id] = _swallowed(rec, f, norm)
        elif c is FindingClass.NOT_ATOMIC:
            out[f.id] = _not_atomic(rec, f)
        elif c is FindingClass.USE_AFTER_FREE:
            out[f.id] = _use_after_free(rec, f, norm)
        else:
            out[f.id] = _site(rec, f, c.value)
    aimed = {f.addr: out[f.id] for f in findings if f.addr is not None and f.cls in
             _BAD_FREES + (FindingClass.DOUBLE_FREE, FindingClass.REFCOUNT)}
    held = [out[f.id] for f in findings if f.cls is FindingClass.REFCOUNT]
    for f in findings:
        if f.cls not in _OBJECT_CLASSES:
            continue
        if f.addr in aimed:
            out[f.id] = aimed[f.addr]
        elif held and out[f.id].rule in ("site", "teardown"):
            out[f.id] = dataclasses.replace(
                held[0], ambiguous="no record shows who owned it; listed under the "
                                   "reference left up in the same run")
    return Attribution({k: _finish(rec, b, norm) for k, b in out.items()},
                       {f.id: rec.object_kind(f) for f in findings})
