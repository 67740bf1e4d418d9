"""The injector and its database, end to end (real kernel, real QEMU): one injector per
database at a time, a sweep that ran to its end is recorded as finished and an interrupted
one is not, and a disk that fills up while the kernel is copied is named as full."""
import re
import signal
import subprocess
import time

import pytest

from analysis.db import Database
from conftest import needs_mount
from test_injector_e2e import inj, rows, wait_for_runs, work  # noqa: F401 (fixtures)
from tracer_support import as_version_5

# a sweep that runs to its end (the fault stops firing) and one stopped at --max-n
TO_THE_END = ("sweep", "--scenario", "proc", "--mode", "warm", "-j", "2")
SWEEP = ("sweep", "--scenario", "vm", "--mode", "warm", "--max-n", "150", "-j", "2")


def test_two_injectors_started_at_once_on_one_database_never_run_a_run_twice(inj, work):
    procs = [subprocess.Popen(inj.args(*SWEEP), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.pid, *p.communicate(timeout=120), p.returncode) for p in procs]
    (winner, out, err, rc), = [r for r in results if r[3] != 2]
    assert rc == 0, out + err
    (_, _, refusal, _), = [r for r in results if r[3] == 2]
    assert f"{inj.db()} is in use by another injector (pid {winner})" in refusal
    db = inj.db()
    (count, last_id), = rows(db, "SELECT count(*), max(id) FROM runs")
    assert count == 150
    assert last_id == count            # a run done again replaces its row under a new id
    # a log file is kept for each run stored in full (the clean kernel: none)
    assert len(list((work / "f.db.logs").glob("*.log"))) == \
        rows(db, "SELECT count(*) FROM runs WHERE in_full = 1")[0][0]
    assert rows(db, "SELECT count(*) FROM sweeps") == [(1,)]


def test_a_sweep_is_recorded_finished_when_it_ends_and_not_when_interrupted(inj, work):
    db = inj.db()
    proc = subprocess.Popen(inj.args(*TO_THE_END), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for_runs(db, 4, proc)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert rows(db, "SELECT finished_at, wall_s FROM sweeps") == [(None, None)]
    r = inj(*TO_THE_END)               # the same command resumes the same sweep to its end
    assert r.returncode == 0, r.stdout + r.stderr
    (started, finished, wall_s), = rows(db, "SELECT started_at, finished_at, wall_s FROM sweeps")
    assert finished >= started and wall_s > 0
    (last_n,), = rows(db, "SELECT max(n) FROM runs")
    assert rows(db, "SELECT count(*) FROM runs WHERE n > 0") == [(last_n,)]
    r = inj(*TO_THE_END)               # nothing left to do: the time spent is kept, not zeroed
    assert r.returncode == 0 and "runs: 0 executed" in r.stdout
    assert rows(db, "SELECT wall_s FROM sweeps") == [(wall_s,)]


def test_the_sweeps_of_one_command_each_count_their_own_time(inj):
    t0 = time.monotonic()
    r = inj("sweep", "--scenario", "boot,proc", "--mode", "warm", "--both", "-j", "2")
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    walls = [w for (w,) in rows(inj.db(), "SELECT wall_s FROM sweeps WHERE finished_at NOT NULL")]
    assert len(walls) == 4 and all(w > 0 for w in walls)
    # not the whole command's time on each of the four rows (analysis adds them up)
    assert sum(walls) < 1.5 * elapsed


@pytest.fixture
def full_logs_dir(work):
    """<db>.logs on a 100 KiB tmpfs: the database fits on its own disk, the kernel copy not,
    and the disk fills in the middle of a write (a short write, then ENOSPC)."""
    logs = work / "f.db.logs"
    logs.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=100k", "tmpfs", str(logs)], check=True)
    yield logs
    subprocess.run(["umount", str(logs)], check=True)


@needs_mount
def test_kernel_copy_onto_a_full_disk_says_no_space_left(inj, kernel_elf, full_logs_dir):
    assert kernel_elf.stat().st_size > 100 * 1024
    r = inj("run", "--scenario", "vm", "--fail", "1")
    assert r.returncode == 2
    assert f"copying {kernel_elf} to {full_logs_dir}/kernel.elf: No space left on device" \
        in r.stderr
    assert not list(full_logs_dir.glob("kernel.elf*"))       # no partial copy left behind


def executed(stdout):
    """(runs executed, runs already in the database) from a sweep's summary."""
    m = re.search(r"runs: (\d+) executed, (\d+) already in the database", stdout)
    assert m, stdout
    return int(m.group(1)), int(m.group(2))


def test_guard_mode_is_part_of_a_runs_identity_and_older_databases_learn_it(inj, work):
    # a guarded sweep (freed memory unmapped) may find what a plain one cannot
    r = inj(*TO_THE_END, "--guard")
    assert r.returncode == 0, r.stdout + r.stderr
    guarded, _ = executed(r.stdout)
    db = inj.db()
    # a database from before guard was in the key learns it from each run's sweep or
    # events: the same guarded command then finds every run done
    as_version_5(db)
    r = inj(*TO_THE_END, "--guard")
    assert r.returncode == 0 and executed(r.stdout)[0] == 0, r.stdout + r.stderr
    # a plain sweep of the same scenario runs every run again, beside the guarded ones
    r = inj(*TO_THE_END)
    assert r.returncode == 0, r.stdout + r.stderr
    plain, already = executed(r.stdout)
    assert plain > 1 and already == 0
    assert dict(rows(db, "SELECT guard, count(*) FROM runs GROUP BY guard")) == \
        {0: plain, 1: guarded}
    with Database(db) as d:
        assert {r.id for r in d.runs() if r.guard} == \
            {i for (i,) in rows(db, "SELECT id FROM runs WHERE guard = 1")}
    # a single run of each keeps a log of its own, and the guarded one's repro says --guard
    for guard in ((), ("--guard",)):
        r = inj("run", "--scenario", "proc", "--fail", "3", "--mode", "warm", *guard)
        assert r.returncode == 0, r.stdout + r.stderr
        assert (" --guard " in r.stdout) == bool(guard), r.stdout
    logs = {p.name for p in (work / "f.db.logs").glob("*.log")}
    assert {"proc.warm.once.3.log", "proc.warm.guard.once.3.log"} <= logs, logs
