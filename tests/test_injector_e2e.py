"""The injector end to end: the real kernel in real QEMU, the real tracer, a real database.

Every QEMU the injector starts writes its UART log under the test's tmp_path, so a QEMU left
behind is found by looking for tmp_path in the command lines of running processes.
"""
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zlib

import pytest

FINDINGS = {"crash", "panic", "hang", "leak", "unbalanced"}


def qemu_processes(marker):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if "qemu-system" in cmd and marker in cmd:
            found.append(int(pid))
    return found


@pytest.fixture
def work(tmp_path):
    """The test's directory; afterwards no QEMU started for it may still run."""
    yield tmp_path
    deadline = time.monotonic() + 5
    while qemu_processes(str(tmp_path)):
        if time.monotonic() > deadline:
            pids = qemu_processes(str(tmp_path))
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            pytest.fail(f"QEMU processes left behind: {pids}")
        time.sleep(0.05)


class Injector:
    def __init__(self, build_dir, kernel_elf, work):
        self.exe = str(build_dir / "injector")
        self.kernel = str(kernel_elf)
        self.work = work

    def db(self, name="f.db"):
        return str(self.work / name)

    def args(self, cmd, *extra, db="f.db"):
        return [self.exe, cmd, "--kernel", self.kernel, "--db", self.db(db), "--quiet",
                *extra]

    def __call__(self, cmd, *extra, db="f.db", timeout=120):
        return subprocess.run(self.args(cmd, *extra, db=db), capture_output=True, text=True,
                              timeout=timeout)


@pytest.fixture
def inj(build_dir, kernel_elf, work):
    return Injector(build_dir, kernel_elf, work)


def rows(db, sql, *params):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def series(db, scenario, exec_mode, fault_mode):
    """{n: (outcome, fired, attempts, nevents)} of one sweep."""
    return {n: rest for n, *rest in rows(
        db, "SELECT n, outcome, fired, attempts, nevents FROM runs WHERE scenario=? AND "
            "exec_mode=? AND fault_mode=? AND site=''", scenario, exec_mode, fault_mode)}


def check_sweep_ended_by_itself(runs):
    """N = 1..k all present, every N < k fired, k did not fire, nothing is a finding."""
    assert runs, "no runs stored"
    k = min(n for n, r in runs.items() if r[1] == 0)
    assert set(range(1, k + 1)) <= set(runs)
    assert all(runs[n][1] == 1 for n in range(1, k)), "a run below the last N did not fire"
    assert all(r[0] in ("handled", "completed") for r in runs.values()), \
        sorted({r[0] for r in runs.values()})
    assert runs[k][0] == "completed"
    return k


def stream(raw_log, raw_log_z):
    """A run's raw console stream: its log file (stored in full) or its compressed copy in
    the database (a run without findings, swept with --keep-logs all)."""
    if raw_log is None:
        return zlib.decompress(raw_log_z)
    with open(raw_log, "rb") as f:
        return f.read()


def raw_logs(db, scenario, exec_mode, fault_mode):
    """{n: raw console stream} of one sweep (swept with --keep-logs all)."""
    return {n: stream(*logs) for n, *logs in rows(
        db, "SELECT n, raw_log, raw_log_z FROM runs WHERE scenario=? AND exec_mode=? AND "
            "fault_mode=? AND site=''", scenario, exec_mode, fault_mode)}


def machines(stdout, restores=False):
    """(QEMUs started, resets, warm restarts[, snapshot restores]) from a sweep's summary."""
    line = next(ln for ln in stdout.splitlines() if ln.startswith("machines: "))
    w = line.split()
    return (int(w[1]), int(w[4]), int(w[6])) + ((int(w[9]),) if restores else ())


# a whole boot+vm sweep takes about a minute on 2 idle cores; this bounds a hung injector,
# not the sweep's speed (a loaded machine takes several times as long)
SWEEP_TIMEOUT = 900
# clean runs keep their raw console stream only when asked (compressed, in the database)
KEEP = ("--keep-logs", "all")


@pytest.mark.parametrize("guard", [(), ("--guard",)], ids=["plain", "guard-mode"])
def test_clean_kernel_sweeps_end_by_themselves_and_every_mode_agrees(inj, guard):
    r = inj("sweep", "--scenario", "boot,vm", "--mode", "reset", "--both", "-j", "2", *guard, *KEEP,
            timeout=SWEEP_TIMEOUT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "findings: 0" in r.stdout
    # snapshot mode (the plain kernel only: a restore costs more than a warm restart)
    snapshot = () if guard else ("snapshot",)
    for mode in snapshot:
        r = inj("sweep", "--scenario", "boot,vm", "--mode", mode, "--both", "-j", "2", *KEEP,
                timeout=SWEEP_TIMEOUT)
        assert r.returncode == 0, r.stdout + r.stderr
        executed = int(r.stdout.split("runs: ")[1].split()[0])
        # one QEMU per worker, booted once: every run starts from its snapshot. A QEMU that
        # broke (on a loaded machine) is replaced, and the summary says so and why.
        lost = re.search(r"machines replaced because they broke: (\d+) \(the last: .+\)",
                         r.stdout)
        lost = int(lost.group(1)) if lost else 0
        assert lost <= 1, r.stdout
        assert machines(r.stdout, restores=True) == (2 + lost, 0, 0, executed), r.stdout
    r = inj("sweep", "--scenario", "boot,vm", "--mode", "warm", "--both", "-j", "2", *guard, *KEEP,
            timeout=SWEEP_TIMEOUT)
    assert r.returncode == 0, r.stdout + r.stderr
    executed = int(r.stdout.split("runs: ")[1].split()[0])
    # every clean run is followed by a warm restart, never by a machine reset
    assert machines(r.stdout) == (2, 0, executed)
    # fresh vm costs a minute: in guard mode only boot runs fresh, and reset (a new machine
    # per run as well) is what warm is held to for vm
    fresh_scenarios = "boot" if guard else "boot,vm"
    r = inj("sweep", "--scenario", fresh_scenarios, "--mode", "fresh", "-j", "2", *guard, *KEEP,
            timeout=SWEEP_TIMEOUT)
    assert r.returncode == 0, r.stdout + r.stderr
    db = inj.db()
    for scenario in ("boot", "vm"):
        base = "fresh" if scenario in fresh_scenarios.split(",") else "reset"
        base_runs = series(db, scenario, base, "once")
        k = check_sweep_ended_by_itself(base_runs)
        for mode in tuple(m for m in ("reset", "warm") if m != base) + snapshot:
            other = series(db, scenario, mode, "once")
            assert check_sweep_ended_by_itself(other) == k
            # same outcome, same fired flag, same attempts, same stream length, for every N
            assert {n: base_runs[n] for n in range(1, k + 1)} == {n: other[n] for n in range(1, k + 1)}
            kp = check_sweep_ended_by_itself(series(db, scenario, mode, "persist"))
        # and byte for byte the same console stream: nothing carries over a warm restart or
        # a restore, and no byte of the run before a restore leaks into the next
        for fault_mode, want_mode, last in (("once", base, k), ("persist", "reset", kp)):
            want = raw_logs(db, scenario, want_mode, fault_mode)
            for mode in ("warm",) + snapshot:
                got = raw_logs(db, scenario, mode, fault_mode)
                assert all(got[n] == want[n] for n in range(1, last + 1)), (scenario, mode)
    assert f"sweep {fresh_scenarios.split(',')[-1]} once: ended at N=" in r.stdout
    # every run's raw console stream is kept
    for logs in rows(db, "SELECT raw_log, raw_log_z FROM runs"):
        lines = stream(*logs).decode().splitlines(keepends=True)
        assert lines[0].startswith("hello faultline 2 ")
        assert (lines[1] == "ok guard\n") == bool(guard)


def test_warm_mode_resets_the_machine_after_every_run_that_was_not_clean(inj):
    r = inj("sweep", "--scenario", "test-scribble,test-leak,boot,test-panic", "--mode", "warm",
            "-j", "1")
    assert r.returncode == 1, r.stdout + r.stderr
    runs = rows(inj.db(), "SELECT scenario, outcome FROM runs")
    dirty = sum(o not in ("handled", "completed") for _, o in runs)
    assert dirty >= 2 and {"leak", "panic"} <= {o for _, o in runs}
    # a test-scribble run that got past kernel init (it allocates nothing itself, so the one
    # that completed) is clean, but the kernel refuses to restart over its changed image:
    # the injector resets instead
    scribbled = sum(s == "test-scribble" and o == "completed" for s, o in runs)
    assert scribbled == 1
    assert machines(r.stdout) == (1, dirty + scribbled, len(runs) - dirty - scribbled)


def test_snapshot_mode_restores_after_a_hang_a_panic_and_a_leak_on_the_same_qemu(inj):
    # --site mstart counts no allocation: every scenario runs to its end (or hangs) at N=1
    r = inj("sweep", "--scenario", "test-hang,test-panic,test-leak,boot", "--site", "mstart",
            "--mode", "snapshot", "--timeout", "1", "-j", "1", "--no-analysis")
    assert r.returncode == 1, r.stdout + r.stderr
    runs = dict(rows(inj.db(), "SELECT scenario, outcome FROM runs"))
    assert runs == {"test-hang": "hang", "test-panic": "panic", "test-leak": "leak",
                    "boot": "completed"}
    assert machines(r.stdout, restores=True) == (1, 0, 0, 4)
    # the summary says what a restore costs (a run's own time ends at its end record)
    each = re.search(r"4 snapshot restores \(([0-9.]+) ms each\)", r.stdout)
    assert each and 0 < float(each.group(1)) < 10_000, r.stdout


KILLING_QEMU = """#!/bin/sh
# the first machine this starts is killed from outside (SIGKILL) once the sweep has stored
# some runs; whatever it is doing then (running, being restored or restarted) is chance
case "$*" in *-version*) exec {qemu} "$@";; esac
if mkdir {flag} 2>/dev/null; then
    (exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; exec {python} {killer} $$) &
fi
exec {qemu} "$@"
"""
KILLER = """import os, sqlite3, sys, time
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        if sqlite3.connect({db!r}).execute("SELECT count(*) FROM runs").fetchone()[0] >= 10:
            break
    except sqlite3.Error:
        pass
    time.sleep(0.01)
os.kill(int(sys.argv[1]), 9)
"""


@pytest.mark.parametrize("mode,runs", [("snapshot", 80), ("warm", 300)])
def test_a_qemu_killed_from_outside_is_replaced_and_the_sweep_is_as_if_it_never_happened(
        inj, tmp_path, mode, runs):
    killer, wrapper = tmp_path / "killer.py", tmp_path / "killing-qemu"
    killer.write_text(KILLER.format(db=inj.db()))
    wrapper.write_text(KILLING_QEMU.format(qemu=shutil.which("qemu-system-riscv64"),
                                           flag=tmp_path / "killed", python=sys.executable,
                                           killer=killer))
    wrapper.chmod(0o755)
    r = inj("sweep", "--scenario", "vm", "--mode", mode, "--max-n", str(runs), "-j", "1",
            "--qemu", str(wrapper), "--no-analysis")
    assert (tmp_path / "killed").exists(), r.stdout + r.stderr
    # whatever the machine was doing when it died, no run is blamed on the kernel: each one
    # is stored once, handled
    assert rows(inj.db(), "SELECT outcome, count(*) FROM runs GROUP BY outcome") == \
        [("handled", runs)], r.stdout + r.stderr
    assert machines(r.stdout)[0] == 2, r.stdout
    assert re.search(r"machines replaced because they broke: 1 \(the last: .*(QEMU|QMP)",
                     r.stdout), r.stdout


def test_leak_scenario_is_flagged_as_leak_in_its_function(inj):
    r = inj("run", "--scenario", "test-leak", "--fail", "1000000")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "outcome: leak" in r.stdout
    found = rows(inj.db(), "SELECT f.class, f.func FROM findings f JOIN runs r ON f.run = r.id"
                           " WHERE r.scenario = 'test-leak'")
    assert ("leak", "scen_test_leak") in found


def test_double_free_scenario_is_flagged_as_double_free(inj):
    r = inj("run", "--scenario", "test-doublefree", "--fail", "1000000", "--mode", "reset")
    assert r.returncode == 1, r.stdout + r.stderr
    found = rows(inj.db(), "SELECT f.class, f.func FROM findings f")
    assert ("double-free", "scen_test_doublefree") in found


def test_hanging_guest_is_killed_and_recorded_as_hang_within_its_timeout(inj):
    t0 = time.monotonic()
    r = inj("run", "--scenario", "test-hang", "--fail", "1000000", "--timeout", "1")
    elapsed = time.monotonic() - t0
    assert r.returncode == 1, r.stdout + r.stderr
    assert "outcome: hang" in r.stdout
    assert elapsed < 4, elapsed
    assert rows(inj.db(), "SELECT outcome, ended FROM runs") == [("hang", 0)]


def test_hang_sweep_in_reset_mode_replaces_the_hung_qemu_and_stops(inj):
    # every N hangs before the fault is reached: the sweep must stop on its own
    r = inj("sweep", "--scenario", "test-hang", "--mode", "reset", "--timeout", "0.5",
            "-j", "1")
    assert r.returncode == 1, r.stdout + r.stderr
    outcomes = rows(inj.db(), "SELECT n, outcome FROM runs ORDER BY n")
    assert outcomes[-1][1] == "hang"
    # N within kernel init (which grows with its subsystems) fails init cleanly; past it,
    # every run hangs, and the sweep stops at the first N whose fault did not fire
    assert len(outcomes) < 40


def test_run_prints_site_log_path_repro_and_the_raw_stream(inj):
    r = inj("run", "--scenario", "vm", "--fail", "3", "--print-log")
    assert r.returncode == 0, r.stdout + r.stderr
    head, _, stream = r.stdout.partition("--- raw log ")
    assert "outcome: handled" in head
    site = next(l for l in head.splitlines() if l.startswith("fault site: "))
    assert ".c:" in site                      # function (file:line)
    log = next(l for l in head.splitlines() if l.startswith("raw log: "))[9:]
    assert os.path.exists(log)
    repro = next(l for l in head.splitlines() if l.startswith("repro: "))[7:]
    assert "--fail 3" in repro and "--scenario vm" in repro
    lines = stream.splitlines()[1:]
    assert lines[0].startswith("hello faultline 2 ")
    assert any(l.startswith("fault ") for l in lines)
    assert any(l.startswith("end 1 ") for l in lines)
    # the repro command reproduces the same run
    again = subprocess.run(repro.split(), capture_output=True, text=True, timeout=60)
    assert again.returncode == 0
    assert site in again.stdout


def test_by_site_injects_every_allocation_site_occurrence_of_the_reference_run(inj):
    r = inj("sweep", "--scenario", "boot", "--by-site", "--mode", "reset")
    assert r.returncode == 0, r.stdout + r.stderr
    db = inj.db()
    # the allocations the reference run recorded (a device check that succeeds leaves none)
    (allocations,), = rows(db, "SELECT count(*) FROM events e JOIN runs r ON e.run = r.id "
                               "WHERE r.fault_mode='none' AND e.kind IN ('alloc', 'oom')")
    sites = rows(db, "SELECT site, n, site_lo, site_hi, fired, fault_pc FROM runs "
                     "WHERE site LIKE 'pc:%'")
    assert len(sites) == allocations > 0
    assert len({(s[0], s[1]) for s in sites}) == allocations
    for site, n, lo, hi, fired, fault_pc in sites:
        assert hi == lo + 1 and site == f"pc:{lo:x}"
        assert fired == 1 and fault_pc == lo


def test_site_filter_only_fails_allocations_called_from_that_function(inj):
    r = inj("sweep", "--scenario", "vm", "--site", "vm_walk_level", "--mode", "reset")
    assert r.returncode == 0, r.stdout + r.stderr
    db = inj.db()
    (lo, hi), = rows(db, "SELECT lo, hi FROM symbols WHERE name='vm_walk_level'")
    fired = rows(db, "SELECT fault_pc FROM runs WHERE site='vm_walk_level' AND fired=1")
    assert fired
    assert all(lo <= pc < hi for (pc,) in fired)


def wait_for_runs(db, count, proc, limit=60):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        try:
            if rows(db, "SELECT count(*) FROM runs")[0][0] >= count:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    pytest.fail("the sweep made no progress")


def test_sweep_killed_with_sigkill_resumes_without_redoing_finished_runs(inj, work):
    args = inj.args("sweep", "--scenario", "vm", "--mode", "reset", "-j", "2")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for_runs(inj.db(), 12, proc)
    proc.kill()
    proc.communicate()
    # QEMU dies with the injector (PR_SET_PDEATHSIG)
    deadline = time.monotonic() + 5
    while qemu_processes(str(work)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not qemu_processes(str(work))
    db = inj.db()
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    before = dict(rows(db, "SELECT n, id FROM runs"))
    assert len(before) >= 12
    # resume: finished runs are skipped (not redone), the rest is done, the end is found
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    k = check_sweep_ended_by_itself(series(db, "vm", "reset", "once"))
    skipped = int(r.stdout.split(" already in the database")[0].rsplit(" ", 1)[1])
    assert skipped == len([n for n in before if n <= k])
    after = dict(rows(db, "SELECT n, id FROM runs"))
    assert all(after[n] == before[n] for n in before)   # the stored rows were kept
    # a third run finds everything done and runs nothing
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert "runs: 0 executed" in r.stdout
    assert f"ended at N={k}" in r.stdout


def test_sigint_stops_the_sweep_kills_qemu_and_leaves_a_sound_database(inj, work):
    args = inj.args("sweep", "--scenario", "vm", "--mode", "reset", "--both", "-j", "2")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_runs(inj.db(), 4, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "interrupted" in err
    assert not qemu_processes(str(work))
    assert rows(inj.db(), "PRAGMA integrity_check") == [("ok",)]
    assert all(o in ("handled", "completed") for (o,) in rows(inj.db(),
                                                              "SELECT outcome FROM runs"))


def test_scenario_all_sweeps_every_scenario_but_the_test_only_ones(inj, build_dir, kernel_elf):
    listed = subprocess.run([str(build_dir / "injector"), "scenarios", "--kernel",
                             str(kernel_elf)], capture_output=True, text=True).stdout.split()
    r = inj("sweep", "--scenario", "all", "--mode", "reset", "--max-n", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    swept = {s for (s,) in rows(inj.db(), "SELECT DISTINCT scenario FROM runs")}
    # nor the kernel's own `all`, which only repeats the others in one run
    assert "all" in listed
    assert swept == {s for s in listed if not s.startswith("test-") and s != "all"}
    assert "stopped at --max-n 1" in r.stdout


def test_run_all_injects_into_the_kernels_own_all_scenario(inj):
    # a sweep's `all` means every scenario one by one; `run --scenario all` is the kernel's
    # own scenario that runs them all in one run, so N can reach past any single one
    r = inj("run", "--scenario", "all", "--fail", "700", "--mode", "reset")
    assert r.returncode == 0, r.stderr
    assert "run: all reset once N=700" in r.stdout
    assert "outcome: handled" in r.stdout
