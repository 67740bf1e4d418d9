"""Several faultline databases made into one, so one audit and one report cover them all.

Sweeps that run side by side each write a database of their own (one injector per database);
the report reads one. `merge()` copies the first source whole (sqlite's backup) and then
copies every row of each further source into it, one transaction per source:

- a build is matched by its GNU build-id, so the same kernel swept in two databases is one
  build; its symbols come from the first database that has it; frames and stacks are added
  when new (both are unique per build) and stacks are matched by their pcs;
- sweeps, runs and findings keep their ids shifted past the target's largest, and the rows
  that point at them (runs, events, ops, findings, malformed) follow.

The same run (build, scenario, modes, site, N) in two sources is refused: which copy to keep
is not the merge's to decide. A source with another schema version is refused too.
"""
from __future__ import annotations

import contextlib
import pathlib
import sqlite3
from typing import Sequence

# Tables copied row by row, in an order where every row's references exist before it, and
# how each column that points elsewhere is rewritten: into builds and stacks through the map
# of matched rows, into sweeps, runs and findings by that table's id offset.
_REFERENCES = {
    "frames": {"build": "builds"},
    "stacks": {"build": "builds"},
    "sweeps": {"id": "sweeps", "build": "builds"},
    "runs": {"id": "runs", "sweep": "sweeps", "build": "builds", "fault_stack": "stacks"},
    "events": {"run": "runs", "stack": "stacks"},
    "ops": {"run": "runs"},
    "findings": {"id": "findings", "run": "runs", "alloc_stack": "stacks",
                 "free_stack": "stacks", "bad_stack": "stacks"},
    "malformed": {"run": "runs"},
}
_MATCHED = ("builds", "stacks")          # by content: build-id; (build, pcs)
_SHIFTED = ("sweeps", "runs", "findings")
_NEW_ID = ("frames", "stacks")           # unique by content; the target numbers them


class MergeError(Exception):
    """The sources cannot be merged; the message names the database."""


def _value(column: str, target: str) -> str:
    if target in _MATCHED:
        return f"(SELECT new FROM temp.map_{target} WHERE old = s.{column})"
    return f"s.{column} + (SELECT value FROM temp.offsets WHERE name = '{target}')"


def _schema_version(con: sqlite3.Connection, schema: str) -> str:
    row = con.execute(f"SELECT value FROM {schema}.meta WHERE key = 'schema_version'"
                      ).fetchone()
    return row[0] if row else "none"


def _match_builds(con: sqlite3.Connection) -> None:
    con.execute("INSERT INTO main.builds (build_id, elf_path, src_root, added_at) "
                "SELECT build_id, elf_path, src_root, added_at FROM src.builds "
                "WHERE build_id NOT IN (SELECT build_id FROM main.builds)")
    con.execute("DELETE FROM temp.map_builds")
    con.execute("INSERT INTO temp.map_builds SELECT s.id, t.id FROM src.builds s "
                "JOIN main.builds t USING (build_id)")
    con.execute("INSERT INTO main.symbols (build, lo, hi, name) "
                "SELECT m.new, s.lo, s.hi, s.name FROM src.symbols s "
                "JOIN temp.map_builds m ON m.old = s.build "
                "WHERE NOT EXISTS (SELECT 1 FROM main.symbols t WHERE t.build = m.new)")


def _match_stacks(con: sqlite3.Connection) -> None:
    con.execute("DELETE FROM temp.map_stacks")
    con.execute("INSERT INTO temp.map_stacks SELECT s.id, t.id FROM src.stacks s "
                "JOIN temp.map_builds m ON m.old = s.build "
                "JOIN main.stacks t ON t.build = m.new AND t.pcs = s.pcs")


def _copy(con: sqlite3.Connection, table: str) -> None:
    refs = _REFERENCES[table]
    columns = [row[1] for row in con.execute(f"PRAGMA main.table_info({table})")
               if not (table in _NEW_ID and row[1] == "id")]
    values = ", ".join(_value(c, refs[c]) if c in refs else f"s.{c}" for c in columns)
    verb = "INSERT OR IGNORE" if table in _NEW_ID else "INSERT"
    con.execute(f"{verb} INTO main.{table} ({', '.join(columns)}) "
                f"SELECT {values} FROM src.{table} s")
    if table == "stacks":
        _match_stacks(con)


def _merge_one(con: sqlite3.Connection, source: pathlib.Path) -> None:
    con.execute("ATTACH DATABASE ? AS src", (str(source),))
    try:
        mine, theirs = _schema_version(con, "main"), _schema_version(con, "src")
        if mine != theirs:
            raise MergeError(f"{source}: schema version {theirs}, the first database's is "
                             f"{mine}")
        with con:
            con.execute("DELETE FROM temp.offsets")
            for table in _SHIFTED:
                con.execute(f"INSERT INTO temp.offsets SELECT '{table}', "
                            f"coalesce(max(id), 0) FROM main.{table}")
            _match_builds(con)
            for table in _REFERENCES:
                _copy(con, table)
    except sqlite3.IntegrityError as e:
        raise MergeError(f"{source}: holds a run another database holds too ({e})") from e
    except sqlite3.DatabaseError as e:
        raise MergeError(f"{source}: {e}") from e
    finally:
        con.execute("DETACH DATABASE src")


def merge(sources: Sequence[str | pathlib.Path], target: str | pathlib.Path) -> pathlib.Path:
    """Write one database at target holding every run of the sources; an existing target
    is replaced. Returns target."""
    if not sources:
        raise MergeError("no database to merge")
    out = pathlib.Path(target)
    for old in (out, out.with_name(out.name + "-wal"), out.with_name(out.name + "-shm")):
        old.unlink(missing_ok=True)
    first = pathlib.Path(sources[0])
    try:
        with contextlib.closing(sqlite3.connect(first)) as src, \
                contextlib.closing(sqlite3.connect(out)) as dst:
            src.backup(dst)
    except sqlite3.DatabaseError as e:
        raise MergeError(f"{first}: {e}") from e
    with contextlib.closing(sqlite3.connect(out)) as con:
        con.execute("CREATE TEMP TABLE offsets (name TEXT PRIMARY KEY, value INTEGER)")
        for name in _MATCHED:
            con.execute(f"CREATE TEMP TABLE map_{name} (old INTEGER PRIMARY KEY, new INTEGER)")
        for source in sources[1:]:
            _merge_one(con, pathlib.Path(source))
    return out
