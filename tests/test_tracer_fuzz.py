"""Property: whatever bytes arrive, build/tracer never crashes (exit 0, 1 or 2, never a
signal) and leaves a database that passes PRAGMA integrity_check."""
import os
import pathlib
import sqlite3
import subprocess
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tracer_support import DATA

SEED_LOGS = [DATA / f"tracer-{n}.log" for n in
             ("clean", "double-free", "endings", "refcount", "unwind-swapped", "swallowed",
              "stacks")]
SEEDS = [p.read_bytes() for p in SEED_LOGS]
TOKENS = [b"hello faultline 1 ", b"hello faultline 2 ", b"stk 0 8,9\n", b" @0", b"stk ff ",
          b"@100", b"op+ 1 f 8", b"op- 1 -1", b"alloc 1 obj ", b"free 1 page ",
          b"badfree 1 double obj ", b"ref put k 1 -1 8", b"ckpt end ", b"end 1 ",
          b"panic unexpected 8 - ", b"trap 1 2 3 ", b"recover 8 8,9", b"\n", b"\r\n", b"\x00",
          b",", b" ", b"ffffffffffffffffff", b"-9223372036854775808", b"x" * 600]


def audit(build_dir, tmp_path, inputs, chunk):
    """One process audits every input (one log file each) into one fresh database."""
    db = tmp_path / "f.db"
    for p in (db, tmp_path / "f.db-wal", tmp_path / "f.db-shm"):
        p.unlink(missing_ok=True)
    logs = []
    for i, data in enumerate(inputs):
        logs.append(tmp_path / f"f{i}.log")
        logs[-1].write_bytes(data)
    p = subprocess.run([str(build_dir / "tracer"), "check", "--quiet", "--db", str(db),
                        "--chunk", str(chunk), *map(str, logs)], capture_output=True, timeout=60)
    assert p.returncode in (0, 1, 2), (p.returncode, p.stderr[-2000:])
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        nruns = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    finally:
        con.close()
    assert nruns >= len(inputs)  # every log gives at least one run


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.integers(0, 4))
        pos = draw(st.integers(0, len(data)))
        if op == 0 and data:  # flip a byte
            i = min(pos, len(data) - 1)
            data[i] = draw(st.integers(0, 255))
        elif op == 1:  # insert a token
            data[pos:pos] = draw(st.sampled_from(TOKENS))
        elif op == 2:  # cut a range
            data[pos:pos + draw(st.integers(0, 40))] = b""
        elif op == 3:  # duplicate a range (repeated records, repeated hello)
            data[pos:pos] = data[pos:pos + draw(st.integers(0, 200))]
        else:  # random bytes
            data[pos:pos] = draw(st.binary(max_size=64))
    return bytes(data)


# 12 examples x 16 inputs: about 200 inputs in 12 processes
FAST = settings(max_examples=12, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def scratch():
    """A memory-backed directory when there is one: each example writes a fresh database."""
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=shm) as d:
        yield pathlib.Path(d)


@FAST
@given(inputs=st.lists(st.binary(max_size=2048), min_size=16, max_size=16),
       chunk=st.sampled_from([1, 3, 4096]))
def test_random_bytes_never_crash_the_tracer(build_dir, scratch, inputs, chunk):
    audit(build_dir, scratch, inputs, chunk)


@FAST
@given(inputs=st.lists(mutated(), min_size=16, max_size=16),
       chunk=st.sampled_from([1, 5, 4096]))
def test_mutated_logs_never_crash_the_tracer(build_dir, scratch, inputs, chunk):
    audit(build_dir, scratch, inputs, chunk)
