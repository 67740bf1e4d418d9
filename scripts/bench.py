#!/usr/bin/python3
"""bench.py - what `make bench` prints: the QEMU floor and every cost measured against it.

Measured in one run on this machine:
  floor     boot-to-exit of build/null.elf with the injector's own QEMU command line (median),
            measured right before and right after the fresh -j 1 sweep (their mean is used)
  fresh     per-injection cost of a `vm` sweep in fresh mode, -j 1, as a ratio to the floor
  reset     per-injection cost of the same sweep in reset mode, -j 1
  warm      the same in warm mode (the kernel restarts itself after each clean run; a run
            that was not clean gets a real reset), -j 1
  rates     injections/s with -j 1 and -j 2 in every mode; reset and warm also without
            -icount (--no-icount: guest time no longer deterministic), as separate rows
  tracer    ingest events/s of a synthetic sweep of vm-sized runs (build/tracer
            bench-ingest: each run judged and stored in its own transaction, a clean run as
            its row only, as a sweep stores it; then again with every run stored in full),
            and what one injection's events (the mean over the whole sweeps) cost at the
            first rate, against the floor
  swallowed what the error-swallowed check adds per injected fault (`tracer check` of a
            persist run of 50,000 faults, each recovered, against the run without them)
  state     what state promises add to an `mmap` sweep (reset, -j 2, both fault modes):
            `state` records per run, their share of all records, failed-call promises judged
  resources acq/rel records in the stored runs of a `blk` reset sweep (the scenario that takes
            the most resources): their share of the stream, and what they cost per run at
            the tracer's measured rate
  snapshot  per-injection cost of the same sweep in snapshot mode (the machine saved at hello,
            restored before every run), -j 1, as a ratio to warm mode's; and, on
            build/kernel-slow.elf (a 1 s boot delay), injections/s of snapshot mode (a whole
            sweep, both fault modes, -j 2) against reset mode (-j 2, capped at --slow-max-n)
  coverage  per-injection cost of the same warm -j 1 sweep of build/kernel-cov.elf (trace-pc
            coverage, its cov records judged and stored) as a ratio to build/kernel.elf,
            the two sweeps alternated round by round so that drift hits both alike
  norec     the limit: per-injection cost of warm and reset -j 1 sweeps (fresh too with
            --norec-fresh) of build/kernel.elf as a ratio to the same sweeps of
            build/kernel-norec.elf (recording off: the kernel sends hello, ok/err, run, ckpt,
            fault, result, panic and end, no alloc/free/op/ref/state/resource record; its
            findings mean nothing), alternated round by round
  old       side by side with an older commit (--old-commit, 1a79941 by default): that
            commit is checked out in a temporary git worktree and its injector, kernel and
            tracer built there (its own build/, removed at the end); then warm and reset -j 2
            injections/s (wall, and per CPU-second beside) of old and new, and tracer
            ingest events/s of old and new, are measured in rounds that alternate old and
            new. Skipped, with the reason, when the commit is not in this checkout's git
            history (a shallow clone) or does not build
--only BLOCK[,BLOCK] runs some blocks: modes (floor, modes, rates, guard, snapshot), tracer,
checks (swallowed, state, resources), coverage, slow (the 1 s boot delay), norec, old.
Each cost is given in wall time and in CPU time (the injector plus every QEMU it ran): on a
shared machine the CPU figures are the steadier ones.
Targets: fresh <= 1.2x floor per injection; reset >= 1000 injections/s on 2 cores; tracer
>= 1 M events/s; snapshot >= 20x reset with the boot delay, <= 1.5x warm per injection
without it; coverage <= 1.3x (else it stays out of build/kernel.elf, as it does now);
per-injection CPU <= 1.5x recording off, in warm and reset mode; warm and reset -j 2
>= 3.5x the old commit's injections/s and tracer ingest >= 2x its events/s. Every number
is printed whether or not its target is met; warm mode is judged against the 1000/s figure
on its own line and never counted as reset.
"""
import argparse
import dataclasses
import functools
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib

SUMMARY = re.compile(r"runs: (\d+) executed")
EVENTS_PER_RUN = {}     # kernel: mean stored events per run, one entry per whole sweep
RESTORE = re.compile(r"snapshot restores \(([0-9.]+) ms each\)")
RUN_TIMES = {}          # (kernel, mode, jobs): [(mean run ms from run to end, restore ms)]
MODES = ("fresh", "reset", "warm", "snapshot")
GIT = ["git", "-C", os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]   # this checkout


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def measured(cmd):
    """Run cmd; returns (CompletedProcess, wall s, CPU s of it and its reaped children)."""
    c0, t0 = children_cpu(), time.perf_counter()
    r = subprocess.run(cmd, check=False, text=True, capture_output=True)
    return r, time.perf_counter() - t0, children_cpu() - c0


def floor(injector, null_elf, count):
    r, _, cpu = measured([injector, "floor", "--kernel", null_elf, "--count", str(count)])
    m = re.search(r"median ([0-9.]+)", r.stdout)
    if r.returncode != 0 or not m:
        sys.exit(f"bench: floor measurement failed: {r.stderr.strip()}")
    return float(m.group(1)), cpu / count * 1e3


@functools.cache
def no_analysis(injector):
    """The flag that keeps a sweep from counting findings, when the injector has it (an
    older one, such as the old block's, has none and counts none)."""
    r = subprocess.run([injector, "--help"], capture_output=True, text=True)
    return ("--no-analysis",) if "--no-analysis" in r.stdout + r.stderr else ()


def one_sweep(injector, kernel, scenario, mode, jobs, workdir, max_n, extra=()):
    db = os.path.join(workdir, f"{scenario}-{mode}-{jobs}-{time.monotonic_ns()}.db")
    cmd = [injector, "sweep", "--kernel", kernel, "--scenario", scenario, "--mode", mode,
           "-j", str(jobs), "--quiet", *no_analysis(injector), "--db", db, *extra]
    if max_n:
        cmd += ["--max-n", str(max_n)]
    r, wall, cpu = measured(cmd)
    m = SUMMARY.search(r.stdout)
    if r.returncode not in (0, 1) or not m:
        sys.exit(f"bench: sweep {scenario} {mode} -j {jobs} failed ({r.returncode}):\n"
                 f"{r.stdout}{r.stderr}")
    # The database and the run logs stay until the bench ends: on ext4 without a journal,
    # creating a file soon after thousands were deleted scans past every recently freed
    # inode (measured: a third of the injector's CPU), a cost of the bench's own clean-up
    # that a sweep does not otherwise pay.
    con = sqlite3.connect(db)
    try:
        mean, run_ms = con.execute("SELECT avg(nevents), avg(wall_ms) FROM runs").fetchone()
    finally:
        con.close()
    restore = RESTORE.search(r.stdout)
    RUN_TIMES.setdefault((kernel, mode, jobs), []).append(
        (run_ms or 0.0, float(restore.group(1)) if restore else 0.0))
    if mean and not max_n:          # whole sweeps only: a capped one sees the short runs
        EVENTS_PER_RUN.setdefault(kernel, []).append(mean)
    return int(m.group(1)), wall, cpu


def sweep_cost(injector, kernel, scenario, mode, jobs, workdir, min_s, max_n, extra=()):
    """Sweep on fresh databases until min_s seconds are measured: (runs, wall s, CPU s).
    Wall time is the whole command, database setup included."""
    runs, wall, cpu = 0, 0.0, 0.0
    while wall < min_s:
        n, w, c = one_sweep(injector, kernel, scenario, mode, jobs, workdir, max_n, extra)
        if n == 0:
            sys.exit(f"bench: sweep {scenario} {mode} executed no runs")
        runs, wall, cpu = runs + n, wall + w, cpu + c
    return runs, wall, cpu


def tracer_rate(tracer, workdir, nevents, keep=()):
    """Ingest events/s of the tracer on a synthetic sweep of vm-sized runs (its bench-ingest;
    keep: ("--keep", "full") stores every run in full, () as the tracer stores a sweep)."""
    if not os.path.exists(tracer):
        return None, "build/tracer missing"
    r = subprocess.run([tracer, "bench-ingest", "--events", str(nevents), *keep, "--db",
                        os.path.join(workdir, f"ingest-{time.monotonic_ns()}.db")],
                       text=True, capture_output=True)
    out = (r.stdout + r.stderr).strip()
    wall = re.search(r"([0-9.]+) events/s wall", out)
    if r.returncode != 0 or not wall:
        return None, f"tracer bench-ingest failed: {out[:200]}"
    return float(wall.group(1)), out


def swallow_check_cost(tracer, kernel, workdir, nfaults=50_000):
    """Per injected fault, what judging error-swallowed adds to `tracer check`: a persist-mode
    run in which every fault sits in an op that returned success and is covered by a recover
    record of the faulting function, against the same run without the fault and recover
    records. Returns microseconds per fault (parse and judge both records), or None."""
    note = subprocess.run(["readelf", "-n", kernel], text=True, capture_output=True).stdout
    syms = subprocess.run(["nm", kernel], text=True, capture_output=True).stdout
    bid = re.search(r"Build ID: ([0-9a-f]+)", note)
    fn = re.search(r"^([0-9a-f]+) [tT] scen_test_recover$", syms, re.M)
    if not bid or not fn:
        return None
    pc = f"{int(fn.group(1), 16) + 0x10:x}"

    def log(with_faults):
        lines = [f"hello faultline 1 {bid.group(1)}", "run test-recover", "ckpt baseline 0 0 0 0",
                 f"op+ 1 test-recover {pc}"]
        for k in range(nfaults):
            lines.append(f"op+ {k + 2} step {pc}")
            if with_faults:
                lines += [f"fault {k + 1} page 16384 {pc} {pc}", f"recover {pc} {pc}"]
            lines.append(f"op- {k + 2} 0")
        lines += ["op- 1 0", "ckpt end 0 0 0 0", "result test-recover 0",
                  f"end 1 {nfaults} {nfaults if with_faults else 0}"]
        path = os.path.join(workdir, f"swallow-{with_faults}.log")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def best(path):
        times = []
        for _ in range(3):
            t = time.monotonic()
            r = subprocess.run([tracer, "check", "--quiet", "--kernel", kernel, path],
                               capture_output=True, text=True)
            times.append(time.monotonic() - t)
            if r.returncode != 0:
                return None
        return min(times)

    with_f, without = best(log(True)), best(log(False))
    if with_f is None or without is None:
        return None
    return (with_f - without) / nfaults * 1e6


def run_streams(db):
    """Each stored run's console lines, from the sweep's kept logs (--keep-logs all): clean
    runs are not stored in full, so their records are counted in their streams."""
    con = sqlite3.connect(db)
    try:
        kept = con.execute("SELECT raw_log_z, raw_log FROM runs").fetchall()
    finally:
        con.close()
    for packed, path in kept:
        if packed is not None:
            yield zlib.decompress(packed).decode(errors="replace").splitlines()
        elif path and os.path.exists(path):
            with open(path, errors="replace") as f:
                yield f.read().splitlines()


def sweep_streams(injector, kernel, workdir, scenario, *extra):
    """Sweep scenario (reset, -j 2, every log kept); (lines of each run, wall s), or None
    when the sweep fails."""
    db = os.path.join(workdir, f"{scenario}-streams.db")
    r, wall, _ = measured([injector, "sweep", "--kernel", kernel, "--scenario", scenario,
                           "--mode", "reset", "-j", "2", "--quiet", "--no-analysis",
                           "--keep-logs", "all", "--db", db, *extra])
    if r.returncode not in (0, 1):
        return None
    return list(run_streams(db)), wall


def state_promises(injector, kernel, workdir):
    """What the state promises (`state` records, docs/kernel.md) add to an mmap sweep
    (reset, -j 2): records per run, their share of the run's records, promises with a
    failed call (rc < 0, judged by the tracer), and the sweep's speed for context."""
    swept = sweep_streams(injector, kernel, workdir, "mmap", "--both")
    if swept is None:
        return "not measured: the mmap sweep failed"
    streams, wall = swept
    states = [ln.split(" ") for run in streams for ln in run if ln.startswith("state ")]
    records = sum(len(run) for run in streams)
    if not streams or not records:
        return "not measured: the sweep kept no logs"
    failed = sum(len(f) == 6 and f[4].startswith("-") for f in states)
    return (f"{len(states) / len(streams):8.1f} records/run ({100 * len(states) / records:.1f}%"
            f" of records; {failed} failed-call promises judged; {len(streams)} runs at "
            f"{len(streams) / wall:.0f}/s)")


def resource_records(injector, kernel, workdir):
    """(acq/rel records, all records, runs) over the runs of a `blk` reset sweep, or None
    when the sweep fails."""
    swept = sweep_streams(injector, kernel, workdir, "blk")
    if swept is None:
        return None
    streams, _ = swept
    held = sum(ln.startswith(("acq ", "rel ")) for run in streams for ln in run)
    return held, sum(len(run) for run in streams), len(streams)


def slow_boot_rates(injector, slow_kernel, scenario, workdir, reset_max_n):
    """Injections/s of (reset, snapshot) sweeps of the slow-booting kernel, -j 2, both fault
    modes: reset capped at reset_max_n (every run pays a boot), snapshot a whole sweep (one
    boot per worker, its snapshot saved once, included)."""
    rates = []
    for mode, max_n in (("reset", reset_max_n), ("snapshot", 0)):
        n, wall, _ = one_sweep(injector, slow_kernel, scenario, mode, 2, workdir, max_n,
                               ("--both",))
        rates.append(n / wall)
    return rates


def alternated(sides, scenario, mode, jobs, workdir, min_s, rounds, max_n=0):
    """Per-injection (wall s, CPU s) of each (injector, kernel) in sides, swept in rounds that
    alternate them, so that drift on a shared machine hits all of them alike."""
    totals = [[0, 0.0, 0.0] for _ in sides]
    for _ in range(rounds):
        for t, (injector, kernel) in zip(totals, sides):
            n, w, c = sweep_cost(injector, kernel, scenario, mode, jobs, workdir,
                                 min_s / rounds, max_n)
            t[0], t[1], t[2] = t[0] + n, t[1] + w, t[2] + c
    return [(w / n, c / n) for n, w, c in totals]


def met(ok):
    return "met" if ok else "NOT met"


def make_env():
    """The environment without an outer make's flags and BUILD, so that the old tree's make
    builds into its own build/ whatever `make bench` was given."""
    drop = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "BUILD")
    return {k: v for k, v in os.environ.items() if k not in drop}


def checkout_old(commit, tree):
    """Check commit out at tree (a detached, temporary git worktree) and build its injector,
    kernel and tracer in tree/build. Returns None, or why it could not."""
    if subprocess.run(GIT + ["cat-file", "-e", commit + "^{commit}"],
                      capture_output=True).returncode:
        return f"commit {commit} is not in this checkout's git history (a shallow clone?)"
    r = subprocess.run(GIT + ["worktree", "add", "--detach", tree, commit],
                       capture_output=True, text=True)
    if r.returncode:
        return f"git worktree add failed: {r.stderr.strip()[-200:]}"
    r = subprocess.run(["make", "-C", tree, "-j", str(os.cpu_count() or 2), "build/injector",
                        "build/kernel.elf", "build/tracer"],
                       env=make_env(), capture_output=True, text=True)
    if r.returncode:
        return f"its build failed: {(r.stdout + r.stderr).strip()[-300:]}"
    return None


def remove_worktree(tree):
    if subprocess.run(GIT + ["worktree", "remove", "--force", tree],
                      capture_output=True).returncode:
        shutil.rmtree(tree, ignore_errors=True)
        subprocess.run(GIT + ["worktree", "prune"], capture_output=True)


@dataclasses.dataclass
class Bench:
    """What the blocks share: the paths, the options and what earlier blocks measured."""
    args: argparse.Namespace
    work: str
    floor: tuple = None             # (wall ms, CPU ms) of the QEMU floor
    rate: float = None              # tracer ingest events/s
    targets: list = dataclasses.field(default_factory=list)

    def path(self, name):
        return os.path.join(self.args.build, name)

    @property
    def injector(self):
        return self.path("injector")

    @property
    def kernel(self):
        return self.path("kernel.elf")


def snapshot_anatomy(kernel, scenario):
    """Where a snapshot run's time goes, against a warm run's (-j 1 sweeps): QEMU's
    snapshot-load, then the run, slower than warm's because the load discards TCG's
    translated code (injector/README.md, "Snapshot mode")."""
    def mean(mode, i):
        got = RUN_TIMES.get((kernel, mode, 1), [])
        return sum(t[i] for t in got) / len(got) if got else 0.0
    snap_run, warm_run, load = mean("snapshot", 0), mean("warm", 0), mean("snapshot", 1)
    return (f"{'snapshot run, parts (' + scenario + ', -j 1)':44s} {load:8.2f} ms restore"
            f" + {snap_run:.2f} ms run to end (warm: {warm_run:.2f} ms run to end,"
            f" {snap_run / warm_run if warm_run else 0:.1f}x: translated code is lost)")


def modes_block(b):
    """The floor, each mode's per-injection cost against it, and injections/s of each mode."""
    a, injector, kernel, work = b.args, b.injector, b.kernel, b.work
    rows = {}
    configs = [(m, j, ()) for m in MODES for j in (1, 2)]
    configs += [(m, 2, ("--no-icount",)) for m in ("reset", "warm")]
    configs += [("reset", 1, ("--guard",))]
    # The fresh -j 1 sweep is bracketed by floor measurements and judged against their
    # mean: on a shared machine the speed drifts, and this ratio is a target.
    null_elf = b.path("null.elf")
    fl0, fl0_cpu = floor(injector, null_elf, a.floor_count)
    rows["fresh", 1, ()] = sweep_cost(injector, kernel, a.scenario, "fresh", 1, work,
                                      a.min_seconds, a.fresh_max_n)
    fl1, fl1_cpu = floor(injector, null_elf, a.floor_count)
    fl, fl_cpu = b.floor = (fl0 + fl1) / 2, (fl0_cpu + fl1_cpu) / 2
    print(f"{'QEMU floor (null.elf boot-to-exit, median)':44s} {fl:8.2f} ms wall"
          f"  {fl_cpu:8.2f} ms CPU   (before the fresh sweep {fl0:.2f}, after {fl1:.2f})")
    for mode, jobs, extra in configs:
        if (mode, jobs, extra) not in rows:
            rows[mode, jobs, extra] = sweep_cost(injector, kernel, a.scenario, mode, jobs,
                                                 work, a.min_seconds,
                                                 a.fresh_max_n if mode == "fresh" else 0,
                                                 extra)
    for mode in MODES:
        runs, wall, cpu = rows[mode, 1, ()]
        w, c = wall / runs * 1e3, cpu / runs * 1e3
        print(f"{mode + ' per injection (' + a.scenario + ', -j 1)':44s} {w:8.2f} ms wall"
              f"  {c:8.2f} ms CPU   = {w / fl:5.2f}x floor wall, {c / fl_cpu:5.2f}x floor CPU")
    for mode, jobs, extra in configs:
        runs, wall, cpu = rows[mode, jobs, extra]
        label = f"{mode} injections/s ({a.scenario}, -j {jobs}{''.join(' ' + e for e in extra)})"
        print(f"{label:44s} {runs / wall:8.1f} /s      ({runs} runs in {wall:.2f} s;"
              f" {runs / cpu:.1f} per CPU-second; {cpu / runs * 1e3:.2f} ms CPU each"
              f" = {cpu / runs * 1e3 / fl_cpu:.2f}x floor CPU)")
    # (wall s, CPU s) per injection, -j 1
    warm1, snap1 = ((rows[m, 1, ()][1] / rows[m, 1, ()][0],
                     rows[m, 1, ()][2] / rows[m, 1, ()][0]) for m in ("warm", "snapshot"))
    snap_vs_warm = snap1[0] / warm1[0]
    print(f"{'snapshot per injection (' + a.scenario + ', -j 1)':44s} "
          f"{snap1[0] * 1e3:8.2f} ms wall  {snap1[1] * 1e3:8.2f} ms CPU   = "
          f"{snap_vs_warm:5.2f}x wall, {snap1[1] / warm1[1]:5.2f}x CPU of warm")
    print(snapshot_anatomy(kernel, a.scenario))
    plain, guard = (rows["reset", 1, x][1] / rows["reset", 1, x][0] * 1e3
                    for x in ((), ("--guard",)))
    print(f"{'guard mode per injection (reset, -j 1)':44s} {guard:8.2f} ms wall"
          f"  = {guard / plain:5.2f}x plain ({plain:.2f} ms); sweeps keep it off by"
          f" default, `make demo` turns it on")
    fresh = rows["fresh", 1, ()][1] / rows["fresh", 1, ()][0] * 1e3 / fl
    fresh_cpu = rows["fresh", 1, ()][2] / rows["fresh", 1, ()][0] * 1e3 / fl_cpu
    reset2 = rows["reset", 2, ()][0] / rows["reset", 2, ()][1]
    warm2 = rows["warm", 2, ()][0] / rows["warm", 2, ()][1]
    b.targets += [
        f"target fresh <= 1.2x floor: {met(fresh <= 1.2)} ({fresh:.2f}x wall, "
        f"{fresh_cpu:.2f}x CPU)",
        f"target reset >= 1000/s on 2 cores: {met(reset2 >= 1000)} ({reset2:.0f}/s)",
        f"warm mode against the same 1000/s: {met(warm2 >= 1000)} ({warm2:.0f}/s; warm is not"
        f" reset: it counts for neither)",
        f"target snapshot <= 1.5x warm per injection: {met(snap_vs_warm <= 1.5)} "
        f"({snap_vs_warm:.2f}x wall)"]


def tracer_block(b):
    """Ingest events/s, and what one injection's events cost at that rate."""
    rate, detail = tracer_rate(b.path("tracer"), b.work, b.args.events)
    if rate is None:
        print(f"{'tracer ingest':44s} not measured: {detail}")
        return
    b.rate = rate
    print(f"{'tracer ingest (sweep of 1,000-event runs)':44s} {rate / 1e6:8.2f} M events/s wall"
          " (clean runs stored as their row, as a sweep stores them)")
    print(f"  {detail}")
    full, detail = tracer_rate(b.path("tracer"), b.work, b.args.events, ("--keep", "full"))
    if full is not None:
        print(f"{'tracer ingest, every run stored in full':44s} {full / 1e6:8.2f} M events/s wall")
        print(f"  {detail}")
    means = EVENTS_PER_RUN.get(b.kernel)
    if means:
        ev = sum(means) / len(means)
        ms = ev / rate * 1e3
        against = f" = {ms / b.floor[0]:5.3f}x floor" if b.floor else ""
        print(f"{'tracer per injection (' + b.args.scenario + f', {ev:.0f} events)':44s}"
              f" {ms:8.2f} ms wall at that rate{against}")
    b.targets.append(f"target tracer >= 1 M events/s: {met(rate >= 1e6)} ({rate / 1e6:.2f} M/s)")


def checks_block(b):
    """What the error-swallowed check, state promises and resource records add."""
    us = swallow_check_cost(b.path("tracer"), b.kernel, b.work)
    print(f"{'error-swallowed check (persist, recovered)':44s} "
          + (f"{us:8.2f} us per fault (fault + recover records parsed and judged)"
             if us is not None else "not measured"))
    print(f"{'state promises (mmap, reset, -j 2, both)':44s} "
          f"{state_promises(b.injector, b.kernel, b.work)}")
    res = resource_records(b.injector, b.kernel, b.work)
    if res is None or not res[1]:
        print(f"{'resource records (blk)':44s} not measured: the blk sweep failed or kept "
              "no logs")
        return
    held, total, nruns = res
    cost = f"; {held / nruns / b.rate * 1e3:.3f} ms per run to ingest" if b.rate else ""
    print(f"{'resource records (blk, acq/rel)':44s} {held / total * 100:8.1f} % of the"
          f" stream   ({held:.0f} of {total} records in {nruns} runs{cost})")


def missing(path, label):
    """True, said on label's row, when path (something make builds) is not there."""
    if os.path.exists(path):
        return False
    print(f"{label:44s} not measured: {path} missing")
    return True


def kernel_against(b, other, mode, rounds, max_n=0):
    """Per-injection (wall ms, CPU ms) of -j 1 sweeps of kernel.elf and of other, alternated."""
    return [(w * 1e3, c * 1e3) for w, c in alternated(
        [(b.injector, b.kernel), (b.injector, other)], b.args.scenario, mode, 1, b.work,
        b.args.min_seconds * 2, rounds, max_n)]


def ratio_row(label, cost, base, base_name):
    """Print cost (wall ms, CPU ms) and its ratios to base; returns them (wall, CPU)."""
    wall, cpu = cost[0] / base[0], cost[1] / base[1]
    print(f"{label:44s} {cost[0]:8.2f} ms wall  {cost[1]:8.2f} ms CPU   = {wall:5.2f}x wall,"
          f" {cpu:5.2f}x CPU of {base_name} ({base[0]:.2f} ms wall, {base[1]:.2f} ms CPU)")
    return wall, cpu


def coverage_block(b):
    """Warm -j 1 per injection of kernel-cov.elf against kernel.elf, alternated."""
    cov_kernel = b.path("kernel-cov.elf")
    if missing(cov_kernel, "coverage per injection"):
        return
    plain, cov = kernel_against(b, cov_kernel, "warm", 3)
    _, cpu = ratio_row(f"coverage per injection ({b.args.scenario}, warm -j 1)", cov, plain,
                       "kernel.elf")
    b.targets.append(f"target coverage <= 1.3x per injection: {met(cpu <= 1.3)}"
                     f" ({cpu:.2f}x CPU; kernel.elf is built without it while not met)")


def boot_wall(b, kernel, rounds=3):
    """Median wall s of one fresh `boot` run of kernel that injects nothing."""
    walls = []
    for _ in range(rounds):
        db = os.path.join(b.work, f"boot-wall-{time.monotonic_ns()}.db")
        _, wall, _ = measured([b.injector, "run", "--kernel", kernel, "--scenario", "boot",
                               "--fail", "1000000", "--quiet", "--db", db])
        walls.append(wall)
    return sorted(walls)[rounds // 2]


def slow_block(b):
    """Snapshot against reset on a kernel with a 1 s boot delay."""
    slow_kernel = b.path("kernel-slow.elf")
    if missing(slow_kernel, "1 s boot delay"):
        return
    delay = boot_wall(b, slow_kernel) - boot_wall(b, b.kernel)
    reset_rate, snap_rate = slow_boot_rates(b.injector, slow_kernel, b.args.scenario, b.work,
                                            b.args.slow_max_n)
    gain = snap_rate / reset_rate
    print(f"{'1 s boot delay (kernel-slow.elf, -j 2, both)':44s} {snap_rate:8.2f} /s"
          f" snapshot against {reset_rate:.3f} /s reset = {gain:.0f}x   (the delay seen here:"
          f" {delay:.2f} s a boot)")
    b.targets.append(f"target snapshot >= 20x reset with a 1 s boot delay: {met(gain >= 20)}"
                     f" ({gain:.0f}x)")


def norec_block(b):
    """The limit: each mode's per-injection cost against the same sweep with recording off."""
    norec = b.path("kernel-norec.elf")
    if missing(norec, "recording off"):
        return
    for mode in ("warm", "reset") + (("fresh",) if b.args.norec_fresh else ()):
        on, off = kernel_against(b, norec, mode, 2,
                                 b.args.fresh_max_n if mode == "fresh" else 0)
        wall, cpu = ratio_row(f"recording on ({b.args.scenario}, {mode} -j 1)", on, off,
                              "recording off")
        b.targets.append(f"target {mode} per injection <= 1.5x recording off: "
                         f"{met(cpu <= 1.5)} ({cpu:.2f}x CPU, {wall:.2f}x wall)")


def old_block(b):
    """Injections/s and ingest events/s against an older commit built from history."""
    commit, scenario = b.args.old_commit, b.args.scenario
    tree = os.path.join(b.work, "old-tree")
    t0 = time.perf_counter()
    try:
        why = checkout_old(commit, tree)
        if why:
            print(f"{'side by side with ' + commit:44s} skipped: {why}")
            return
        print(f"{'side by side with ' + commit:44s} built in a temporary worktree in"
              f" {time.perf_counter() - t0:.0f} s")
        old = os.path.join(tree, "build")
        for mode in ("warm", "reset"):
            (ow, oc), (nw, nc) = alternated(
                [(os.path.join(old, "injector"), os.path.join(old, "kernel.elf")),
                 (b.injector, b.kernel)], scenario, mode, 2, b.work, b.args.min_seconds * 2, 2)
            print(f"{f'{mode} injections/s ({scenario}, -j 2) old/new':44s} {1 / ow:8.1f} /s"
                  f" old, {1 / nw:.1f} /s new = {ow / nw:5.2f}x   (per CPU-second:"
                  f" {1 / oc:.1f} old, {1 / nc:.1f} new = {oc / nc:.2f}x)")
            b.targets.append(f"target {mode} >= 3.5x the injections/s of {commit}: "
                             f"{met(ow / nw >= 3.5)} ({ow / nw:.2f}x)")
        # old stores every run in full; new as a sweep stores (rows only for clean runs),
        # and in full for the like-for-like figure
        sides = (("old", os.path.join(old, "tracer"), ()), ("new", b.path("tracer"), ()),
                 ("new, in full", b.path("tracer"), ("--keep", "full")))
        rates, rounds = {side: [] for side, _, _ in sides}, 2
        for _ in range(rounds):
            for side, tracer, keep in sides:
                rate, detail = tracer_rate(tracer, b.work, b.args.events // rounds, keep)
                if rate is None:
                    print(f"{'tracer ingest old/new':44s} not measured: {side}: {detail}")
                    return
                rates[side].append(rate)
        old_rate, new_rate, full_rate = (sum(r) / len(r) for r in rates.values())
        print(f"{'tracer ingest old/new':44s} {old_rate / 1e6:8.2f} M events/s old,"
              f" {new_rate / 1e6:.2f} M events/s new = {new_rate / old_rate:5.2f}x"
              f"   (new storing every run in full: {full_rate / 1e6:.2f} M/s ="
              f" {full_rate / old_rate:.2f}x)")
        b.targets.append(f"target tracer ingest >= 2x the events/s of {commit}: "
                         f"{met(new_rate / old_rate >= 2)} ({new_rate / old_rate:.2f}x)")
    finally:
        remove_worktree(tree)


# in the order they run: tracer uses the floor and the sweeps' events, checks the ingest rate
BLOCKS = {"modes": modes_block, "tracer": tracer_block, "checks": checks_block,
          "coverage": coverage_block, "slow": slow_block, "norec": norec_block,
          "old": old_block}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--scenario", default="vm")
    ap.add_argument("--only", default=",".join(BLOCKS),
                    help=f"comma-separated blocks to run, of: {', '.join(BLOCKS)} (all)")
    ap.add_argument("--floor-count", type=int, default=21)
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument("--fresh-max-n", type=int, default=150,
                    help="fresh sweeps stop at this N (the cost per injection is what counts)")
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--slow-max-n", type=int, default=3,
                    help="reset sweeps of the slow-booting kernel stop at this N")
    ap.add_argument("--norec-fresh", action="store_true",
                    help="the recording-off block also compares fresh sweeps (~1.5 min more)")
    ap.add_argument("--old-commit", default="1a79941",
                    help="the commit the old block measures against")
    a = ap.parse_args()
    blocks = a.only.split(",")
    unknown = set(blocks) - set(BLOCKS)
    if unknown:
        sys.exit(f"bench: no block {', '.join(sorted(unknown))}; blocks: {', '.join(BLOCKS)}")
    for name in ("injector", "kernel.elf", "null.elf"):
        if not os.path.exists(os.path.join(a.build, name)):
            sys.exit(f"bench: {os.path.join(a.build, name)} missing: run `make` first")

    work = tempfile.mkdtemp(prefix="faultline-bench-")
    try:
        b = Bench(a, work)
        t0 = time.perf_counter()
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
        took = []
        for name, block in BLOCKS.items():
            if name in blocks:
                t = time.perf_counter()
                block(b)
                took.append(f"{name} {time.perf_counter() - t:.0f} s")
        print(f"machine: load average {os.getloadavg()[0]:.2f} at the end; the bench took"
              f" {time.perf_counter() - t0:.0f} s ({', '.join(took)}; --only picks blocks)")
        print()
        for line in b.targets:
            print(line)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
