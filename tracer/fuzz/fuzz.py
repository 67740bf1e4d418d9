#!/usr/bin/python3
"""fuzz.py - run the tracer's libFuzzer targets (mk/fuzz.mk builds them into BUILD/fuzz/).

    fuzz.py seeds  --build B --out DIR             real console logs to start from
    fuzz.py run    --build B [--seconds S] [--target T]... [--seeds DIR] [--work DIR]
    fuzz.py replay --build B FILE...               every file through every target, once

Seeds are real console streams: runs of the sample kernel driven by build/injector, one per
behaviour the checks judge (a leak, double and mismatched frees, a panic, a trap, a hang,
faults deep in vm, fork and mmap, refcounts), and the saved logs in tests/data/. `run` keeps
the corpus it grows in WORK/corpus/TARGET and writes a crashing input to WORK/crashes/;
exit 0 when no target crashed, 1 when one did (its input is named), 2 on a usage or build
error. A fixed input goes to tests/data/fuzz-regressions/, which `replay` (and the test
suite) runs through the sanitizer builds.
"""
import argparse
import dataclasses
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
TARGETS = ("parser", "pipeline")
NEVER = 100000  # a countdown no scenario reaches: the scenario's whole stream, no fault
# (scenario, fail N, timeout s): each a console stream the checks judge differently
SEED_RUNS = [("test-leak", NEVER, 5), ("test-doublefree", NEVER, 5),
             ("test-wrongfree", NEVER, 5), ("test-panic", NEVER, 5), ("test-trap", NEVER, 5),
             ("test-hang", NEVER, 1), ("vm", 40, 5), ("fork", 30, 5), ("mmap", 60, 5)]
SAVED_LOGS = sorted((ROOT / "tests" / "data").glob("tracer-*.log"))
MAX_LEN = 16384  # the largest seed (mmap, refcounts included) is about 13 KB
DICT = pathlib.Path(__file__).resolve().parent / "console.dict"  # the protocol's words
LIBFUZZER = [f"-max_len={MAX_LEN}", f"-dict={DICT}", "-timeout=20", "-rss_limit_mb=2048",
             "-print_final_stats=1"]
EXECUTED = re.compile(rb"stat::number_of_executed_units: (\d+)")
ARTIFACT = re.compile(rb"Test unit written to (\S+)")
REPORT = re.compile(r"^(==\d+==ERROR|.*runtime error:|fuzz-\w+: )", re.M)  # a crash's report


@dataclasses.dataclass
class Outcome:
    target: str
    executions: int
    crash: pathlib.Path | None  # the input that crashed it, as libFuzzer saved it
    report: str                 # the sanitizer's report when it crashed


def crash_report(stderr):
    """The sanitizer's (or the target's own) report in libFuzzer's output, with the input
    libFuzzer was running."""
    m = REPORT.search(stderr)
    if not m:
        return stderr[-4000:]
    running = re.findall(r"^Running: .*$", stderr[:m.start()], re.M)
    return "\n".join(running[-1:] + [stderr[m.start():m.start() + 4000]])


def binary(build, target):
    return pathlib.Path(build) / "fuzz" / f"fuzz-{target}"


def environment(build):
    """The pipeline target registers the real kernel build once, at start."""
    return dict(os.environ, FAULTLINE_FUZZ_KERNEL=str(pathlib.Path(build) / "kernel.elf"))


def make_seeds(build, out):
    """Drive the real kernel once per SEED_RUNS entry and keep each raw console log, with
    the saved logs of tests/data/, in out. Returns the seed files."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = pathlib.Path(tmp) / "seeds.db"
        for scenario, n, timeout in SEED_RUNS:
            p = subprocess.run([str(pathlib.Path(build) / "injector"), "run", "--kernel",
                                str(pathlib.Path(build) / "kernel.elf"), "--scenario",
                                scenario, "--fail", str(n), "--timeout", str(timeout),
                                "--quiet", "--db", str(db)],
                               capture_output=True, text=True, timeout=120)
            if p.returncode not in (0, 1):  # 1: the run has findings, as intended
                raise RuntimeError(f"injector run --scenario {scenario}: {p.stderr.strip()}")
        for log in pathlib.Path(f"{db}.logs").glob("*.log"):
            shutil.copy(log, out / log.name)
    for log in SAVED_LOGS:
        shutil.copy(log, out / log.name)
    return sorted(out.iterdir())


def fuzz(build, target, seconds, seeds, work):
    """Fuzz one target for seconds from the corpus in work (grown) and the seeds (read)."""
    corpus = pathlib.Path(work) / "corpus" / target
    crashes = pathlib.Path(work) / "crashes"
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([str(binary(build, target)), *LIBFUZZER,
                        f"-max_total_time={seconds}", f"-artifact_prefix={crashes}/{target}-",
                        str(corpus), str(seeds)],
                       env=environment(build), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=seconds + 120)
    executed = EXECUTED.search(p.stderr)
    artifact = ARTIFACT.search(p.stderr)
    if p.returncode and not artifact:
        raise RuntimeError(f"fuzz-{target} failed (exit {p.returncode}): "
                           f"{p.stderr[-2000:].decode(errors='replace')}")
    return Outcome(target, int(executed.group(1)) if executed else 0,
                   pathlib.Path(artifact.group(1).decode()) if artifact else None,
                   crash_report(p.stderr.decode(errors="replace")))


def replay(build, target, files):
    """Run each file once through the target; the process fails on the first crash."""
    return subprocess.run([str(binary(build, target)), *LIBFUZZER, *map(str, files)],
                          env=environment(build), capture_output=True, text=True,
                          timeout=300)


def cmd_seeds(a):
    print(f"fuzz: {len(make_seeds(a.build, a.out))} seed logs in {a.out}")
    return 0


def cmd_run(a):
    work = pathlib.Path(a.work or pathlib.Path(a.build) / "fuzz")
    seeds = pathlib.Path(a.seeds or work / "seeds")
    if not seeds.is_dir() or not any(seeds.iterdir()):
        make_seeds(a.build, seeds)
    crashed = 0
    for target in a.target or TARGETS:
        o = fuzz(a.build, target, a.seconds, seeds, work)
        print(f"fuzz-{target}: {o.executions} executions in {a.seconds} s, "
              + (f"crash: {o.crash}" if o.crash else "no crash"))
        if o.crash:
            print(o.report, file=sys.stderr)
            crashed = 1
    return crashed


def cmd_replay(a):
    failed = 0
    for target in TARGETS:
        p = replay(a.build, target, a.files)
        print(f"fuzz-{target}: {len(a.files)} input(s) "
              + ("crashed" if p.returncode else "replayed clean"))
        if p.returncode:
            print(crash_report(p.stderr), file=sys.stderr)
            failed = 1
    return failed


def main(argv=None):
    ap = argparse.ArgumentParser(prog="fuzz.py", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seeds", help="write real console logs to start from")
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_seeds)
    r = sub.add_parser("run", help="fuzz each target for a while")
    r.add_argument("--seconds", type=int, default=300)
    r.add_argument("--target", action="append", choices=TARGETS)
    r.add_argument("--seeds", help="seed logs (made with `seeds` when missing)")
    r.add_argument("--work", help="corpus and crashes (default BUILD/fuzz)")
    r.set_defaults(fn=cmd_run)
    p = sub.add_parser("replay", help="run inputs once through every target")
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_replay)
    for sp in (s, r, p):
        sp.add_argument("--build", default=str(ROOT / "build"))
    a = ap.parse_args(argv)
    try:
        return a.fn(a)
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        print(f"fuzz: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
