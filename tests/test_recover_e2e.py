"""Swallowed failures and marked recoveries on the real kernel in QEMU: the test-only
scenarios test-swallow and test-recover fall back to a single page when a 4-page buffer
cannot be had; only test-recover marks the fallback with FL_RECOVER()."""
import sqlite3
import subprocess

import pytest


@pytest.fixture
def inject(build_dir, kernel_elf, tmp_path):
    db = tmp_path / "f.db"

    def run(scenario, mode="fresh"):
        site = "scen_" + scenario.replace("-", "_")
        p = subprocess.run([str(build_dir / "injector"), "run", "--kernel", str(kernel_elf),
                            "--db", str(db), "--quiet", "--scenario", scenario, "--fail", "1",
                            "--site", site, "--mode", mode],
                           capture_output=True, text=True, timeout=120)
        con = sqlite3.connect(db)
        try:
            run_id, outcome = con.execute("SELECT id, outcome FROM runs WHERE scenario = ? "
                                          "AND exec_mode = ?", (scenario, mode)).fetchone()
            found = con.execute("SELECT class, func FROM findings WHERE run = ?",
                                (run_id,)).fetchall()
            recovers = con.execute("SELECT f.func FROM events e JOIN frames f ON f.pc = e.pc "
                                   "WHERE e.run = ? AND e.kind = 'recover'",
                                   (run_id,)).fetchall()
        finally:
            con.close()
        return p, outcome, found, [r[0] for r in recovers]
    return run


@pytest.mark.parametrize("mode", ["fresh", "warm"])
def test_unmarked_fallback_after_a_failed_allocation_is_error_swallowed(inject, mode):
    p, outcome, found, recovers = inject("test-swallow", mode)
    assert p.returncode == 1, p.stdout + p.stderr
    assert outcome == "swallowed"
    assert found == [("error-swallowed", "scen_test_swallow")]
    assert recovers == []


@pytest.mark.parametrize("mode", ["fresh", "warm"])
def test_fallback_marked_as_recovery_is_handled_not_reported(inject, mode):
    p, outcome, found, recovers = inject("test-recover", mode)
    assert p.returncode == 0, p.stdout + p.stderr
    assert outcome == "handled"
    assert found == []
    assert recovers == ["scen_test_recover"]
