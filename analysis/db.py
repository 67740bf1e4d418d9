"""Read-only access to a faultline database (tracer/schema.sql, docs/schema.md).

Everything the analysis knows about a sweep comes through here. The database is opened
read-only (open_read_only), also on read-only media; a file that is not a faultline database,
or one written by a newer schema than this module knows, is refused with a DatabaseError whose
message says what to do. Text that is not UTF-8 (a symbol name from a hostile ELF) is read
with its bad bytes as \\x escapes instead of failing the query.
"""
from __future__ import annotations

import bisect
import dataclasses
import os
import pathlib
import sqlite3
import urllib.parse
from typing import Iterable, Optional

from .model import (EMPTY_STACK, Build, Event, FindingClass, Frame, Malformed, Outcome,
                    Run, RunFinding, Severity, Stack, Sweep, known_names)

SCHEMA_VERSION = 6   # v2 indexes, v3 the runs' *_cut counts, v4 coverage, v5 lazy storage,
                     # v6 guard mode in a run's key
                     # (tracer/store_schema.c)


class DatabaseError(Exception):
    """The database cannot be read: missing, not faultline's, or too new."""


def to_signed(value: int) -> int:
    """An unsigned 64-bit value as sqlite stores it (reinterpreted as signed)."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= (1 << 63) else value


def to_unsigned(value: Optional[int]) -> Optional[int]:
    if value is None:
        return None
    return value & ((1 << 64) - 1)


def _text(value: bytes) -> str:
    return value.decode("utf-8", "backslashreplace")


def open_read_only(path: pathlib.Path) -> sqlite3.Connection:
    """A read-only connection that never writes next to the database.

    sqlite reads a WAL database read-only when it can open or create the -shm file beside it
    (https://sqlite.org/wal.html#readonly). On a read-only directory or mount without a -shm
    file it cannot; there the database is opened immutable, which is exact as long as no
    write-ahead log holds committed pages: a non-empty -wal there is refused with a message,
    since reading around it would silently miss its runs."""
    path = path.resolve()
    query = "mode=ro"
    shm, wal = (path.with_name(path.name + suffix) for suffix in ("-shm", "-wal"))
    if not os.access(path.parent, os.W_OK) and not shm.exists():
        if wal.exists() and wal.stat().st_size > 0:
            raise DatabaseError(
                f"{path}: its write-ahead log {wal.name} cannot be read in a read-only "
                f"directory without {shm.name}; copy {path.name} and {wal.name} to a "
                f"writable directory and read the copy")
        query += "&immutable=1"
    conn = sqlite3.connect(f"file:{urllib.parse.quote(str(path))}?{query}", uri=True)
    conn.text_factory = _text
    return conn


def parse_pcs(token: str) -> tuple[int, ...]:
    """The bt token as received ("pc,pc" hex, or "-") as unsigned ints; junk is skipped."""
    if not token or token == "-":
        return ()
    pcs = []
    for part in token.split(","):
        try:
            pcs.append(int(part, 16))
        except ValueError:
            continue
    return tuple(pcs)


class Database:
    """One open database. Caches symbolized frames and stacks per build."""

    def __init__(self, path: str | pathlib.Path):
        self.path = pathlib.Path(path)
        if not self.path.is_file():
            raise DatabaseError(f"{self.path}: no such database file")
        try:
            self.conn = open_read_only(self.path)
            self.conn.row_factory = sqlite3.Row
            self.schema_version = self._check_schema()
            self._check_outcomes()
        except sqlite3.Error as e:
            raise DatabaseError(f"{self.path}: cannot read as a faultline database: {e}") \
                from e
        self._frames: dict[tuple[int, int], Frame] = {}
        self._stacks: dict[int, Stack] = {}
        self._symbols: dict[int, tuple[list[int], list[tuple[int, str]]]] = {}
        self._builds: Optional[dict[int, Build]] = None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_schema(self) -> int:
        tables = {r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = {"meta", "builds", "runs", "findings", "events", "stacks", "frames"} - tables
        if missing:
            raise DatabaseError(f"{self.path}: not a faultline database "
                                f"(missing tables: {', '.join(sorted(missing))})")
        row = self.conn.execute(
            "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            raise DatabaseError(f"{self.path}: not a faultline database (no schema_version)")
        try:
            version = int(row[0])
        except ValueError:
            raise DatabaseError(f"{self.path}: unreadable schema_version {row[0]!r}") from None
        if version > SCHEMA_VERSION:
            raise DatabaseError(
                f"{self.path}: schema version {version} is newer than this analysis knows "
                f"({SCHEMA_VERSION}); use the analysis from the same faultline checkout as "
                f"the tracer that wrote it")
        if version < 1:
            raise DatabaseError(f"{self.path}: invalid schema version {version}")
        return version

    def _check_outcomes(self) -> None:
        """Every outcome the database names, in the list its writer recorded (meta) or in
        its runs, must be one this analysis knows: a run with an outcome it does not know
        would be counted as nothing, so the database is refused, naming it. (A finding class
        it does not know is reported under its own name, so it needs no refusal.)"""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'outcomes'").fetchone()
        named = set(row[0].split(",")) if row and row[0] else set()
        named |= {r[0] for r in self.conn.execute("SELECT DISTINCT outcome FROM runs")}
        unknown = sorted(named - known_names(Outcome))
        if unknown:
            raise DatabaseError(
                f"{self.path}: outcome {', '.join(map(repr, unknown))} is not known to this "
                f"analysis; use the analysis from the same faultline checkout as the tracer "
                f"that wrote it")

    # --- metadata -------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self.conn.execute("SELECT key, value FROM meta")}

    def builds(self) -> dict[int, Build]:
        if self._builds is None:
            self._builds = {
                r["id"]: Build(r["id"], r["build_id"], r["elf_path"], r["src_root"],
                               r["added_at"])
                for r in self.conn.execute("SELECT * FROM builds ORDER BY id")}
        return self._builds

    def source_file(self, build: int) -> Optional[str]:
        """One source file of the build, as DWARF recorded it (the first symbolized)."""
        row = self.conn.execute("SELECT file FROM frames WHERE build = ? AND file IS NOT NULL"
                                " ORDER BY id LIMIT 1", (build,)).fetchone()
        return row["file"] if row else None

    def sweeps(self) -> list[Sweep]:
        if not self._has_table("sweeps"):
            return []
        return [Sweep(r["id"], r["build"], r["scenario"], r["exec_mode"], r["fault_mode"],
                      r["class_filter"], r["site"], r["command"], r["started_at"],
                      r["finished_at"], r["wall_s"])
                for r in self.conn.execute("SELECT * FROM sweeps ORDER BY id")]

    def _has_table(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                 "name = ?", (name,)).fetchone() is not None

    # --- symbolization --------------------------------------------------------------------

    def _symbol_table(self, build: int) -> tuple[list[int], list[tuple[int, str]]]:
        table = self._symbols.get(build)
        if table is None:
            rows = self.conn.execute(
                "SELECT lo, hi, name FROM symbols WHERE build = ? ORDER BY lo",
                (build,)).fetchall() if self._has_table("symbols") else []
            los = [to_unsigned(r["lo"]) for r in rows]
            rest = [(to_unsigned(r["hi"]), r["name"]) for r in rows]
            table = (los, rest)
            self._symbols[build] = table
        return table

    def symbol_at(self, build: int, pc: int) -> Optional[str]:
        los, rest = self._symbol_table(build)
        i = bisect.bisect_right(los, pc) - 1
        if i >= 0 and pc < rest[i][0]:
            return rest[i][1]
        return None

    def frame(self, build: int, pc: int) -> Frame:
        """The symbolized frame of a pc: from frames, else the symbol table, else unknown."""
        key = (build, pc)
        frame = self._frames.get(key)
        if frame is None:
            row = self.conn.execute(
                "SELECT func, file, line FROM frames WHERE build = ? AND pc = ?",
                (build, to_signed(pc))).fetchone()
            if row is not None and row["func"]:
                frame = Frame(pc, row["func"], row["file"], row["line"])
            else:
                frame = Frame(pc, self.symbol_at(build, pc),
                              row["file"] if row else None, row["line"] if row else None)
            self._frames[key] = frame
        return frame

    def stack(self, stack_id: Optional[int]) -> Stack:
        if stack_id is None:
            return EMPTY_STACK
        stack = self._stacks.get(stack_id)
        if stack is None:
            row = self.conn.execute("SELECT build, pcs FROM stacks WHERE id = ?",
                                    (stack_id,)).fetchone()
            if row is None:
                stack = Stack(stack_id, ())
            else:
                stack = Stack(stack_id, tuple(self.frame(row["build"], pc)
                                              for pc in parse_pcs(row["pcs"])))
            self._stacks[stack_id] = stack
        return stack

    # --- runs and findings ----------------------------------------------------------------

    def runs(self) -> list[Run]:
        classes, guarded = self._fault_classes(), self._guarded()
        return [dataclasses.replace(self._run(r, classes), guard=r["id"] in guarded)
                for r in self.conn.execute("SELECT * FROM runs ORDER BY id")]

    def _guarded(self) -> set[int]:
        """The runs made in guard mode: from their row (v6), else from the kernel's answer
        to `guard on` in their events."""
        if self.schema_version >= 6:
            return {r[0] for r in self.conn.execute("SELECT id FROM runs WHERE guard = 1")}
        return {r[0] for r in self.conn.execute(
            "SELECT DISTINCT run FROM events WHERE kind = 'ok' AND name = 'guard'")}

    def _fault_classes(self) -> dict[int, str]:
        """Allocator class of each run's first injected fault, in one query: from its row
        (v5, also for a run stored without its events), else from its events."""
        if self.schema_version >= 5:
            return {r[0]: r[1] for r in self.conn.execute(
                "SELECT id, fault_class FROM runs WHERE fault_class IS NOT NULL")}
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT e.run, e.class FROM runs JOIN events e ON e.run = runs.id AND "
            "e.seq = runs.fault_event WHERE runs.fault_event IS NOT NULL")}

    def _run(self, r: sqlite3.Row, fault_classes: dict[int, str]) -> Run:
        fault_pc = to_unsigned(r["fault_pc"])
        return Run(
            id=r["id"], sweep=r["sweep"], build=r["build"], scenario=r["scenario"],
            exec_mode=r["exec_mode"], fault_mode=r["fault_mode"],
            class_filter=r["class_filter"] or "", site=r["site"] or "", n=r["n"],
            outcome=Outcome.parse(r["outcome"]), outcome_text=r["outcome"],
            fired=bool(r["fired"]), ended=bool(r["ended"]), attempts=r["attempts"],
            result_rc=r["result_rc"], expected_panic=bool(r["expected_panic"]),
            fault_event=r["fault_event"], fault_pc=fault_pc,
            fault_stack=self.stack(r["fault_stack"]),
            fault_frame=self.frame(r["build"], fault_pc) if fault_pc else None,
            fault_class=fault_classes.get(r["id"]), infra_reason=r["infra_reason"],
            exit_status=r["exit_status"], wall_ms=r["wall_ms"], raw_log=r["raw_log"],
            nevents=r["nevents"], nmalformed=r["nmalformed"], finished_at=r["finished_at"],
            in_full=self.schema_version < 5 or bool(r["in_full"]))

    def findings(self, runs: dict[int, Run]) -> list[RunFinding]:
        out = []
        for r in self.conn.execute("SELECT * FROM findings ORDER BY run, id"):
            run = runs.get(r["run"])
            if run is None:
                continue
            out.append(RunFinding(
                id=r["id"], run=run, cls=FindingClass.parse(r["class"]),
                class_text=r["class"], severity=Severity.parse(r["severity"]),
                func=r["func"], pc=to_unsigned(r["pc"]), addr=to_unsigned(r["addr"]),
                size=r["size"], alloc_stack=self.stack(r["alloc_stack"]),
                free_stack=self.stack(r["free_stack"]), bad_stack=self.stack(r["bad_stack"]),
                op_name=r["op_name"], message=r["message"],
                events=_parse_seqs(r["events"])))
        return out

    def events(self, run: Run, kinds: Optional[Iterable[str]] = None) -> list[Event]:
        """The run's events in stream order. A run stored without them (no findings, not a
        reference run: docs/schema.md, "Lazy storage") is an error, never an empty list."""
        if not run.in_full:
            raise DatabaseError(
                f"{self.path}: run {run.id} was stored without its events (it has no "
                f"findings); `tracer materialize --db {self.path} {run.id}` restores them "
                f"from its compressed log (a sweep with --keep-logs all keeps it)")
        sql = "SELECT * FROM events WHERE run = ?"
        args: list = [run.id]
        if kinds is not None:
            kinds = list(kinds)
            sql += " AND kind IN (%s)" % ",".join("?" * len(kinds))
            args += kinds
        out = []
        for r in self.conn.execute(sql + " ORDER BY seq", args):
            pc = to_unsigned(r["pc"])
            out.append(Event(
                seq=r["seq"], kind=r["kind"], kseq=r["kseq"], cls=r["class"],
                addr=to_unsigned(r["addr"]), size=r["size"], pc=pc,
                func=self.frame(run.build, pc).func if pc is not None else None,
                stack=r["stack"], op=r["op"], rc=r["rc"], name=r["name"], text=r["text"]))
        return out

    def panic_event(self, run: Run) -> Optional[Event]:
        events = self.events(run, ("panic", "trap"))
        return events[-1] if events else None

    def malformed(self, limit: int = 20) -> list[Malformed]:
        """Sample rejected lines: the first of each reason, then the earliest others."""
        if not self._has_table("malformed"):
            return []
        rows = self.conn.execute(
            "SELECT run, lineno, reason, text FROM ("
            " SELECT *, ROW_NUMBER() OVER (PARTITION BY reason ORDER BY run, lineno) AS k"
            " FROM malformed) ORDER BY k > 1, run, lineno LIMIT ?", (limit,))
        return [Malformed(r["run"], r["lineno"], r["reason"], r["text"]) for r in rows]

    def malformed_reasons(self) -> list[tuple[str, int]]:
        """Kept rejected lines per reason (the tracer keeps at most 100 per run)."""
        if not self._has_table("malformed"):
            return []
        return [(r[0], r[1]) for r in self.conn.execute(
            "SELECT reason, COUNT(*) FROM malformed GROUP BY reason ORDER BY 2 DESC, 1")]

    # --- coverage (schema v4) -------------------------------------------------------------

    def coverage_map(self, build: int) -> tuple[dict[int, str], list[tuple[int, str, int]]]:
        """A build's coverage points (idx -> function) and their (point, file, line) rows;
        empty for a build without coverage or a database older than v4."""
        if not self._has_table("cov_points"):
            return {}, []
        points = {r[0]: r[1] or "?" for r in self.conn.execute(
            "SELECT idx, func FROM cov_points WHERE build = ?", (build,))}
        lines = [(r[0], r[1], r[2]) for r in self.conn.execute(
            "SELECT point, file, line FROM cov_lines WHERE build = ?", (build,))]
        return points, lines

    def coverage_bitmaps(self, build: int) -> dict[int, bytes]:
        """run id -> runs.coverage of the build's runs that reported coverage."""
        if not self._has_table("cov_points"):
            return {}
        return {r[0]: bytes(r[1]) for r in self.conn.execute(
            "SELECT id, coverage FROM runs WHERE build = ? AND coverage IS NOT NULL",
            (build,))}


def _parse_seqs(text: Optional[str]) -> tuple[int, ...]:
    out = []
    for part in (text or "").split(","):
        part = part.strip()
        if part.lstrip("-").isdigit():
            out.append(int(part))
    return tuple(out)
