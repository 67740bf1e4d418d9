"""Opening the database (ft_db_open, shared by the tracer and the injector): a file the tools
must not write to (another program's sqlite file, a faultline database with a newer schema)
is refused with the file left byte for byte as it was (no switch to WAL, no side files), and
processes that create one database at the same moment all succeed. The analysis refuses a
database that names an outcome it does not know, naming it."""
import hashlib
import sqlite3
import subprocess

import pytest

from analysis.cli import main as analysis_main
from analysis.db import Database, DatabaseError
from analysis.model import FindingClass, Outcome, known_names
from tracer_support import DATA, build_mini_elf, ingest


def rollback_journal(db):
    """Leave db in rollback-journal mode, so a switch to WAL would change its header."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()


def foreign_db(tmp_path, build_dir, elf):
    db = tmp_path / "theirs.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO accounts(name) VALUES ('alice')")
    con.commit()
    con.close()
    return db, "not a faultline database"


def newer_faultline_db(tmp_path, build_dir, elf):
    db = tmp_path / "newer.db"
    assert ingest(build_dir, elf, db, DATA / "tracer-clean.log").returncode == 0
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    rollback_journal(db)
    return db, "schema version 99 is newer"


def tracer_ingest(build_dir, elf, kernel_elf, db):
    return ingest(build_dir, elf, db, DATA / "tracer-leak.log")


def injector_sweep(build_dir, elf, kernel_elf, db):
    return subprocess.run([str(build_dir / "injector"), "sweep", "--kernel", str(kernel_elf),
                           "--scenario", "vm", "--db", str(db), "--quiet"],
                          capture_output=True, text=True, timeout=60)


def snapshot(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in directory.iterdir() if p.is_file()}


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    return build_mini_elf(tmp_path_factory.mktemp("mini"))


@pytest.mark.parametrize("make_db", [foreign_db, newer_faultline_db])
@pytest.mark.parametrize("tool", [tracer_ingest, injector_sweep])
def test_refused_database_is_left_byte_for_byte_as_it_was(build_dir, elf, kernel_elf,
                                                          tmp_path, make_db, tool):
    db, why = make_db(tmp_path, build_dir, elf)
    with open(db, "rb") as f:
        assert f.read(20)[18:20] == b"\x01\x01"     # rollback journal, not WAL
    before = snapshot(tmp_path)
    p = tool(build_dir, elf, kernel_elf, db)
    assert p.returncode == 2
    assert f"{db}: " in p.stderr and why in p.stderr
    assert snapshot(tmp_path) == before             # same bytes, no -wal, -shm or kernel copy
    assert not (tmp_path / f"{db.name}.logs").exists()


def test_tracers_creating_one_database_at_the_same_moment_all_succeed(build_dir, elf, tmp_path):
    for i in range(20):
        db = tmp_path / f"race{i}.db"
        procs = [subprocess.Popen([str(build_dir / "tracer"), "ingest", "--kernel", str(elf),
                                   "--db", str(db), str(DATA / "tracer-clean.log")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        errors = [p.communicate(timeout=60)[1] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], errors


@pytest.fixture
def leak_db(build_dir, elf, tmp_path):
    db = tmp_path / "leak.db"
    assert ingest(build_dir, elf, db, DATA / "tracer-leak.log").returncode == 1
    return db


def test_tracer_records_exactly_the_outcomes_and_classes_the_analysis_knows(leak_db):
    meta = Database(leak_db).meta()
    assert set(meta["outcomes"].split(",")) == known_names(Outcome)
    assert set(meta["finding_classes"].split(",")) == known_names(FindingClass)


def tamper(db, *sql):
    con = sqlite3.connect(db)
    for s in sql:
        con.execute(s)
    con.commit()
    con.close()


@pytest.mark.parametrize("sql, name", [
    ("UPDATE runs SET outcome = 'melted'", "melted"),
    ("UPDATE meta SET value = value || ',frozen' WHERE key = 'outcomes'", "frozen"),
])
def test_database_naming_an_unknown_outcome_is_refused_naming_it(leak_db, sql, name,
                                                                 tmp_path, capsys):
    tamper(leak_db, sql)
    with pytest.raises(DatabaseError, match=f"outcome '{name}' is not known"):
        Database(leak_db)
    assert analysis_main(["report", "--db", str(leak_db), "--out", str(tmp_path / "r")]) != 0
    assert f"'{name}' is not known" in capsys.readouterr().err
    assert not (tmp_path / "r" / "index.html").exists()
