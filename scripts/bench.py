#!/usr/bin/python3
"""bench.py - what `make bench` prints: the QEMU floor and every cost measured against it.

Measured in one run on this machine:
  floor     boot-to-exit of build/null.elf with the injector's own QEMU command line (median)
  fresh     per-injection cost of a `vm` sweep in fresh mode, -j 1, as a ratio to the floor
  reset     per-injection cost of the same sweep in reset mode, -j 1
  rates     injections/s with -j 1 and -j 2 in both modes
  tracer    ingest events/s of a large saved console stream
Targets: fresh <= 1.2x floor per injection; reset >= 1000 injections/s on 2 cores; tracer
>= 1 M events/s. Every number is printed whether or not its target is met.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SUMMARY = re.compile(r"runs: (\d+) executed.*?time: ([0-9.]+)s", re.S)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=False, text=True, capture_output=True, **kw)


def floor_ms(injector, null_elf, count):
    r = sh([injector, "floor", "--kernel", null_elf, "--count", str(count)])
    m = re.search(r"median ([0-9.]+)", r.stdout)
    if r.returncode != 0 or not m:
        sys.exit(f"bench: floor measurement failed: {r.stderr.strip()}")
    return float(m.group(1))


def one_sweep(injector, kernel, scenario, mode, jobs, workdir, extra=()):
    db = os.path.join(workdir, f"{scenario}-{mode}-{jobs}-{time.monotonic_ns()}.db")
    r = sh([injector, "sweep", "--kernel", kernel, "--scenario", scenario, "--mode", mode,
            "-j", str(jobs), "--quiet", "--db", db, *extra])
    m = SUMMARY.search(r.stdout)
    if r.returncode not in (0, 1) or not m:
        sys.exit(f"bench: sweep {scenario} {mode} -j {jobs} failed ({r.returncode}):\n"
                 f"{r.stdout}{r.stderr}")
    os.unlink(db)
    shutil.rmtree(db + ".logs", ignore_errors=True)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    return int(m.group(1)), float(m.group(2))


def sweep_rate(injector, kernel, scenario, mode, jobs, workdir, min_s, extra=()):
    """Repeat the sweep on fresh databases until min_s seconds of sweeping are measured."""
    runs = 0
    secs = 0.0
    while secs < min_s:
        n, t = one_sweep(injector, kernel, scenario, mode, jobs, workdir, extra)
        if n == 0:
            sys.exit(f"bench: sweep {scenario} {mode} executed no runs")
        runs += n
        secs += t
    return runs, secs


def synth_stream(path, nevents):
    """A valid console stream of nevents alloc/free records (protocol v1), balanced."""
    with open(path, "w") as f:
        f.write("hello faultline 1 00\nok run\nrun bench\nckpt baseline 0 0 0 0\n")
        f.write("op+ 1 bench 80001000\n")
        seq = 0
        pairs = nevents // 2
        for i in range(pairs):
            seq += 1
            addr = 0x80400000 + (i % 4096) * 64
            f.write(f"alloc {seq} obj {addr:x} 64 80002010 80002010,80003020,80004030\n")
            f.write(f"free {seq} obj {addr:x} 80002050 80002050,80003020,80004030\n")
        f.write("op- 1 0\nckpt end 0 0 0 0\nresult bench 0\n")
        f.write(f"end 0 {seq} 0\n")
    return pairs * 2 + 9


def tracer_rate(tracer, kernel, workdir, nevents):
    """Events/s of `tracer ingest` on a large saved stream (best of three)."""
    if not os.path.exists(tracer):
        return None, "build/tracer missing"
    log = os.path.join(workdir, "big.log")
    n = synth_stream(log, nevents)
    best = None
    for i in range(3):
        db = os.path.join(workdir, f"ingest{i}.db")
        t0 = time.perf_counter()
        r = sh([tracer, "ingest", "--kernel", kernel, "--db", db, log])
        el = time.perf_counter() - t0
        if r.returncode not in (0, 1):
            return None, f"tracer ingest failed: {r.stderr.strip()[:200]}"
        best = el if best is None else min(best, el)
    return n / best, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--scenario", default="vm")
    ap.add_argument("--floor-count", type=int, default=21)
    ap.add_argument("--min-seconds", type=float, default=3.0)
    ap.add_argument("--events", type=int, default=2_000_000)
    a = ap.parse_args()
    injector = os.path.join(a.build, "injector")
    kernel = os.path.join(a.build, "kernel.elf")
    null_elf = os.path.join(a.build, "null.elf")
    tracer = os.path.join(a.build, "tracer")
    for p in (injector, kernel, null_elf):
        if not os.path.exists(p):
            sys.exit(f"bench: {p} missing: run `make` first")

    work = tempfile.mkdtemp(prefix="faultline-bench-")
    try:
        fl = floor_ms(injector, null_elf, a.floor_count)
        print(f"{'QEMU floor (null.elf boot-to-exit, median)':48s} {fl:8.2f} ms")
        rows = {}
        for mode in ("fresh", "reset"):
            for jobs in (1, 2):
                rows[mode, jobs] = sweep_rate(injector, kernel, a.scenario, mode, jobs, work,
                                              a.min_seconds)
        for mode in ("fresh", "reset"):
            runs, secs = rows[mode, 1]
            per = secs / runs * 1e3
            print(f"{mode + ' per injection (' + a.scenario + ', -j 1)':48s} {per:8.2f} ms"
                  f"   {per / fl:6.3f}x floor")
        for mode in ("fresh", "reset"):
            for jobs in (1, 2):
                runs, secs = rows[mode, jobs]
                rate = runs / secs
                print(f"{mode + ' injections/s (' + a.scenario + f', -j {jobs})':48s} "
                      f"{rate:8.1f} /s   {rate * fl / 1e3:6.2f}x floor rate"
                      f"   ({runs} runs)")
        rate, why = tracer_rate(tracer, kernel, work, a.events)
        if rate is None:
            print(f"{'tracer ingest':48s} not measured: {why}")
        else:
            print(f"{'tracer ingest (saved stream, events/s)':48s} {rate / 1e6:8.2f} M/s")
        fresh = rows["fresh", 1][1] / rows["fresh", 1][0] * 1e3 / fl
        reset2 = rows["reset", 2][0] / rows["reset", 2][1]
        print()
        print(f"target fresh <= 1.2x floor: {'met' if fresh <= 1.2 else 'NOT met'} ({fresh:.2f}x)")
        print(f"target reset >= 1000/s on 2 cores: {'met' if reset2 >= 1000 else 'NOT met'}"
              f" ({reset2:.0f}/s)")
        if rate is not None:
            print(f"target tracer >= 1 M events/s: {'met' if rate >= 1e6 else 'NOT met'}"
                  f" ({rate / 1e6:.2f} M/s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
