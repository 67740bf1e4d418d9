"""build/kernel-norec.elf, the limit `make bench` measures recording against: the same kernel
with recording off sends only what drives a sweep, and a sweep of it fires the same faults
and ends at the same N as a sweep of build/kernel.elf."""
import sqlite3
import subprocess

import pytest

from harness import Kernel


@pytest.fixture(scope="module")
def norec_elf(build_dir):
    p = build_dir / "kernel-norec.elf"
    assert p.exists(), f"{p} missing: run `make` first"
    return p


def record_types(elf, scenario, arm):
    with Kernel(elf) as k:
        k.hello()
        return {line.split(" ", 1)[0] for line in k.run(scenario, arm)}


def test_recording_off_sends_the_fault_and_the_run_frame_but_no_event_records(kernel_elf,
                                                                               norec_elf):
    on = record_types(kernel_elf, "test-leak", "2 once")
    off = record_types(norec_elf, "test-leak", "2 once")
    events = {"alloc", "free", "op+", "op-", "ref", "state", "acq", "rel", "ctx"}
    assert {"alloc", "free", "op+"} <= on        # the recording kernel sends them in this run
    assert not events & off
    assert {"run", "ckpt", "fault", "result", "end"} <= off


def fired_by_n(build_dir, elf, db):
    r = subprocess.run([str(build_dir / "injector"), "sweep", "--kernel", str(elf),
                        "--scenario", "test-leak", "--mode", "reset", "-j", "2", "--quiet",
                        "--no-analysis", "--db", str(db)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT n, fired FROM runs"))
    finally:
        con.close()


def test_a_sweep_with_recording_off_fires_the_same_faults_and_ends_at_the_same_n(
        build_dir, kernel_elf, norec_elf, tmp_path):
    on = fired_by_n(build_dir, kernel_elf, tmp_path / "on.db")
    off = fired_by_n(build_dir, norec_elf, tmp_path / "off.db")
    # with -j 2 a run past the end may already be under way when the end is seen
    first_quiet = min(n for n, fired in on.items() if not fired)
    assert first_quiet > 1
    assert min(n for n, fired in off.items() if not fired) == first_quiet
    assert {n for n, fired in off.items() if fired} == set(range(1, first_quiet))
    assert {n for n, fired in on.items() if fired} == set(range(1, first_quiet))
