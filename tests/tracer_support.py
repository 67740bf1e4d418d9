"""Helpers for the tracer tests: build the fixed-address mini ELF, run build/tracer, read
the database it writes."""
import pathlib
import sqlite3
import subprocess

DATA = pathlib.Path(__file__).resolve().parent / "data"
BUILD_ID = "f17e5eed0000000000000000000000000000cafe"
HELLO = f"hello faultline 1 {BUILD_ID}\n"


def build_mini_elf(outdir):
    """Compile tests/data/tracer-mini.c: functions at 0x80001000 + k*0x1000, our build id."""
    out = pathlib.Path(outdir) / "mini.elf"
    subprocess.run(
        ["riscv64-unknown-elf-gcc", "-march=rv64gc", "-mabi=lp64d", "-mcmodel=medany",
         "-ffreestanding", "-nostdlib", "-nostartfiles", "-O0", "-g", "-ffunction-sections",
         f"-Wl,-T,{DATA / 'tracer-mini.ld'}", f"-Wl,--build-id=0x{BUILD_ID}",
         "-o", str(out), str(DATA / "tracer-mini.c")],
        check=True)
    return out


def tracer(build_dir, *args, stdin=None):
    return subprocess.run([str(build_dir / "tracer"), *map(str, args)], capture_output=True,
                          text=True, input=stdin, timeout=60)


def ingest(build_dir, elf, db, *logs, opts=()):
    return tracer(build_dir, "ingest", "--kernel", elf, "--db", db, *opts, *logs)


def rows(db, sql, *params):
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def stack(db, stack_id):
    """The pcs string of a stack id, or None."""
    if stack_id is None:
        return None
    return rows(db, "SELECT pcs FROM stacks WHERE id=?", stack_id)[0]["pcs"]


def findings(db, run_n=1, log=None):
    sql = ("SELECT f.* FROM findings f JOIN runs r ON r.id = f.run WHERE r.n = ?"
           + (" AND r.site = ?" if log else "") + " ORDER BY f.id")
    return rows(db, sql, run_n, *([f"log:{log}"] if log else []))


def run_row(db, run_n=1):
    return rows(db, "SELECT * FROM runs WHERE n = ?", run_n)[0]


def as_version_5(db):
    """Turn a database the tracer made from tracer/schema.sql back into schema version 5: no
    guard column in sweeps, and runs rebuilt without guard in its key."""
    con = sqlite3.connect(db)
    ddl = con.execute("SELECT sql FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
    ddl = "\n".join(ln for ln in ddl.splitlines() if "-- v6" not in ln)
    ddl = ddl.replace(", n, guard)", ", n)").replace("CREATE TABLE runs ", "CREATE TABLE runs_v5 ")
    cols = ", ".join(r[1] for r in con.execute("PRAGMA table_info(runs)") if r[1] != "guard")
    con.executescript(f"ALTER TABLE sweeps DROP COLUMN guard; {ddl};"
                      f"INSERT INTO runs_v5 SELECT {cols} FROM runs; DROP TABLE runs;"
                      "ALTER TABLE runs_v5 RENAME TO runs;"
                      "CREATE INDEX runs_by_sweep ON runs(sweep, n);"
                      "UPDATE meta SET value = '5' WHERE key = 'schema_version';")
    con.close()
