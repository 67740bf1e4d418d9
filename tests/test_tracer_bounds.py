"""Hostile streams against the tracer's judging and storing: memory-safe under AddressSanitizer
and UBSan (build/tracer-asan), linear in the records, and bounded in what one run keeps, with
whatever the bounds left out counted in the run."""
import os
import subprocess

import pytest

from tracer_support import HELLO, build_mini_elf, findings, ingest, rows, run_row, tracer

# tracer/run.h
FINDINGS_MAX = 1000
OP_LIVE_MAX = 100
OP_DEPTH_MAX = 32
EVENTS_KEEP = 65536

SANITIZED = {**os.environ, "ASAN_OPTIONS": "detect_leaks=0:exitcode=86",
             "UBSAN_OPTIONS": "print_stacktrace=1:exitcode=86"}


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    return build_mini_elf(tmp_path_factory.mktemp("mini"))


def alloc(k, addr):
    """An obj allocation by proc_create (0x80003000), called from scenario_run."""
    return f"alloc {k} obj {addr:x} 256 80003010 80003010,80006010"


def stream(*lines):
    return HELLO + "run hostile\n" + "".join(line + "\n" for line in lines) + "end 1 3 1\n"


def failed_op_holding(nobj, name="big", addr=0x80100000):
    return [f"op+ 1 {name} 80003008", *(alloc(k + 1, addr + k * 0x100) for k in range(nobj)),
            "op- 1 -12"]


def nested_failed_ops(n):
    """n ops each inside the last, each allocating; a fault in the innermost, then every op
    frees its object and fails."""
    opens = [line for k in range(n) for line in
             (f"op+ {k + 1} op{k} 80003008", alloc(k + 1, 0x80100000 + k * 0x100))]
    closes = [line for k in reversed(range(n)) for line in
              (f"free {k + 1} obj {0x80100000 + k * 0x100:x} 80003050 80003050,80006010",
               f"op- {k + 1} -12")]
    return [*opens, f"fault {n + 1} page 4096 80003030 80003030,80006010", *closes]


def write(tmp_path, text, name="hostile.log"):
    log = tmp_path / name
    log.write_text(text)
    return log


def sanitized_check(build_dir, *args):
    """build/tracer-asan check: the exit code the tracer chose, and no sanitizer report."""
    p = subprocess.run([str(build_dir / "tracer-asan"), "check", *map(str, args)],
                       capture_output=True, text=True, env=SANITIZED, timeout=300)
    assert p.returncode != 86 and "Sanitizer" not in p.stderr \
        and "runtime error" not in p.stderr, p.stderr[-4000:]
    return p


def test_long_op_name_and_many_live_objects_give_intact_messages_under_asan(build_dir, tmp_path):
    # each finding's message grows the string arena while the op name is being printed
    name = "op_" + "n" * 400
    log = write(tmp_path, stream(*failed_op_holding(40, name)))
    p = sanitized_check(build_dir, log)
    assert p.returncode == 1
    got = {line.split(": ", 1)[1] for line in p.stdout.splitlines()
           if "unbalanced-unwind" in line}
    assert got == {f"op {name} failed (rc -12) but left obj object {0x80100000 + k * 0x100:x}"
                   " (256 bytes) allocated at 80003010 still live" for k in range(40)}


def test_hostile_streams_are_judged_and_stored_clean_under_asan(build_dir, elf, tmp_path):
    logs = [write(tmp_path, stream(*nested_failed_ops(3 * OP_DEPTH_MAX)), "nested.log"),
            write(tmp_path, stream(*failed_op_holding(3 * OP_LIVE_MAX)), "live.log"),
            write(tmp_path, stream("op+ 1 outer 80003008", "op+ 2 inner 80003008", "op- 1 -12",
                                   "op- 2 -12", "op- 1 -12"), "unnested.log")]
    p = sanitized_check(build_dir, "--kernel", elf, "--db", tmp_path / "a.db", *logs)
    assert p.returncode == 1
    assert rows(tmp_path / "a.db", "SELECT count(*) FROM runs")[0][0] == 3


def test_failed_op_past_the_live_bound_reports_the_first_objects_and_counts_the_rest(
        build_dir, elf, tmp_path):
    db = tmp_path / "t.db"
    p = ingest(build_dir, elf, db, write(tmp_path, stream(*failed_op_holding(OP_LIVE_MAX + 5))))
    assert p.returncode == 1
    got = [f for f in findings(db) if f["class"] == "unbalanced-unwind"]
    assert [f["addr"] for f in got] == [0x80100000 + k * 0x100 for k in range(OP_LIVE_MAX)]
    run = run_row(db)
    assert (run["findings_cut"], run["events_cut"], run["ops_unjudged"]) == (5, 0, 0)
    assert "past the bounds: 5 findings and 0 events not stored" in p.stdout


def test_100000_live_objects_give_a_small_database_that_says_what_was_cut(
        build_dir, elf, tmp_path):
    n = 100_000
    db = tmp_path / "big.db"
    p = ingest(build_dir, elf, db, write(tmp_path, stream(*failed_op_holding(n))))
    assert p.returncode == 1, p.stderr
    # 4.4 MB of stream: the database holds 65,536 events and 1,000 findings, not 200,000
    assert db.stat().st_size < 8_000_000
    run = run_row(db)
    nevents = n + 5  # hello, run, op+, the allocations, op-, end
    assert run["outcome"] == "leak" and run["nevents"] == nevents
    assert run["events_cut"] == nevents - EVENTS_KEEP
    assert run["findings_cut"] == 2 * n - FINDINGS_MAX
    assert {tuple(r) for r in rows(db, "SELECT class, count(*) FROM findings GROUP BY class")} \
        == {("unbalanced-unwind", OP_LIVE_MAX), ("leak", FINDINGS_MAX - OP_LIVE_MAX)}
    assert (f"past the bounds: {2 * n - FINDINGS_MAX} findings and {nevents - EVENTS_KEEP} "
            "events not stored") in p.stdout


def test_a_long_run_keeps_its_first_and_last_events_and_their_ops(build_dir, elf, tmp_path):
    n = EVENTS_KEEP
    db = tmp_path / "t.db"
    ingest(build_dir, elf, db, write(tmp_path, stream(
        "op+ 1 first 80003008", "op- 1 0", *(alloc(k + 1, 0x80100000 + k * 0x100)
                                             for k in range(n)), "op+ 2 last 80003008",
        "op- 2 0")))
    nevents = n + 7
    seqs = [r[0] for r in rows(db, "SELECT seq FROM events ORDER BY seq")]
    assert seqs == [*range(EVENTS_KEEP // 2), *range(nevents - EVENTS_KEEP // 2, nevents)]
    assert rows(db, "SELECT kind FROM events ORDER BY seq DESC LIMIT 1")[0][0] == "end"
    assert [r[0] for r in rows(db, "SELECT name FROM ops ORDER BY id")] == ["first", "last"]
    assert run_row(db)["events_cut"] == nevents - EVENTS_KEEP


def test_cut_findings_still_decide_the_outcome(build_dir, elf, tmp_path):
    # 1,100 failed ops each leave one object that is never freed: the 1,000 findings kept are
    # all unbalanced-unwind, every leak is cut, and the run is still a leak
    n = FINDINGS_MAX + 100
    ops = [line for k in range(n) for line in
           (f"op+ {k + 1} op{k} 80003008", alloc(k + 1, 0x80100000 + k * 0x100),
            f"op- {k + 1} -12")]
    db = tmp_path / "t.db"
    p = ingest(build_dir, elf, db, write(tmp_path, stream(*ops)))
    assert p.returncode == 1
    assert {f["class"] for f in findings(db)} == {"unbalanced-unwind"}
    assert len(findings(db)) == FINDINGS_MAX
    run = run_row(db)
    assert run["outcome"] == "leak" and run["findings_cut"] == 2 * n - FINDINGS_MAX


def test_failed_ops_nested_past_the_depth_bound_are_counted_not_judged(build_dir, elf, tmp_path):
    n = OP_DEPTH_MAX + 8
    db = tmp_path / "t.db"
    p = ingest(build_dir, elf, db, write(tmp_path, stream(*nested_failed_ops(n))))
    run = run_row(db)
    assert run["ops_unjudged"] == n - OP_DEPTH_MAX
    assert run["outcome"] == "handled" and not findings(db)
    assert f"{n - OP_DEPTH_MAX} failed ops nested too deep to judge their unwind" in p.stdout


def test_100000_nested_failed_ops_are_judged_with_every_object_reported_once(
        build_dir, elf, tmp_path):
    # every op leaves its own object live: the innermost failed op around each object
    # reports it, and no op around that one reports it again
    n = 100_000
    opens = [line for k in range(n) for line in
             (f"op+ {k + 1} op{k} 80003008", alloc(k + 1, 0x80100000 + k * 0x100))]
    closes = [f"op- {k + 1} -12" for k in reversed(range(n))]
    p = tracer(build_dir, "check", "--kernel", elf, write(tmp_path, stream(*opens, *closes)))
    assert p.returncode == 1, p.stderr
    assert (f"past the bounds: {2 * n - FINDINGS_MAX} findings and "
            f"{3 * n + 3 - EVENTS_KEEP} events not stored, {n - OP_DEPTH_MAX} failed ops") \
        in p.stdout
    assert p.stdout.count("unbalanced-unwind") == FINDINGS_MAX
    assert "op op99999 failed (rc -12) but left obj object 81969f00 " in p.stdout
    assert "op op99000 failed (rc -12) but left obj object 8192b800 " in p.stdout


def test_op_end_for_an_op_its_parent_closed_is_malformed(build_dir, elf, tmp_path):
    db = tmp_path / "t.db"
    ingest(build_dir, elf, db, write(tmp_path, stream(
        "op+ 1 outer 80003008", "op+ 2 inner 80003008", "op- 1 0", "op- 2 -12")))
    assert [tuple(r) for r in rows(db, "SELECT reason, text FROM malformed")] == \
        [("op- for an op that is not open", "op- 2 -12")]
    assert [tuple(r) for r in rows(db, "SELECT id, end_seq, rc FROM ops ORDER BY id")] == \
        [(1, 4, 0), (2, None, None)]
