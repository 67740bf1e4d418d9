"""Builds faultline databases for the analysis tests from tracer/schema.sql.

The rows imitate what the tracer writes for a small kernel: a function layout (symbols,
frames with file:line), interned stacks, runs over N with their event streams, and findings
of each class. `base` shifts every address, which is what a rebuild does. Holds no tests.
"""
from __future__ import annotations

import dataclasses
import pathlib
import sqlite3
from typing import Optional, Sequence

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "tracer" / "schema.sql"
SRC = ROOT / "tests" / "data" / "analysis-src"      # printf.c deliberately missing

# name -> (source file, first line, length in instructions)
FUNCS = {
    "page_alloc": ("sample-kernel/kalloc.c", 40, 16),
    "page_free": ("sample-kernel/kalloc.c", 70, 16),
    "obj_alloc": ("sample-kernel/objalloc.c", 30, 16),
    "obj_free": ("sample-kernel/objalloc.c", 60, 16),
    "map_trapframe": ("sample-kernel/proc.c", 20, 16),
    "proc_create": ("sample-kernel/proc.c", 50, 32),
    "proc_free": ("sample-kernel/proc.c", 100, 16),
    "fork": ("sample-kernel/proc.c", 140, 32),
    "sys_fork": ("sample-kernel/syscall.c", 10, 8),
    "scenario_proc": ("sample-kernel/scenario.c", 10, 16),
    "scenario_fork": ("sample-kernel/scenario.c", 40, 16),
    "scenario_all": ("sample-kernel/scenario.c", 70, 16),
    "kinit": ("sample-kernel/main.c", 10, 16),
    "vm_unmap": ("sample-kernel/vm.c", 10, 16),
    "panic": ("sample-kernel/printf.c", 10, 8),
    "probe": ("sample-kernel/blk.c", 10, 16),
    "blk_init": ("sample-kernel/init.c", 10, 8),
}

Site = tuple[str, int]          # (function, instruction index inside it)


def _signed(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >= 1 << 63 else v


class DbBuilder:
    """Writes one database. Methods return row ids."""

    def __init__(self, path: pathlib.Path, schema_version: int = 1):
        self.path = pathlib.Path(path)
        self.conn = sqlite3.connect(self.path)
        self.conn.executescript(SCHEMA.read_text())
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                          (str(schema_version),))
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('created_at', "
                          "'2024-05-01T10:00:00Z')")
        self.layout: dict[int, dict[str, int]] = {}
        self.funcs: dict[int, dict[str, tuple[str, int, int]]] = {}

    def close(self) -> pathlib.Path:
        self.conn.commit()
        self.conn.close()
        return self.path

    def build(self, build_id: str, base: int = 0x80000000, src_root: Optional[str] = None,
              elf_path: str = "build/kernel.elf",
              funcs: Optional[dict[str, tuple[str, int, int]]] = None) -> int:
        funcs = dict(FUNCS if funcs is None else funcs)
        cur = self.conn.execute(
            "INSERT INTO builds (build_id, elf_path, src_root, added_at) VALUES (?,?,?,?)",
            (build_id, elf_path, src_root if src_root is not None else str(SRC),
             "2024-05-01T10:00:00Z"))
        bid = cur.lastrowid
        addr = base
        self.layout[bid] = {}
        self.funcs[bid] = funcs
        for name, (_, _, length) in funcs.items():
            self.layout[bid][name] = addr
            self.conn.execute("INSERT INTO symbols VALUES (?,?,?,?)",
                              (bid, _signed(addr), _signed(addr + 4 * length), name))
            addr += 4 * length + 0x40
        return bid

    def pc(self, build: int, site: Site) -> int:
        func, k = site
        pc = self.layout[build][func] + 4 * k
        file, line, _ = self.funcs[build][func]
        self.conn.execute("INSERT OR IGNORE INTO frames (build, pc, func, file, line) "
                          "VALUES (?,?,?,?,?)", (build, _signed(pc), func, file, line + k))
        return pc

    def stack(self, build: int, sites: Sequence[Site]) -> Optional[int]:
        if not sites:
            return None
        pcs = ",".join(f"{self.pc(build, s):x}" for s in sites)
        self.conn.execute("INSERT OR IGNORE INTO stacks (build, pcs) VALUES (?,?)",
                          (build, pcs))
        return self.conn.execute("SELECT id FROM stacks WHERE build = ? AND pcs = ?",
                                 (build, pcs)).fetchone()[0]

    def sweep(self, build: int, scenario: str, exec_mode: str = "fresh",
              fault_mode: str = "once", wall_s: float = 1.5) -> int:
        cmd = (f"build/injector sweep --kernel build/kernel.elf --scenario {scenario} "
               f"--mode {exec_mode}")
        return self.conn.execute(
            "INSERT INTO sweeps (build, scenario, exec_mode, fault_mode, command, started_at,"
            " finished_at, wall_s) VALUES (?,?,?,?,?,?,?,?)",
            (build, scenario, exec_mode, fault_mode, cmd, "2024-05-01T10:00:01Z",
             "2024-05-01T10:00:03Z", wall_s)).lastrowid


@dataclasses.dataclass
class Ev:
    kind: str
    cls: Optional[str] = None
    addr: Optional[int] = None
    size: Optional[int] = None
    site: Optional[Site] = None
    stack: Sequence[Site] = ()
    op: Optional[int] = None
    rc: Optional[int] = None
    name: Optional[str] = None
    text: Optional[str] = None


class RunWriter:
    """Collects one run's events, then writes run, events, ops and findings."""

    def __init__(self, b: DbBuilder, build: int, sweep: Optional[int], scenario: str, n: int,
                 exec_mode: str = "fresh", fault_mode: str = "once"):
        self.b, self.build, self.sweep = b, build, sweep
        self.scenario, self.n, self.exec_mode, self.fault_mode = scenario, n, exec_mode, \
            fault_mode
        self.events: list[Ev] = []
        self.ops: list[list] = []
        self.open_ops: list[int] = []
        self.kseq = 0
        self.fault_seq: Optional[int] = None
        self.fault_stack: Optional[Sequence[Site]] = None
        self.fault_site: Optional[Site] = None
        self.findings: list[dict] = []

    def _add(self, ev: Ev) -> int:
        ev.op = self.open_ops[-1] if self.open_ops else None
        self.events.append(ev)
        return len(self.events) - 1

    def op_begin(self, name: str, site: Site) -> int:
        oid = len(self.ops) + 1
        seq = self._add(Ev("op+", site=site, name=name))
        self.ops.append([oid, self.open_ops[-1] if self.open_ops else None, name, site, seq,
                         None, None])
        self.events[seq].op = oid
        self.open_ops.append(oid)
        return oid

    def op_end(self, rc: int) -> int:
        oid = self.open_ops.pop()
        seq = self._add(Ev("op-", rc=rc, name=self.ops[oid - 1][2]))
        self.events[seq].op = oid
        self.ops[oid - 1][5], self.ops[oid - 1][6] = seq, rc
        return seq

    def alloc(self, cls: str, addr: int, site: Site, stack: Sequence[Site],
              size: int = 4096) -> int:
        self.kseq += 1
        return self._add(Ev("alloc", cls, addr, size, site, stack))

    def free(self, cls: str, addr: int, site: Site, stack: Sequence[Site]) -> int:
        return self._add(Ev("free", cls, addr, None, site, stack))

    def acquire(self, kind: str, rid: int, site: Site, stack: Sequence[Site]) -> int:
        return self._add(Ev("acq", addr=rid, site=site, stack=stack, name=kind))

    def release(self, kind: str, rid: int, site: Site, stack: Sequence[Site]) -> int:
        return self._add(Ev("rel", addr=rid, site=site, stack=stack, name=kind))

    def fault(self, cls: str, site: Site, stack: Sequence[Site], size: int = 4096) -> int:
        self.kseq += 1
        seq = self._add(Ev("fault", cls, None, size, site, stack))
        if self.fault_seq is None:
            self.fault_seq, self.fault_stack, self.fault_site = seq, stack, site
        return seq

    def badfree(self, kind: str, cls: str, addr: int, site: Site, stack: Sequence[Site]) -> int:
        return self._add(Ev("badfree", cls, addr, None, site, stack, name=kind))

    def ref(self, verb: str, kind: str, addr: int, count: int, site: Site) -> int:
        return self._add(Ev("ref", addr=addr, site=site, rc=count, name=f"{verb} {kind}"))

    def trap(self, scause: int, sepc_site: Site, stval: int, stack: Sequence[Site]) -> int:
        return self._add(Ev("trap", addr=stval, site=sepc_site, stack=stack,
                            text=f"{scause:x} 0 {stval:x}"))

    def log(self, text: str) -> int:
        return self._add(Ev("log", text=text))

    def panic(self, expected: bool, site: Site, stack: Sequence[Site], message: str) -> int:
        return self._add(Ev("panic", site=site, stack=stack,
                            name="expected" if expected else "unexpected", text=message))

    def finding(self, cls: str, func: Optional[str], message: str, events: Sequence[int],
                severity: str = "error", addr: Optional[int] = None,
                alloc: Sequence[Site] = (), free: Sequence[Site] = (),
                bad: Sequence[Site] = (), op_name: Optional[str] = None,
                site: Optional[Site] = None, size: Optional[int] = 4096) -> None:
        self.findings.append(dict(cls=cls, func=func, message=message, events=events,
                                  severity=severity, addr=addr, alloc=alloc, free=free,
                                  bad=bad, op_name=op_name, site=site, size=size))

    def write(self, outcome: str, fired: bool = True, ended: bool = True,
              result_rc: Optional[int] = -12, expected_panic: bool = False,
              infra_reason: Optional[str] = None, nmalformed: int = 0,
              malformed: Sequence[tuple[int, str, str]] = ()) -> int:
        b, build = self.b, self.build
        evs = [Ev("hello", name="faultline", text="1"), Ev("run", name=self.scenario),
               Ev("ckpt", name="baseline", text="0 0 0 0")]
        shift = len(evs)
        body = self.events
        tail = [Ev("ckpt", name="end", text="0 0 0 0")]
        if ended:
            tail += [Ev("result", name=self.scenario, rc=result_rc),
                     Ev("end", rc=int(fired), text=f"{int(fired)} {self.kseq} {int(fired)}")]
        if infra_reason:
            evs, body, tail = [], [], []
        all_evs = evs + body + tail
        run = b.conn.execute(
            "INSERT INTO runs (sweep, build, scenario, exec_mode, fault_mode, n, outcome, fired,"
            " ended, attempts, result_rc, expected_panic, fault_event, fault_pc, fault_stack,"
            " infra_reason, exit_status, wall_ms, raw_log, nevents, nmalformed, finished_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (self.sweep, build, self.scenario, self.exec_mode, self.fault_mode, self.n, outcome,
             int(fired), int(ended), self.kseq if ended else None,
             result_rc if ended else None, int(expected_panic),
             None if self.fault_seq is None or infra_reason else self.fault_seq + shift,
             None if self.fault_site is None else _signed(b.pc(build, self.fault_site)),
             None if self.fault_stack is None else b.stack(build, self.fault_stack),
             infra_reason, 0, 21.5, f"out/logs/{self.scenario}-{self.n}.log", len(all_evs),
             nmalformed, "2024-05-01T10:00:02Z")).lastrowid
        for seq, ev in enumerate(all_evs):
            b.conn.execute(
                "INSERT INTO events (run, seq, kind, kseq, class, addr, size, pc, stack, op, rc,"
                " name, text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run, seq, ev.kind, None, ev.cls,
                 None if ev.addr is None else _signed(ev.addr), ev.size,
                 None if ev.site is None else _signed(b.pc(build, ev.site)),
                 b.stack(build, ev.stack), ev.op, ev.rc, ev.name, ev.text))
        if not infra_reason:
            for oid, parent, name, site, bseq, eseq, rc in self.ops:
                b.conn.execute("INSERT INTO ops VALUES (?,?,?,?,?,?,?,?)",
                               (run, oid, parent, name, _signed(b.pc(build, site)),
                                bseq + shift, None if eseq is None else eseq + shift, rc))
        for f in self.findings:
            b.conn.execute(
                "INSERT INTO findings (run, class, severity, func, pc, addr, size, alloc_stack,"
                " free_stack, bad_stack, op_name, message, events) VALUES"
                " (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run, f["cls"], f["severity"], f["func"],
                 None if f["site"] is None else _signed(b.pc(build, f["site"])),
                 None if f["addr"] is None else _signed(f["addr"]), f["size"],
                 b.stack(build, f["alloc"]), b.stack(build, f["free"]),
                 b.stack(build, f["bad"]), f["op_name"], f["message"],
                 ",".join(str(s + shift) for s in f["events"])))
        for lineno, reason, text in malformed:
            b.conn.execute("INSERT INTO malformed VALUES (?,?,?,?)", (run, lineno, reason, text))
        return run


# --- a realistic sweep of a small kernel with a few seeded bugs ------------------------------

KSTACK = ("proc_create", 6)
TRAPFRAME = ("map_trapframe", 3)
PROC_OBJ = ("proc_create", 2)
PTABLE = ("proc_create", 12)


def _proc_stack(site: Site, caller: Sequence[Site]) -> list[Site]:
    inner = [("page_alloc", 9)] if site[0] != "proc_create" else [("obj_alloc", 5)]
    return inner + [site, *caller]


def proc_run(w: RunWriter, n: int, base_addr: int, caller: Sequence[Site],
             leak_kstack: bool = True) -> str:
    """proc_create: proc object, kernel stack, trapframe, page table; fails at attempt n.
    With leak_kstack the unwind forgets the kernel stack when the trapframe fails (the bug).
    Returns the outcome."""
    steps = [("obj", PROC_OBJ, [("obj_alloc", 5), PROC_OBJ, *caller]),
             ("page", KSTACK, [("page_alloc", 9), KSTACK, *caller]),
             ("page", TRAPFRAME, [("page_alloc", 9), TRAPFRAME, ("proc_create", 9), *caller]),
             ("page", PTABLE, [("page_alloc", 9), PTABLE, *caller])]
    w.op_begin("proc_create", ("proc_create", 0))
    live = []
    for i, (cls, site, stack) in enumerate(steps, 1):
        if i == n:
            w.fault(cls, site, stack)
            break
        addr = base_addr + 0x1000 * i
        live.append((w.alloc(cls, addr, site, stack), cls, addr, site, stack))
    else:
        for seq, cls, addr, site, stack in reversed(live):
            w.free(cls, addr, ("proc_free", 4), [("proc_free", 4), ("scenario_proc", 8)])
        w.op_end(0)
        return "completed"
    leaked = []
    for seq, cls, addr, site, stack in reversed(live):
        if leak_kstack and n == 3 and site == KSTACK:
            leaked.append((seq, cls, addr, site, stack))
            continue
        w.free(cls, addr, ("proc_create", 20), [("page_free", 3) if cls == "page" else
                                                ("obj_free", 3), ("proc_create", 20), *caller])
    w.op_end(-12)
    for seq, cls, addr, site, stack in leaked:
        w.finding("leak", site[0], f"{cls} object {addr:x} (4096 bytes) allocated in "
                  f"{site[0]} still live at the end checkpoint", [seq], addr=addr,
                  alloc=stack, site=site)
        w.finding("unbalanced-unwind", site[0], f"proc_create returned -12 with {addr:x} "
                  "still live", [seq], alloc=stack, site=site, addr=addr,
                  op_name="proc_create")
    return "leak" if leaked else "handled"


def sample_db(path: pathlib.Path, base: int = 0x80000000, build_id: str = "3f9c0011aa",
              heap: int = 0x87000000, funcs_patch: Optional[dict] = None) -> pathlib.Path:
    """A database with: the kstack leak (scenario proc at N=3 in once and persist modes and
    both exec modes, and scenario all), a double free in fork with an unwind-order symptom,
    an unwind-order warning of its own in probe, an expected panic, an unexpected panic
    without a finding row, an infra run, malformed lines."""
    b = DbBuilder(path)
    funcs = dict(FUNCS)
    if funcs_patch:
        funcs.update(funcs_patch)
    populate(b, b.build(build_id, base=base, funcs=funcs), heap)
    return b.close()


def populate(b: DbBuilder, build: int, heap: int) -> None:
    """The sweeps of sample_db() for one build."""
    for exec_mode in ("fresh", "reset"):
        for fault_mode in ("once", "persist"):
            sw = b.sweep(build, "proc", exec_mode, fault_mode)
            for n in range(1, 6):
                w = RunWriter(b, build, sw, "proc", n, exec_mode, fault_mode)
                outcome = proc_run(w, n, heap + 0x100000 * n + (0x10000 if exec_mode ==
                                                                "reset" else 0),
                                   [("scenario_proc", 8)])
                w.write(outcome, fired=outcome != "completed",
                        result_rc=0 if outcome == "completed" else -12,
                        nmalformed=1 if (n == 2 and exec_mode == "fresh") else 0,
                        malformed=[(7, "unknown record", "zzz <b>junk</b>")]
                        if (n == 2 and exec_mode == "fresh") else ())
    # scenario all reaches proc_create through another driver: same bug, deeper frames differ
    sw = b.sweep(build, "all", "reset", "once")
    # (after one allocation of its own in kinit, so the bug shows at N = 4 there)
    for n in range(1, 6):
        w = RunWriter(b, build, sw, "all", n, "reset", "once")
        kinit = [("page_alloc", 9), ("kinit", 4), ("scenario_all", 1)]
        if n == 1:
            w.fault("page", ("kinit", 4), kinit)
            outcome = "handled"
        else:
            addr = heap + 0x6000000 + 0x100000 * n
            w.alloc("page", addr, ("kinit", 4), kinit)
            outcome = proc_run(w, n - 1, heap + 0x5000000 + 0x100000 * n,
                               [("scenario_proc", 8), ("scenario_all", 3)])
            w.free("page", addr, ("kinit", 9), [("page_free", 3), ("kinit", 9)])
        w.write(outcome, fired=outcome != "completed")
    # fork: a double free of the child's proc object in the unwind when n == 2
    sw = b.sweep(build, "fork", "fresh", "once")
    for n in range(1, 4):
        w = RunWriter(b, build, sw, "fork", n)
        w.op_begin("sys_fork", ("sys_fork", 2))
        outcome = "completed"
        if n == 1:
            w.fault("obj", ("fork", 3), [("obj_alloc", 5), ("fork", 3), ("sys_fork", 2)])
            outcome = "handled"
        else:
            addr = heap + 0x9000000 + n * 0x40
            a = w.alloc("obj", addr, ("fork", 3), [("obj_alloc", 5), ("fork", 3),
                                                   ("sys_fork", 2)], size=256)
            if n == 2:
                w.fault("page", ("fork", 9), [("page_alloc", 9), ("fork", 9), ("sys_fork", 2)])
                f1 = w.free("obj", addr, ("proc_free", 4), [("obj_free", 2), ("proc_free", 4),
                                                            ("fork", 12), ("sys_fork", 2)])
                f2 = w.badfree("double", "obj", addr, ("fork", 14),
                               [("obj_free", 2), ("fork", 14), ("sys_fork", 2)])
                w.finding("double-free", "fork", f"object {addr:x} freed twice", [a, f1, f2],
                          addr=addr, alloc=[("obj_alloc", 5), ("fork", 3), ("sys_fork", 2)],
                          free=[("obj_free", 2), ("proc_free", 4), ("fork", 12),
                                ("sys_fork", 2)],
                          bad=[("obj_free", 2), ("fork", 14), ("sys_fork", 2)],
                          site=("fork", 14), size=256)
                w.finding("unwind-order", "fork", "fork freed the proc object before the "
                          "page it acquired later", [f1], severity="warning", addr=addr,
                          free=[("obj_free", 2), ("proc_free", 4), ("fork", 12),
                                ("sys_fork", 2)],
                          alloc=[("obj_alloc", 5), ("fork", 3), ("sys_fork", 2)],
                          op_name="sys_fork", site=("fork", 12))
                outcome = "handled"
            else:
                w.free("obj", addr, ("proc_free", 4), [("obj_free", 2), ("proc_free", 4)])
        w.op_end(-12 if outcome != "completed" else 0)
        w.write(outcome, fired=outcome != "completed")
    # blk: a probe's ladder frees out of order, and nothing else goes wrong: a warning
    sw = b.sweep(build, "blk", "fresh", "once")
    w = RunWriter(b, build, sw, "blk", 3)
    w.op_begin("probe", ("blk_init", 2))
    dev, ring = heap + 0xa000000, heap + 0xa010000
    w.alloc("obj", dev, ("probe", 2), [("obj_alloc", 5), ("probe", 2), ("blk_init", 2)],
            size=64)
    w.alloc("page", ring, ("probe", 4), [("page_alloc", 9), ("probe", 4), ("blk_init", 2)])
    w.fault("obj", ("probe", 6), [("obj_alloc", 5), ("probe", 6), ("blk_init", 2)])
    early = [("obj_free", 2), ("probe", 8), ("blk_init", 2)]
    late = [("page_free", 3), ("probe", 9), ("blk_init", 2)]
    f1 = w.free("obj", dev, ("probe", 8), early)
    f2 = w.free("page", ring, ("probe", 9), late)
    w.op_end(-12)
    w.finding("unwind-order", "probe", "probe freed the device before the ring acquired "
              "after it", [f1, f2], severity="warning", addr=dev, free=early, bad=late,
              op_name="probe", site=("probe", 8))
    w.write("handled")
    # boot: an expected panic, an unexpected panic (no finding row), an infra failure
    sw = b.sweep(build, "boot", "fresh", "once")
    w = RunWriter(b, build, sw, "boot", 1)
    w.fault("page", ("kinit", 4), [("page_alloc", 9), ("kinit", 4)])
    w.panic(True, ("kinit", 6), [("panic", 1), ("kinit", 6)], "kinit: out of memory for "
            "the kernel page table")
    w.finding("panic", "kinit", "expected panic", [3])
    w.write("panic", fired=True, ended=True, expected_panic=True)
    w = RunWriter(b, build, sw, "boot", 2)
    w.fault("page", ("vm_unmap", 2), [("page_alloc", 9), ("vm_unmap", 2), ("kinit", 8)])
    w.panic(False, ("vm_unmap", 5), [("panic", 1), ("vm_unmap", 5), ("kinit", 8)],
            "vm_unmap: <script>alert(1)</script> not mapped")
    w.write("panic", fired=True, ended=True)
    w = RunWriter(b, build, sw, "boot", 3)
    w.write("infra", fired=False, ended=False, infra_reason="qemu exited before hello")


def clean_db(path: pathlib.Path) -> pathlib.Path:
    """A sweep of the fixed kernel: every fault handled, nothing flagged."""
    b = DbBuilder(path)
    build = b.build("c1ea40000001")
    sw = b.sweep(build, "proc")
    for n in range(1, 6):
        w = RunWriter(b, build, sw, "proc", n)
        outcome = proc_run(w, n, 0x87000000 + 0x100000 * n, [("scenario_proc", 8)],
                           leak_kstack=False)
        w.write(outcome, fired=outcome != "completed",
                result_rc=0 if outcome == "completed" else -12)
    return b.close()


def leak_db(path: pathlib.Path, leaks: Sequence[tuple[int, str, Sequence[Site]]],
            base: int = 0x80000000) -> pathlib.Path:
    """One sweep of scenario proc in which run N leaks an object allocated at the given
    stack: leaks = [(n, exec_mode, stack), ...]."""
    b = DbBuilder(path)
    build = b.build(f"{base:x}", base=base)
    for i, (n, exec_mode, stack) in enumerate(leaks):
        w = RunWriter(b, build, None, "proc", n, exec_mode)
        w.op_begin("proc_create", ("proc_create", 0))
        w.fault("page", ("map_trapframe", 3), [("page_alloc", 9), ("map_trapframe", 3),
                                               ("proc_create", 9)])
        addr = base + 0x7000000 + 0x1000 * (i + n)
        seq = w.alloc("page", addr, stack[1] if stack[0][0].endswith("_alloc") else stack[0],
                      stack)
        w.op_end(-12)
        site = next(s for s in stack if not s[0].endswith("_alloc"))
        w.finding("leak", site[0], f"page {addr:x} leaked", [seq], addr=addr, alloc=stack,
                  site=site)
        w.write("leak")
    return b.close()
