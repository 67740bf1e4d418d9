"""Error-path coverage end to end: the kernel's cov records, the tracer's checks on them, the
schema v4 tables, the never-reached list, the lcov tracefile and the coverage gate."""
import pathlib
import shutil
import sqlite3
import subprocess

import pytest

from analysis import coverage
from analysis.db import SCHEMA_VERSION, Database
from tracer_support import as_version_5, rows

ROOT = pathlib.Path(__file__).resolve().parent.parent


def sweep(build_dir, kernel, db, scenario, *extra):
    """Sweep scenario into db; the injector's own count of unique findings must work."""
    p = subprocess.run([str(build_dir / "injector"), "sweep", "--kernel", str(kernel),
                        "--scenario", scenario, "--mode", "warm", "-j", "2", "--db", str(db),
                        *extra], capture_output=True, text=True, timeout=600)
    assert p.returncode in (0, 1), p.stderr
    assert "cannot count unique findings" not in p.stdout + p.stderr
    return db


def analysis(*args):
    return subprocess.run(["/usr/bin/python3", "-m", "analysis", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture(scope="session")
def cov_elf(build_dir):
    """The sample kernel built with coverage (sample-kernel/kernel.mk)."""
    p = build_dir / "kernel-cov.elf"
    assert p.exists(), f"{p} missing: run `make` first"
    return p


@pytest.fixture(scope="module")
def blk_db(build_dir, cov_elf, tmp_path_factory):
    """The clean kernel's blk scenario, swept once."""
    return sweep(build_dir, cov_elf, tmp_path_factory.mktemp("cov") / "blk.db", "blk")


def build_id(db):
    return rows(db, "SELECT build_id FROM builds")[0][0]


def point_pcs(db):
    return [r[0] & (1 << 64) - 1 for r in rows(db, "SELECT pc FROM cov_points ORDER BY idx")]


# --- the tracer ---------------------------------------------------------------------------

def test_every_run_of_a_coverage_kernel_stores_its_blocks_and_no_line_is_malformed(blk_db):
    runs = rows(blk_db, "SELECT coverage, nmalformed FROM runs")
    npoints = len(point_pcs(blk_db))
    assert npoints > 500 and runs
    assert all(r["nmalformed"] == 0 for r in runs)
    assert all(len(r["coverage"]) == (npoints + 7) // 8 and any(r["coverage"]) for r in runs)
    assert rows(blk_db, "SELECT count(*) FROM cov_lines WHERE file LIKE '%kernel/blk.c'")[0][0]


def cov_line(pc, bits):
    return f"cov {pc:x} {bits}"


def test_hostile_cov_records_are_rejected_whole_and_never_mark_a_block(build_dir, cov_elf,
                                                                       blk_db, tmp_path):
    """Out-of-range offsets, oversized bitmaps, garbage hex: each line is counted malformed
    and marks nothing; the one good record marks exactly its block (under ASan/UBSan)."""
    pcs = point_pcs(blk_db)
    first, good = pcs[0], pcs[5]
    hostile = [
        cov_line(0x10, "01"),                               # far below the text
        cov_line(0xfffffffffffffff0, "01"),                 # past the address space
        cov_line(first + 1, "01"),                          # odd pc
        cov_line(first - 2, "0100"),                        # a slot that is no block
        cov_line(first, "0" * 488 + "01"),                  # longer than 244 bytes
        cov_line(first, "zz"),                              # not hex
        cov_line(first, "0G"),
        cov_line(first, "ABCD"),                            # upper case
        cov_line(first, "012"),                             # half a byte
        f"cov {first:x}",                                   # no bitmap
        f"cov {first:x} 01 02",                             # extra field
        cov_line(good, "01") + "ff",                        # marks a slot after the block too
    ]
    log = tmp_path / "hostile.log"
    log.write_text(f"hello faultline 1 {build_id(blk_db)}\nrun blk\n" +
                   "".join(line + "\n" for line in hostile) +
                   cov_line(good, "01") + "\nresult blk 0\nend 0 0 0\n")
    db = tmp_path / "h.db"
    p = subprocess.run([str(build_dir / "tracer-asan"), "ingest", "--kernel", str(cov_elf),
                        "--db", str(db), str(log)], capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stderr
    run = rows(db, "SELECT id, nmalformed, coverage FROM runs")[0]
    assert run["nmalformed"] == len(hostile)
    assert [i * 8 + k for i, byte in enumerate(run["coverage"]) for k in range(8)
            if byte >> k & 1] == [5]
    reasons = {r[0] for r in rows(db, "SELECT reason FROM malformed")}
    assert {"cov: bad pc", "cov: bad bitmap", "cov: bitmap too long",
            "cov: past the address space", "cov: no coverage point at a marked slot",
            "missing field", "extra field"} <= reasons


def test_version_3_database_gains_the_coverage_tables_and_keeps_its_runs(build_dir, cov_elf,
                                                                         blk_db, tmp_path):
    db = tmp_path / "v3.db"
    shutil.copy(blk_db, db)
    as_version_5(db)
    con = sqlite3.connect(db)
    nruns = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    con.executescript("DROP TABLE cov_points; DROP TABLE cov_lines;"
                      "ALTER TABLE runs DROP COLUMN coverage;"
                      "ALTER TABLE runs DROP COLUMN in_full;"
                      "ALTER TABLE runs DROP COLUMN fault_class;"
                      "ALTER TABLE runs DROP COLUMN raw_log_z;"
                      "UPDATE meta SET value = '3' WHERE key = 'schema_version';")
    con.commit()
    con.close()
    sweep(build_dir, cov_elf, db, "blk")             # resumes: every run is already there
    assert rows(db, "SELECT value FROM meta WHERE key='schema_version'")[0][0] == \
        str(SCHEMA_VERSION)
    assert rows(db, "SELECT count(*) FROM runs")[0][0] == nruns
    assert len(point_pcs(db)) == len(point_pcs(blk_db))


# --- analysis -----------------------------------------------------------------------------

def test_summary_prints_the_error_path_line_of_the_sweep(blk_db):
    p = analysis("summary", "--db", blk_db)
    assert p.returncode == 0, p.stderr
    with Database(blk_db) as db:
        cov = coverage.build_coverages(db, db.runs())[0]
    assert cov.total > 0
    assert f"error paths reached: {cov.reached}/{cov.total} lines" in p.stdout


def test_genhtml_renders_the_lcov_tracefile_without_errors(blk_db, tmp_path):
    info = tmp_path / "cov.info"
    p = analysis("findings", "--db", blk_db, "--lcov", info)
    assert p.returncode == 0, p.stdout + p.stderr
    text = info.read_text()
    assert f"SF:{ROOT / 'sample-kernel/kernel/blk.c'}\n" in text
    g = subprocess.run(["genhtml", "-o", str(tmp_path / "html"), str(info)],
                       capture_output=True, text=True, timeout=120)
    assert g.returncode == 0 and "WARNING" not in g.stderr + g.stdout, g.stderr
    assert (tmp_path / "html" / "index.html").is_file()


def test_min_error_coverage_fails_the_gate_only_below_the_minimum(blk_db):
    with Database(blk_db) as db:
        percent = coverage.build_coverages(db, db.runs())[0].percent
    below = analysis("findings", "--db", blk_db, "--min-error-coverage", percent + 0.5)
    assert below.returncode == 1 and "is below the minimum of" in below.stdout
    at = analysis("findings", "--db", blk_db, "--min-error-coverage", percent - 0.5)
    assert at.returncode == 0, at.stdout


@pytest.fixture(scope="module")
def unreached_leak_elf(build_dir, tmp_path_factory):
    """The sample kernel with tests/data/cov-unreached-leak.patch: blk_probe leaks on a path
    that only a disk no scenario attaches would take."""
    src = tmp_path_factory.mktemp("unreached")
    shutil.copytree(ROOT / "sample-kernel", src / "sample-kernel",
                    ignore=shutil.ignore_patterns("bugs"))
    for objs in ("sample-kernel", "sample-kernel-cov", "user"):   # only blk.c recompiles
        if (build_dir / objs).is_dir():
            shutil.copytree(build_dir / objs, src / "build" / objs)
    subprocess.run(["patch", "-p1", "-s", "-d", str(src),
                    "-i", str(ROOT / "tests/data/cov-unreached-leak.patch")], check=True)
    subprocess.run(["make", "-s", "-C", str(src), "-f", "sample-kernel/kernel.mk",
                    "BUILD=build", "build/kernel-cov.elf"], check=True, timeout=600,
                   capture_output=True)
    return src / "build" / "kernel-cov.elf", src / "sample-kernel/kernel/blk.c"


def test_bug_on_a_path_no_scenario_reaches_is_listed_as_never_reached(
        build_dir, unreached_leak_elf, tmp_path):
    elf, blk_c = unreached_leak_elf
    db = sweep(build_dir, elf, tmp_path / "u.db", "blk")
    leak_line = next(i for i, text in enumerate(blk_c.read_text().splitlines(), 1)
                     if "label = obj_alloc(16)" in text)
    with Database(db) as d:
        runs = d.runs()
        cov = coverage.sweep_coverage(d, runs, runs[0].sweep)
    assert not any(r.outcome.name == "LEAK" for r in runs)     # the sweep itself passes
    never = cov.never_reached_functions()
    assert leak_line in [h.line for h in never["blk_probe"]]
    p = analysis("summary", "--db", db)
    assert "blk_probe: " in p.stdout
    assert f",{leak_line}," in p.stdout or f":{leak_line}," in p.stdout
    # the report's page for blk.c marks the line as an error path never reached
    out = tmp_path / "report"
    assert analysis("report", "--db", db, "--out", out, "--src-root", blk_c.parents[2]) \
        .returncode == 0
    assert 'href="coverage/index.html">error paths reached:' in (out / "index.html").read_text()
    page = next(p for p in (out / "coverage").glob("b*-f*.html")
                if "<h1 class=\"mono\">sample-kernel/kernel/blk.c</h1>" in p.read_text())
    assert f'<span class="cov-never" id="L{leak_line}">' in page.read_text()


def test_kernel_without_coverage_sends_no_cov_record_and_is_swept_as_before(build_dir,
                                                                           kernel_elf,
                                                                           tmp_path):
    db = sweep(build_dir, kernel_elf, tmp_path / "plain.db", "blk")
    assert rows(db, "SELECT count(*) FROM cov_points")[0][0] == 0
    assert rows(db, "SELECT count(*) FROM runs WHERE coverage IS NOT NULL "
                    "OR nmalformed > 0")[0][0] == 0
    p = analysis("summary", "--db", db)
    assert p.returncode == 0 and "error paths reached" not in p.stdout


def test_gate_fails_a_sweep_whose_error_coverage_is_below_its_minimum(cov_elf, tmp_path):
    from analysis.gate import Gate
    lenient = Gate(cov_elf, jobs=2, min_error_coverage=0).sweep("blk", tmp_path / "g.db")
    assert lenient.passed and lenient.error_coverage is not None
    strict = Gate(cov_elf, jobs=2, min_error_coverage=lenient.error_coverage + 0.5) \
        .sweep("blk", tmp_path / "g.db")
    assert not strict.passed and strict.verdict == "PASS"
    assert "is below the minimum" in strict.explain()
