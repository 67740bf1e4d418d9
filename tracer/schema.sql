-- faultline database, schema version 5 (version 1 + the indexes marked v2 + the columns
-- marked v3 + the coverage tables and column marked v4 + the lazy-storage columns marked v5).
-- The one interface between the tracer (writer) and analysis (reader). docs/schema.md
-- explains every table; changes go through a numbered migration in tracer/store_schema.c.
-- Addresses and pcs are stored as INTEGER (unsigned 64-bit values reinterpreted as signed).

CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);                                -- ('schema_version','1'), ('created_at', ISO-8601),
                                  -- ('outcomes', 'crash,...'), ('finding_classes', 'leak,...')

CREATE TABLE IF NOT EXISTS builds (
  id        INTEGER PRIMARY KEY,
  build_id  TEXT NOT NULL UNIQUE, -- hex GNU build-id of the kernel ELF
  elf_path  TEXT NOT NULL,
  src_root  TEXT,                 -- where the sources for file:line live (may be NULL)
  added_at  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS symbols (  -- function symbols of a build
  build INTEGER NOT NULL REFERENCES builds(id),
  lo    INTEGER NOT NULL,
  hi    INTEGER NOT NULL,
  name  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS symbols_by_lo ON symbols(build, lo);

CREATE TABLE IF NOT EXISTS frames (   -- symbolized pcs, resolved once per build
  id    INTEGER PRIMARY KEY,
  build INTEGER NOT NULL REFERENCES builds(id),
  pc    INTEGER NOT NULL,
  func  TEXT,                         -- NULL when unknown
  file  TEXT,                         -- as recorded in DWARF (relative to src_root when possible)
  line  INTEGER,
  UNIQUE (build, pc)
);

CREATE TABLE IF NOT EXISTS stacks (   -- interned backtraces
  id    INTEGER PRIMARY KEY,
  build INTEGER NOT NULL REFERENCES builds(id),
  pcs   TEXT NOT NULL,                -- the bt token as received: "pc,pc,pc" (hex) or "-"
  UNIQUE (build, pcs)
);

CREATE TABLE IF NOT EXISTS sweeps (
  id          INTEGER PRIMARY KEY,
  build       INTEGER NOT NULL REFERENCES builds(id),
  scenario    TEXT NOT NULL,
  exec_mode   TEXT NOT NULL,          -- fresh | reset | warm
  fault_mode  TEXT NOT NULL,          -- once | persist | site
  class_filter TEXT NOT NULL DEFAULT '',
  site        TEXT NOT NULL DEFAULT '',
  command     TEXT NOT NULL,          -- the command line that started it
  guard       INTEGER NOT NULL DEFAULT 0, -- v6: 1 when its runs were in guard mode
  started_at  TEXT NOT NULL,
  finished_at TEXT,                   -- NULL while running or interrupted
  wall_s      REAL
);

CREATE TABLE IF NOT EXISTS runs (
  id          INTEGER PRIMARY KEY,
  sweep       INTEGER REFERENCES sweeps(id),
  build       INTEGER NOT NULL REFERENCES builds(id),
  scenario    TEXT NOT NULL,
  exec_mode   TEXT NOT NULL,
  fault_mode  TEXT NOT NULL,          -- once | persist | none
  class_filter TEXT NOT NULL DEFAULT '',
  site        TEXT NOT NULL DEFAULT '',
  site_lo     INTEGER NOT NULL DEFAULT 0,
  site_hi     INTEGER NOT NULL DEFAULT 0,
  n           INTEGER NOT NULL,
  outcome     TEXT NOT NULL,          -- crash|panic|hang|leak|unbalanced|handled|completed|infra
  fired       INTEGER NOT NULL,       -- 0/1 from the end record (0 if no end record)
  ended       INTEGER NOT NULL,       -- 1 if the end record was seen
  attempts    INTEGER,                -- from the end record
  result_rc   INTEGER,                -- from the result record
  expected_panic INTEGER NOT NULL DEFAULT 0, -- 1 if the run ended in an annotated expected panic
  fault_event INTEGER,                -- events.seq of the first injected fault, NULL if none
  fault_pc    INTEGER,
  fault_stack INTEGER REFERENCES stacks(id),
  infra_reason TEXT,
  exit_status INTEGER,
  wall_ms     REAL,
  raw_log     TEXT,
  nevents     INTEGER NOT NULL,
  nmalformed  INTEGER NOT NULL,
  finished_at TEXT NOT NULL,
  events_cut  INTEGER NOT NULL DEFAULT 0, -- v3: accepted records not stored in events
  findings_cut INTEGER NOT NULL DEFAULT 0, -- v3: findings the checks found but did not store
  ops_unjudged INTEGER NOT NULL DEFAULT 0, -- v3: failed ops nested too deep for the order check
  coverage    BLOB,                   -- v4: bit i (byte i/8, bit i%8) set: cov_points idx i ran;
                                      -- NULL when the run sent no cov record
  in_full     INTEGER NOT NULL DEFAULT 1, -- v5: 1 events, ops, findings stored; 0 only this row
  fault_class TEXT,                   -- v5: allocator class of the first injected fault
  raw_log_z   BLOB,                   -- v5: a run not in full: its raw log, zlib (--keep-logs all)
  guard       INTEGER NOT NULL DEFAULT 0, -- v6: 1 in guard mode (`guard on`: freed memory unmapped)
  UNIQUE (build, scenario, exec_mode, fault_mode, class_filter, site, site_lo, site_hi, n, guard)
);
CREATE INDEX IF NOT EXISTS runs_by_sweep ON runs(sweep, n);              -- v2

CREATE TABLE IF NOT EXISTS events (   -- raw records of a run, in stream order
  run    INTEGER NOT NULL REFERENCES runs(id),
  seq    INTEGER NOT NULL,            -- position in the run's stream, from 0
  kind   TEXT NOT NULL,               -- alloc|free|fault|oom|badfree|op+|op-|ref|ckpt|result|panic|trap|end|run|hello|log
  kseq   INTEGER,                     -- the kernel's seq field where the record has one
  class  TEXT,                        -- page|obj for allocator records
  addr   INTEGER,                     -- object address (alloc/free/badfree/ref)
  size   INTEGER,
  pc     INTEGER,
  stack  INTEGER REFERENCES stacks(id),
  op     INTEGER,                     -- innermost open op id at this record (NULL if none)
  rc     INTEGER,                     -- op- rc, result rc, ref count
  name   TEXT,                        -- op name, badfree kind, ref kind+verb, ckpt kind, panic kind
  text   TEXT,                        -- the rest (panic message, log text, ckpt numbers)
  PRIMARY KEY (run, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ops (      -- one row per op+/op- pair
  run     INTEGER NOT NULL REFERENCES runs(id),
  id      INTEGER NOT NULL,           -- the kernel's op id
  parent  INTEGER,                    -- enclosing op id
  name    TEXT NOT NULL,
  pc      INTEGER,
  begin_seq INTEGER NOT NULL,         -- events.seq of op+
  end_seq INTEGER,                    -- events.seq of op-, NULL if never closed
  rc      INTEGER,
  PRIMARY KEY (run, id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS findings ( -- per-run findings from the tracer's checks
  id       INTEGER PRIMARY KEY,
  run      INTEGER NOT NULL REFERENCES runs(id),
  class    TEXT NOT NULL,   -- leak|double-free|invalid-free|mismatched-free|unbalanced-unwind|
                            -- unwind-order|refcount|panic|crash|hang
  severity TEXT NOT NULL,   -- error|warning
  func     TEXT,            -- function of the allocation site (leak, unbalanced, refcount) or of
                            -- the offending free (double/invalid/mismatched), panic/trap site
  pc       INTEGER,         -- that site's pc
  addr     INTEGER,         -- the object's address
  size     INTEGER,
  alloc_stack INTEGER REFERENCES stacks(id),
  free_stack  INTEGER REFERENCES stacks(id),  -- first free (double free), or the out-of-order free
  bad_stack   INTEGER REFERENCES stacks(id),  -- second/invalid/mismatched free, panic/trap stack
  op_name  TEXT,            -- the failed op (unbalanced, unwind-order)
  message  TEXT NOT NULL,   -- one line, human readable
  events   TEXT NOT NULL    -- comma-separated events.seq that prove it
);
CREATE INDEX IF NOT EXISTS findings_by_run ON findings(run);
CREATE INDEX IF NOT EXISTS findings_by_class ON findings(class, func);   -- v2

CREATE TABLE IF NOT EXISTS malformed (  -- rejected lines, escaped, at most 100 kept per run
  run    INTEGER NOT NULL REFERENCES runs(id),
  lineno INTEGER NOT NULL,
  reason TEXT NOT NULL,
  text   TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS cov_points ( -- v4: a build's coverage points (basic blocks)
  build INTEGER NOT NULL REFERENCES builds(id),
  idx   INTEGER NOT NULL,             -- bit index in runs.coverage
  pc    INTEGER NOT NULL,             -- return address of the block's __sanitizer_cov_trace_pc call
  func  TEXT,                         -- function symbol, NULL when unknown
  PRIMARY KEY (build, idx)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS cov_lines (  -- v4: the source lines each point's block runs
  build INTEGER NOT NULL REFERENCES builds(id),
  point INTEGER NOT NULL,             -- cov_points.idx
  file  TEXT NOT NULL,                -- as recorded in DWARF (relative to src_root when possible)
  line  INTEGER NOT NULL,
  PRIMARY KEY (build, point, file, line)
) WITHOUT ROWID;
