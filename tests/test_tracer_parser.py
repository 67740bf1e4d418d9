"""The record parser on untrusted bytes: malformed input is counted and kept, never fatal,
and never costs the valid records around it; lines split or merged across reads parse the
same."""
import pytest

from harness import record
from tracer_support import DATA, HELLO, rows, tracer

# written by the layouts of tracer/records.def: a line the protocol does not allow is refused
VALID = [
    record("ok", "arm"),
    record("run", "vm"),
    record("ckpt", "baseline", 0, 0, 0, 0),
    record("op+", 1, "kvm_init", "80001a2c"),
    record("alloc", 1, "page", "80234000", 4096, "80001a54", "80001a54,80003b10,80000f2c"),
    record("free", 1, "page", "80234000", "80001a70", "-"),
    record("state", "end", "map", "1f00", -12, "80001a70"),
    record("op-", 1, 0),
    record("log", "x" * (511 - 4)),  # exactly 512 bytes with its newline: the longest legal line
    record("acq", "virtio-desc", "80148000", "80001a54", "80001a54,80003b10"),
    record("rel", "virtio-desc", "80148000", "80001a70", "-"),
    record("ckpt", "end", 0, 0, 0, 0),
    record("result", "vm", 0),
    record("end", 0, 1, 0),
]

BAD = [
    (b"\x00\x01\x02garbage\xff", "non-printable byte"),
    (b"alloc 1 page 80234000 4096 80001a54", "missing field"),
    (b"free 1 page 80234000 80001a70 - extra", "extra field"),
    (b"alloc 1 page 8023400G 4096 80001a54 -", "alloc: bad field"),
    (b"alloc 1 page 80234000 4096 80001A54 -", "alloc: bad field"),  # hex is lowercase
    (b"free 1 page  80234000 80001a70 -", "empty field (double or trailing space)"),
    (b"frobnicate 1 2 3", "unknown record type"),
    (b"alloc 1 page 80234000 4096 80001a54 1,2,3,4,5,6,7,8,9", "alloc: bad backtrace"),
    (b"op- 7 0", "op- for an op that is not open"),
    (b"log " + b"y" * 508, "oversized"),  # 513 bytes with its newline
    (b"z" * 5000, "oversized"),
    (b"ok arm\x00", "non-printable byte"),
    (b"", "empty line"),
    (b"state end map 1F00 -12 80001a70", "state: bad field"),  # hex is lowercase
    (b"acq pid 7 80001a54", "missing field"),
    (b"rel pid 7G 80001a70 -", "acq/rel: bad field"),
    (b"acq pid 7 80001a54 1,2,3,4,5,6,7,8,9", "acq/rel: bad backtrace"),
    (b"poison obj 80234100 -4 80001a70 -", "poison: bad field"),
    (b"poison page 80234100 4 80001a70", "missing field"),
]


def build_log(crlf=False):
    """Junk before hello, then valid records with a bad line after each, then a truncated
    final line. Returns (bytes, expected malformed count)."""
    nl = b"\r\n" if crlf else b"\n"
    out = [b"stale bytes before the handshake", b"\x1b[2Jmore noise", HELLO.strip().encode()]
    for i, v in enumerate(VALID):
        if i < len(BAD):
            out.append(BAD[i][0])
        out.append(v.encode())
    out.extend(b for b, _ in BAD[len(VALID):])
    data = nl.join(out) + nl + b"alloc 9 obj 80001000 6"  # no newline: truncated
    return data, 2 + len(BAD) + 1


def check_db(build_dir, tmp_path, data, *opts, name="p.log"):
    log = tmp_path / name
    log.write_bytes(data)
    db = tmp_path / (name + ".db")
    p = tracer(build_dir, "check", "--db", db, *opts, log)
    assert p.returncode in (0, 1), p.stderr
    return db


@pytest.mark.parametrize("chunk", ["1", "7", "4096", "1000000"])
def test_malformed_lines_are_counted_and_valid_ones_around_them_kept(build_dir, tmp_path,
                                                                     chunk):
    data, nbad = build_log()
    db = check_db(build_dir, tmp_path, data, "--chunk", chunk)
    run = rows(db, "SELECT * FROM runs")[0]
    assert run["nmalformed"] == nbad
    kinds = [r["kind"] for r in rows(db, "SELECT kind FROM events ORDER BY seq")]
    assert kinds == ["hello"] + [v.split()[0] for v in VALID]
    assert run["outcome"] == "completed" and run["ended"] == 1
    bad = rows(db, "SELECT * FROM malformed ORDER BY lineno")
    reasons = [b["reason"] for b in bad]
    assert reasons[:2] == ["before hello", "before hello"]
    assert reasons[2:-1] == [why for _, why in BAD]
    assert reasons[-1] == "truncated"
    # kept escaped: no raw control bytes reach the database
    assert bad[2]["text"] == "\\x00\\x01\\x02garbage\\xff"
    assert all(ch.isprintable() for b in bad for ch in b["text"])
    assert bad[1]["lineno"] == 2 and bad[2]["lineno"] == 4


def test_split_at_every_byte_stores_the_same_as_one_read(build_dir, tmp_path):
    data = (DATA / "tracer-clean.log").read_bytes()
    one = check_db(build_dir, tmp_path, data, "--chunk", "1000000", name="a.log")
    each = check_db(build_dir, tmp_path, data, "--chunk", "1", name="b.log")
    q = "SELECT seq, kind, kseq, class, addr, size, pc, op, rc, name, text FROM events ORDER BY seq"
    assert [tuple(r) for r in rows(one, q)] == [tuple(r) for r in rows(each, q)]
    assert len(rows(one, q)) == len(data.splitlines())


def test_crlf_line_endings_are_accepted(build_dir, tmp_path):
    data, nbad = build_log(crlf=True)
    db = check_db(build_dir, tmp_path, data)
    assert rows(db, "SELECT nmalformed FROM runs")[0][0] == nbad
    assert rows(db, "SELECT count(*) FROM events")[0][0] == 1 + len(VALID)


def test_at_most_100_malformed_lines_are_kept_but_all_are_counted(build_dir, tmp_path):
    data = HELLO.encode() + b"garbage\n" * 150 + b"end 0 0 0\n"
    db = check_db(build_dir, tmp_path, data)
    assert rows(db, "SELECT nmalformed FROM runs")[0][0] == 150
    assert rows(db, "SELECT count(*) FROM malformed")[0][0] == 100
    assert rows(db, "SELECT count(*) FROM events")[0][0] == 2


def test_records_after_end_and_repeated_hello_are_out_of_place(build_dir, tmp_path):
    data = (HELLO + "end 0 0 0\nok reset\nalloc 1 obj 80001000 8 80001010 -\n").encode()
    db = check_db(build_dir, tmp_path, data)
    assert [r["reason"] for r in rows(db, "SELECT reason FROM malformed")] == \
        ["record after end"]
    assert [r["kind"] for r in rows(db, "SELECT kind FROM events ORDER BY seq")] == \
        ["hello", "end", "ok"]


def test_stream_without_hello_is_infra_and_counts_every_line(build_dir, tmp_path):
    log = tmp_path / "nohello.log"
    log.write_bytes(b"alloc 1 obj 80001000 8 80001010 -\nnoise\n")
    db = tmp_path / "n.db"
    p = tracer(build_dir, "check", "--db", db, log)
    assert p.returncode == 2
    run = rows(db, "SELECT * FROM runs")[0]
    assert run["outcome"] == "infra" and run["infra_reason"].startswith("no hello")
    assert run["nmalformed"] == 2 and run["nevents"] == 0


def test_io_is_a_fault_class_only_and_no_memory_record_may_name_it(build_dir, tmp_path):
    """A device fault (class io) is stored as a fault of that class; an allocator record
    naming io would put a device operation in the memory books, so it is malformed."""
    data = (HELLO + "run blk\nfault 3 io 0 80001a54 80001a54,80003b10\n"
            "alloc 4 io 80234000 4096 80001a54 -\nfree 4 io 80234000 80001a70 -\n"
            "badfree 4 double io 80234000 80001a70 -\npoison io 80234100 4 80001a70 -\n"
            "fault 5 disk 0 80001a54 -\nresult blk -5\nend 0 5 1\n").encode()
    db = check_db(build_dir, tmp_path, data)
    faults = rows(db, "SELECT class, size FROM events WHERE kind = 'fault'")
    assert [tuple(f) for f in faults] == [("io", 0)]
    assert [r["reason"] for r in rows(db, "SELECT reason FROM malformed ORDER BY lineno")] == \
        ["alloc: bad field", "free: bad field", "badfree: bad field", "poison: bad field",
         "fault/oom: bad field"]
