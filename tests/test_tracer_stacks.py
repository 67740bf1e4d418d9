"""Protocol 2's stack ids: a backtrace sent once per run as `stk <id> <bt>` and named `@<id>`
after that reads back as the same frames, stacks and findings as the inline backtraces of
protocol 1; a saved version-1 capture still ingests; hostile ids are malformed, never
guessed."""
import re

import pytest

from harness import Kernel
from tracer_support import DATA, HELLO, build_mini_elf, ingest, rows, stack, tracer

# the records whose last field is a backtrace (panic's is followed by its message)
WITH_BT = {"alloc", "free", "fault", "oom", "badfree", "recover", "acq", "rel", "poison"}


def as_v2(text):
    """A version-1 stream said in version 2: each run's first use of a backtrace sends it as
    `stk`, every use names it `@<id>`."""
    out, ids = [], {}
    for line in text.splitlines():
        w = line.split(" ")
        if w[0] in ("hello", "run"):
            ids = {}
        if w[0] == "hello":
            w[2] = "2"
        if w[0] in WITH_BT and w[-1] != "-":
            if w[-1] not in ids:
                ids[w[-1]] = len(ids)
                out.append(f"stk {ids[w[-1]]:x} {w[-1]}")
            w[-1] = f"@{ids[w[-1]]:x}"
        out.append(" ".join(w))
    return "\n".join(out) + "\n"


def as_v1(text):
    """A version-2 stream with every `@<id>` replaced by the frames its `stk` gave."""
    out, frames = [], {}
    for line in text.splitlines():
        w = line.split(" ")
        if w[0] == "stk":
            frames[w[1]] = w[2]
            continue
        if w[0] == "hello":
            w[2] = "1"
        if w[0] in WITH_BT and w[-1].startswith("@"):
            w[-1] = frames[w[-1][1:]]
        out.append(" ".join(w))
    return "\n".join(out) + "\n"


def check(build_dir, tmp_path, name, text, *opts):
    """`tracer check` of one log: (its report lines, the database it wrote)."""
    log, db = tmp_path / name, tmp_path / (name + ".db")
    log.write_text(text)
    p = tracer(build_dir, "check", "--db", db, *opts, log)
    assert p.returncode in (0, 1), p.stderr
    return [l.replace(str(log), "LOG") for l in p.stdout.splitlines()], db


def finding_stacks(db):
    return [(f["class"], f["func"], f["pc"], stack(db, f["alloc_stack"]),
             stack(db, f["free_stack"]), stack(db, f["bad_stack"]))
            for f in rows(db, "SELECT * FROM findings ORDER BY id")]


def test_saved_v1_capture_of_the_real_kernel_still_gives_its_leak(build_dir, tmp_path):
    """tests/data/v1-test-leak.log: the sample kernel's `run test-leak` as protocol 1 sent it."""
    out, db = check(build_dir, tmp_path, "v1.log", (DATA / "v1-test-leak.log").read_text())
    assert out[0] == "LOG run 1: scenario test-leak: leak, fired 0, 69 events, 0 malformed"
    assert out[1] == ("  leak [error] in ?: 64 bytes (obj) at 8020e150 allocated at 80106c98 "
                      "not freed by the end checkpoint")
    assert finding_stacks(db)[0][3] == "80106c98,80100d80,801011ac,801072da,8010413a"


@pytest.mark.parametrize("log", ["v1-test-leak.log", "tracer-double-free.log",
                                 "tracer-unbalanced.log", "tracer-resource.log"])
def test_stack_ids_read_back_as_the_inline_backtraces_they_stand_for(build_dir, tmp_path, log):
    v1 = (DATA / log).read_text()
    v2 = as_v2(v1)
    assert "stk 0 " in v2 and " @0" in v2
    out1, db1 = check(build_dir, tmp_path, "a.log", v1)
    out2, db2 = check(build_dir, tmp_path, "b.log", v2)
    assert out2 == out1
    assert finding_stacks(db2) == finding_stacks(db1)
    q = "SELECT e.seq, e.kind, e.pc, s.pcs FROM events e LEFT JOIN stacks s ON s.id = e.stack"
    assert [tuple(r) for r in rows(db2, q + " ORDER BY e.seq")] == \
        [tuple(r) for r in rows(db1, q + " ORDER BY e.seq")]


def test_findings_are_named_the_same_from_either_version_with_the_elf(build_dir, tmp_path):
    elf = build_mini_elf(tmp_path)
    v1 = (DATA / "tracer-leak.log").read_text()
    for name, text in (("a", v1), ("b", as_v2(v1))):
        (tmp_path / f"{name}.log").write_text(text)
        p = ingest(build_dir, elf, tmp_path / f"{name}.db", tmp_path / f"{name}.log")
        assert p.returncode == 1, p.stderr
    assert finding_stacks(tmp_path / "b.db") == finding_stacks(tmp_path / "a.db") != []


RUN = HELLO.replace("faultline 1", "faultline 2") + "run vm\n"
TAIL = "ckpt end 0 0 0 0\nresult vm 0\nend 0 1 0\n"
HOSTILE = [
    ("alloc 1 obj 80001000 8 80001010 @5", "backtrace names an undefined stack id"),
    ("stk 0 80001010,80003b10\nstk 0 80001010", "stk: id already defined"),
    ("stk 100 80001010", "stk: bad id or past the table"),
    ("stk zz 80001010", "stk: bad id or past the table"),
    ("alloc 1 obj 80001000 8 80001010 @100", "alloc: bad backtrace"),
    ("alloc 1 obj 80001000 8 80001010 @", "alloc: bad backtrace"),
    ("free 1 obj 80001000 80001010 @-1", "free: bad backtrace"),
    ("stk 1 -", "stk: bad backtrace"),
    ("stk 1 @0", "stk: bad backtrace"),
    ("stk 1 1,2,3,4,5,6,7,8,9", "stk: bad backtrace"),
    ("stk 1", "missing field"),
]


@pytest.mark.parametrize("bad,why", HOSTILE, ids=[w for _, w in HOSTILE])
def test_hostile_stack_ids_are_malformed_with_their_reason(build_dir, tmp_path, bad, why):
    _, db = check(build_dir, tmp_path, "h.log", RUN + bad + "\n" + TAIL)
    assert [r["reason"] for r in rows(db, "SELECT reason FROM malformed")] == [why]
    assert rows(db, "SELECT outcome FROM runs")[0][0] == "completed"
    assert rows(db, "SELECT count(*) FROM events WHERE kind = 'alloc'")[0][0] == 0


def test_stack_ids_are_forgotten_at_the_next_run(build_dir, tmp_path):
    first = RUN + "stk 0 80001010\nalloc 1 obj 80001000 8 80001010 @0\n" + TAIL
    second = RUN + "alloc 1 obj 80001000 8 80001010 @0\n" + TAIL
    _, db = check(build_dir, tmp_path, "two.log", first + second)
    assert [r["reason"] for r in rows(db, "SELECT reason FROM malformed")] == \
        ["backtrace names an undefined stack id"]
    assert rows(db, "SELECT count(*) FROM events WHERE kind = 'alloc'")[0][0] == 1


def test_kernel_sends_each_stack_once_and_its_stream_reads_as_inline_backtraces(
        build_dir, kernel_elf, tmp_path):
    with Kernel(kernel_elf) as k:
        version, build_id = k.hello()
        recs = k.run("test-leak")
    assert version == 2
    head = f"hello faultline {version} {build_id}\n"
    defined = [r.split(" ")[1] for r in recs if r.startswith("stk ")]
    assert defined == [f"{i:x}" for i in range(len(defined))] and len(defined) > 3
    used = [w[-1][1:] for w in (r.split(" ") for r in recs) if w[-1].startswith("@")]
    assert len(used) > len(defined) and set(used) == set(defined)
    assert not any(re.search(r" [0-9a-f]+,[0-9a-f,]+$", r) for r in recs
                   if r.split(" ")[0] in WITH_BT)
    v2 = head + "\n".join(recs) + "\n"
    out2, db2 = check(build_dir, tmp_path, "k2.log", v2, "--kernel", kernel_elf)
    out1, db1 = check(build_dir, tmp_path, "k1.log", as_v1(v2), "--kernel", kernel_elf)
    assert out2 == out1 and "leak [error] in scen_test_leak" in "\n".join(out2)
    assert finding_stacks(db2) == finding_stacks(db1)
