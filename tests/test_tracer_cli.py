"""build/tracer as a user drives it: exit codes, messages, runs per log, re-ingest, the
schema version and its migrations."""
import re
import sqlite3
import subprocess

import pytest

from analysis.db import SCHEMA_VERSION, Database
from tracer_support import DATA, as_version_5, build_mini_elf, ingest, rows, tracer


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    return build_mini_elf(tmp_path_factory.mktemp("mini"))


def test_no_command_is_a_usage_error(build_dir):
    p = tracer(build_dir)
    assert p.returncode == 2 and "usage:" in p.stderr


@pytest.mark.parametrize("args, why", [
    (["frob"], "unknown command"),
    (["ingest", "--db", "x.db", "a.log"], "needs --kernel"),
    (["ingest", "--kernel", "k.elf", "a.log"], "needs --db"),
    (["check"], "at least one LOG"),
    (["check", "--cut", "maybe", "a.log"], "--cut wants"),
    (["check", "--chunk", "0", "a.log"], "--chunk wants"),
])
def test_bad_usage_exits_2_with_the_reason(build_dir, args, why):
    p = tracer(build_dir, *args)
    assert p.returncode == 2 and why in p.stderr


def test_missing_log_is_an_io_error(build_dir, tmp_path):
    p = tracer(build_dir, "check", tmp_path / "nope.log")
    assert p.returncode == 2 and "cannot read" in p.stderr and "nope.log" in p.stderr


def test_kernel_that_is_not_an_elf_is_refused(build_dir, tmp_path):
    bogus = tmp_path / "k.elf"
    bogus.write_text("not an elf")
    p = ingest(build_dir, bogus, tmp_path / "x.db", DATA / "tracer-clean.log")
    assert p.returncode == 2 and "not an ELF" in p.stderr


def test_kernel_without_build_id_is_refused(build_dir, tmp_path):
    elf = tmp_path / "nobid.elf"
    subprocess.run(["riscv64-unknown-elf-gcc", "-nostdlib", "-ffreestanding", "-Wl,--build-id=none",
                    "-Wl,-e,kalloc", "-o", elf, DATA / "tracer-mini.c"], check=True)
    p = ingest(build_dir, elf, tmp_path / "x.db", DATA / "tracer-clean.log")
    assert p.returncode == 2 and "build-id" in p.stderr


def test_exit_0_for_clean_logs_and_1_when_any_run_has_findings(build_dir, elf, tmp_path):
    db = tmp_path / "x.db"
    assert ingest(build_dir, elf, db, DATA / "tracer-clean.log").returncode == 0
    p = ingest(build_dir, elf, db, DATA / "tracer-clean.log", DATA / "tracer-leak.log")
    assert p.returncode == 1
    assert "leak [error] in proc_alloc" in p.stdout


def test_check_needs_no_database_or_kernel(build_dir):
    p = tracer(build_dir, "check", DATA / "tracer-unbalanced.log")
    assert p.returncode == 1 and "unbalanced-unwind" in p.stdout


def test_each_hello_starts_a_run_numbered_within_its_log(build_dir, elf, tmp_path):
    db = tmp_path / "x.db"
    ingest(build_dir, elf, db, DATA / "tracer-endings.log", DATA / "tracer-refcount.log")
    got = [(r["site"], r["n"], r["scenario"], r["exec_mode"]) for r in
           rows(db, "SELECT * FROM runs ORDER BY id")]
    assert got == [("log:tracer-endings.log", n, s, "log") for n, s in
                   enumerate(["proc", "boot", "proc", "proc", "proc"], 1)] + \
                  [("log:tracer-refcount.log", n, "mmap", "log") for n in (1, 2)]
    sweeps = rows(db, "SELECT * FROM sweeps")
    assert len(sweeps) == 2 and "ingest" in sweeps[0]["command"]


def test_scenario_option_names_runs(build_dir, elf, tmp_path):
    db = tmp_path / "x.db"
    ingest(build_dir, elf, db, DATA / "tracer-leak.log", opts=("--scenario", "board"))
    assert rows(db, "SELECT scenario FROM runs")[0][0] == "board"


def test_reingesting_a_log_replaces_its_runs(build_dir, elf, tmp_path):
    db = tmp_path / "x.db"
    for _ in range(2):
        ingest(build_dir, elf, db, DATA / "tracer-double-free.log")
    assert rows(db, "SELECT count(*) FROM runs")[0][0] == 2
    assert rows(db, "SELECT count(*) FROM findings")[0][0] == 2
    assert rows(db, "SELECT count(*) FROM events")[0][0] == 20
    assert rows(db, "SELECT count(*) FROM builds")[0][0] == 1
    assert rows(db, "PRAGMA integrity_check")[0][0] == "ok"


def test_database_is_wal_with_the_schema_version(build_dir, elf, tmp_path):
    db = tmp_path / "x.db"
    ingest(build_dir, elf, db, DATA / "tracer-clean.log")
    assert rows(db, "PRAGMA journal_mode")[0][0] == "wal"
    meta = dict(rows(db, "SELECT key, value FROM meta"))
    assert meta["schema_version"] == str(SCHEMA_VERSION) and meta["created_at"]


def test_newer_schema_is_refused_untouched(build_dir, elf, tmp_path):
    db = tmp_path / "x.db"
    ingest(build_dir, elf, db, DATA / "tracer-clean.log")
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    p = ingest(build_dir, elf, db, DATA / "tracer-leak.log")
    assert p.returncode == 2 and "schema version 99 is newer" in p.stderr
    assert rows(db, "SELECT count(*) FROM runs")[0][0] == 1


def test_another_programs_database_is_refused_and_left_as_it_was(build_dir, elf, tmp_path):
    db = tmp_path / "theirs.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
    con.commit()
    con.close()
    p = ingest(build_dir, elf, db, DATA / "tracer-clean.log")
    assert p.returncode == 2
    assert f"{db}: not a faultline database" in p.stderr
    assert [r[0] for r in rows(db, "SELECT name FROM sqlite_master")] == ["accounts"]


def test_a_file_that_is_not_a_database_is_named_in_the_error(build_dir, elf, tmp_path):
    db = tmp_path / "notes.txt"
    db.write_text("not sqlite at all\n" * 100)
    p = ingest(build_dir, elf, db, DATA / "tracer-clean.log")
    assert p.returncode == 2
    assert f"{db}: " in p.stderr and "not a database" in p.stderr


def schema_version_1():
    """schema.sql without the tables, columns and indexes versions 2 to 6 added (and without
    guard, which version 6 added to a run's key)."""
    text = (DATA.parent.parent / "tracer" / "schema.sql").read_text()
    text = re.sub(r"CREATE TABLE IF NOT EXISTS \w+ \(\s*-- v4.*?\) WITHOUT ROWID;", "", text,
                  flags=re.S)
    text = text.replace(", n, guard)", ", n)")
    return "\n".join(line for line in text.splitlines()
                     if not any(f"-- v{v}" in line for v in range(2, 7)))


def test_version_1_database_is_migrated_keeping_its_runs(build_dir, elf, tmp_path):
    db = tmp_path / "v1.db"
    con = sqlite3.connect(db)
    con.executescript(schema_version_1())
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO builds VALUES (7, 'aa', '/k.elf', NULL, 'then')")
    con.execute("INSERT INTO runs(id, build, scenario, exec_mode, fault_mode, n, outcome, fired,"
                " ended, nevents, nmalformed, finished_at) VALUES"
                " (1, 7, 'vm', 'fresh', 'once', 3, 'leak', 1, 1, 0, 0, 'then')")
    con.commit()
    con.close()
    p = ingest(build_dir, elf, db, DATA / "tracer-leak.log")
    assert p.returncode == 1, p.stderr
    assert rows(db, "SELECT value FROM meta WHERE key='schema_version'")[0][0] == \
        str(SCHEMA_VERSION)
    names = {r[0] for r in rows(db, "SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"runs_by_sweep", "findings_by_class"} <= names
    assert [tuple(r) for r in rows(db, "SELECT id, scenario, outcome, findings_cut, in_full "
                                       "FROM runs ORDER BY id")] \
        == [(1, "vm", "leak", 0, 1), (2, "proc", "leak", 0, 1)]


def as_version_4(db):
    """Turn a database back into schema version 4, as the tracer before lazy storage left it."""
    as_version_5(db)
    con = sqlite3.connect(db)
    con.executescript("ALTER TABLE runs DROP COLUMN in_full; ALTER TABLE runs DROP COLUMN "
                      "fault_class; ALTER TABLE runs DROP COLUMN raw_log_z; UPDATE meta SET "
                      "value = '4' WHERE key = 'schema_version';")
    con.close()


def test_version_4_database_reads_as_stored_in_full_and_migrates_its_fault_classes(
        build_dir, elf, tmp_path):
    db = tmp_path / "v4.db"
    assert ingest(build_dir, elf, db, DATA / "tracer-failed-alloc.log").returncode == 0
    want = [tuple(r) for r in rows(db, "SELECT id, fault_class FROM runs ORDER BY id")]
    assert any(cls for _, cls in want)
    as_version_4(db)
    with Database(db) as d:                          # the analysis reads it as it is
        assert d.schema_version == 4
        runs = d.runs()
        assert all(r.in_full for r in runs)
        assert [(r.id, r.fault_class) for r in runs] == want
    p = ingest(build_dir, elf, db, DATA / "tracer-leak.log")
    assert p.returncode == 1, p.stderr
    assert rows(db, "SELECT value FROM meta WHERE key='schema_version'")[0][0] == \
        str(SCHEMA_VERSION)
    assert [tuple(r) for r in rows(db, "SELECT id, fault_class FROM runs ORDER BY id")][
        :len(want)] == want


@pytest.mark.parametrize("keep,events_stored", [("findings", False), ("full", True)])
def test_bench_ingest_reports_a_rate_and_stores_as_asked(build_dir, tmp_path, keep,
                                                         events_stored):
    db = tmp_path / "b.db"
    p = tracer(build_dir, "bench-ingest", "--events", "20000", "--keep", keep, "--db", db)
    assert p.returncode == 0, p.stderr
    m = re.search(r"(\d+) events .* (\d+) events/s wall", p.stdout)
    assert m and int(m.group(1)) >= 20000 and int(m.group(2)) > 0
    # a clean run of a sweep is its row only, unless every run is stored in full
    runs, events = rows(db, "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM events)")[0]
    assert runs >= 20 and (events >= 20000) == events_stored and (events == 0) != events_stored


def test_bench_ingest_refuses_an_unknown_keep(build_dir):
    p = tracer(build_dir, "bench-ingest", "--keep", "some")
    assert p.returncode == 2 and "--keep wants findings or full" in p.stderr


def test_a_log_that_is_not_a_console_stream_says_so(build_dir, tmp_path):
    log = tmp_path / "notes.log"
    log.write_text("hello world\nsome text a user saved by mistake\n")
    p = tracer(build_dir, "check", log)
    assert p.returncode == 2
    assert "scenario (unknown): infra" in p.stdout
    assert "not a faultline console stream" in p.stdout
