"""Lazy storage, end to end on the real kernel: a sweep stores in full (events, ops, findings,
raw log file) only the runs with findings; the others are their runs row, with their raw log
compressed in the database under --keep-logs all, or not at all. The analysis refuses to read
events a run was stored without, and `tracer materialize` gives them back from the log."""
import pathlib
import subprocess
import zlib

import pytest

from analysis.db import Database, DatabaseError
from test_injector_e2e import inj, rows, work  # noqa: F401 (fixtures)

SWEEP = ("sweep", "--scenario", "test-leak", "--mode", "warm", "-j", "2", "--no-analysis")


def stored(db):
    """{n: (outcome, in_full, raw_log, raw_log_z, nevents, events rows, findings rows)}"""
    return {n: rest for n, *rest in rows(
        db, "SELECT n, outcome, in_full, raw_log, raw_log_z, nevents, "
            "(SELECT count(*) FROM events WHERE run = runs.id), "
            "(SELECT count(*) FROM findings WHERE run = runs.id) FROM runs")}


def materialize(build_dir, db, run_id):
    return subprocess.run([str(build_dir / "tracer"), "materialize", "--db", db, str(run_id)],
                          capture_output=True, text=True, timeout=60)


def test_only_the_run_with_a_finding_keeps_its_events_and_log_file(inj, work, build_dir):
    r = inj(*SWEEP)
    assert r.returncode == 1, r.stdout + r.stderr
    runs = stored(inj.db())
    full = {n for n, s in runs.items() if s[1]}
    # the run that does not fire leaks (and so may one past it, in flight on the other worker)
    assert full == {n for n, s in runs.items() if s[0] == "leak"}
    assert full and len(full) < len(runs) - 10
    for n, (outcome, in_full, log, logz, nevents, events, findings) in runs.items():
        if in_full:
            assert pathlib.Path(log).read_bytes().startswith(b"hello faultline ")
            assert (events, findings) == (nevents, 1)
        else:
            assert (log, logz, events, findings) == (None, None, 0, 0), n
    assert sorted(p.name for p in (work / "f.db.logs").glob("*.log")) == \
        [pathlib.Path(runs[n][2]).name for n in full]
    with Database(inj.db()) as db:
        lazy = next(run for run in db.runs() if not run.in_full)
        with pytest.raises(DatabaseError, match=f"run {lazy.id} was stored without its events"):
            db.events(lazy)
    p = materialize(build_dir, inj.db(), lazy.id)     # nothing to restore them from
    assert p.returncode == 2
    assert f"run {lazy.id} was stored without its log (a sweep with --keep-logs all" in p.stderr


def test_keep_logs_all_stores_the_compressed_log_and_materialize_restores_the_events(
        inj, build_dir):
    r = inj(*SWEEP, "--keep-logs", "all")
    assert r.returncode == 1, r.stdout + r.stderr
    (run_id, n, nevents, logz), = rows(inj.db(), "SELECT id, n, nevents, raw_log_z FROM runs "
                                                 "WHERE in_full = 0 ORDER BY nevents DESC "
                                                 "LIMIT 1")
    assert zlib.decompress(logz).startswith(b"hello faultline ")
    p = materialize(build_dir, inj.db(), run_id)
    assert p.returncode == 0, p.stderr
    (in_full, events, kinds), = rows(
        inj.db(), "SELECT in_full, (SELECT count(*) FROM events WHERE run = ?1), "
                  "(SELECT group_concat(DISTINCT kind) FROM events WHERE run = ?1) "
                  "FROM runs WHERE id = ?1", run_id)
    assert (in_full, events) == (1, nevents)
    assert {"hello", "fault", "end"} <= set(kinds.split(","))
    with Database(inj.db()) as db:
        run = next(run for run in db.runs() if run.id == run_id)
        assert [e.kind for e in db.events(run, ("fault",))] == ["fault"]
