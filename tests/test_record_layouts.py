"""The record layouts are declared once (tracer/records.def): the tracer is built from them,
the test helpers read them, and every record the sample kernel sends fits them."""
import collections

import pytest

import harness
from tracer_support import rows, tracer

# one QEMU, a reset between runs: every record type the sample kernel sends in these
# (test-recover's first attempt fails: the one in scen_test_recover, which then recovers)
RUNS = [("all", "1000 once"), ("test-doublefree", None), ("test-wrongfree", None),
        ("test-recover", "scen_test_recover"), ("test-panic", None), ("test-trap", None)]


def test_helpers_read_the_layouts_the_tracer_is_built_with(build_dir):
    p = tracer(build_dir, "layouts")
    assert p.returncode == 0, p.stderr
    built = {}
    for line in p.stdout.splitlines():
        name, nfields, rest, *fields = line.split(" ")
        built[name] = harness.Layout(name, int(nfields), rest == "1", tuple(fields))
    assert built == harness.record_layouts()
    assert {"hello", "alloc", "end", "panic", "log"} <= set(built)


def test_record_helper_refuses_a_line_its_layout_does_not_allow():
    assert harness.record("free", 3, "obj", "80001000", "80001a70", "-") == \
        "free 3 obj 80001000 80001a70 -"
    assert harness.record("log", "free text, spaces too") == "log free text, spaces too"
    with pytest.raises(ValueError, match="free takes seq class addr pc bt"):
        harness.record("free", 3, "obj", "80001000", "80001a70")
    with pytest.raises(ValueError):
        harness.record("op-", 1, "0 extra")


@pytest.fixture(scope="module")
def kernel_stream(build_dir):
    """Every line the coverage kernel sent over RUNS, and the record types seen."""
    elf = build_dir / "kernel-cov.elf"
    with harness.Kernel(elf, timeout=60) as k:
        k.lines = collections.deque()          # keep every line, not just the latest
        k.hello()
        for i, (scenario, arm) in enumerate(RUNS):
            if i:
                k.reset()
            if arm and arm.startswith("scen_"):
                arm = "1 once lo=%x hi=%x" % harness.function_range(elf, arm)
            k.run(scenario, arm=arm)
        return list(k.lines)


def test_every_record_the_sample_kernel_sends_fits_its_layout(kernel_stream):
    kinds = collections.Counter(harness.fields_of(line)[0] for line in kernel_stream)
    want = {"hello", "ok", "run", "ckpt", "alloc", "free", "fault", "badfree", "op+", "op-",
            "ref", "result", "panic", "trap", "end", "log", "recover", "state", "acq", "rel",
            "cov", "ctx"}
    assert want <= set(kinds), want - set(kinds)


def test_every_record_the_sample_kernel_sends_is_accepted_by_the_tracer(
        build_dir, tmp_path, kernel_stream):
    log = tmp_path / "console.log"
    log.write_text("".join(line + "\n" for line in kernel_stream))
    db = tmp_path / "t.db"
    p = tracer(build_dir, "check", "--kernel", build_dir / "kernel-cov.elf", "--db", db, log)
    assert p.returncode in (0, 1), p.stdout + p.stderr
    runs = rows(db, "SELECT n, scenario, nmalformed, nevents FROM runs ORDER BY n")
    assert [r["scenario"] for r in runs] == [s for s, _ in RUNS]
    assert rows(db, "SELECT reason, text FROM malformed") == []
    # every line is an event but ctx (whose the next records are), cov (folded into the
    # run's coverage) and stk (a stack the records after it name by id)
    unstored = sum(line.split(" ", 1)[0] in ("ctx", "cov", "stk") for line in kernel_stream)
    assert sum(r["nevents"] for r in runs) == len(kernel_stream) - unstored
