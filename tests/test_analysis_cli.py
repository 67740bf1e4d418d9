"""`python3 -m analysis`: exit codes, suppressions, and what the summary says."""
import json
import sqlite3
import subprocess
import sys

import pytest
from test_analysis_fixtures import ROOT, DbBuilder, clean_db, sample_db

from analysis import suppressions
from analysis.cli import main
from analysis.db import SCHEMA_VERSION


def cli(*args):
    """Run the real entry point as a user would."""
    p = subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def test_findings_exit_1_when_unsuppressed_findings_exist(tmp_path):
    code, out, _ = cli("findings", "--db", sample_db(tmp_path / "s.db"))
    assert code == 1
    assert "leak in proc_create: 1 page (proc_create) not freed after map_trapframe failed" \
        in out
    assert "repro: build/injector run --kernel build/kernel.elf --scenario proc --fail 3" in out
    assert "-> FAIL" in out


def test_findings_exit_0_on_a_clean_sweep(tmp_path):
    code, out, err = cli("findings", "--db", clean_db(tmp_path / "c.db"))
    assert (code, err) == (0, "")
    assert "-> PASS" in out


@pytest.mark.parametrize("args, message", [
    (["findings"], "--db"),
    (["findings", "--db", "/nonexistent/x.db"], "no such database"),
    (["bogus"], "invalid choice"),
])
def test_usage_errors_exit_2(args, message):
    code, _, err = cli(*args)
    assert code == 2 and message in err


def test_a_file_that_is_not_a_faultline_database_exits_2(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    code, _, err = cli("findings", "--db", junk)
    assert code == 2 and "faultline database" in err
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    code, _, err = cli("summary", "--db", other)
    assert code == 2 and "missing tables" in err


def test_a_newer_schema_version_is_refused(tmp_path):
    path = DbBuilder(tmp_path / "new.db", schema_version=SCHEMA_VERSION + 1).close()
    code, _, err = cli("findings", "--db", path)
    assert code == 2
    assert (f"schema version {SCHEMA_VERSION + 1} is newer than this analysis knows "
            f"({SCHEMA_VERSION})") in err


def test_suppressions_silence_findings_and_are_counted(tmp_path):
    db = sample_db(tmp_path / "s.db")
    supp = tmp_path / "supp.txt"
    supp.write_text("# known bugs\n\nleak:proc_*\nunbalanced-unwind:proc_create\n"
                    "double-free:fork\n*:vm_unmap\nleak:never_matches\n")
    out_json = tmp_path / "f.json"
    code, out, _ = cli("findings", "--db", db, "--suppressions", supp, "--json", out_json)
    # an entry matches a finding by any of its symptoms' classes: all three are silenced
    assert code == 0, out
    data = json.loads(out_json.read_text())
    counts = {s["entry"]: (s["findings"], s["occurrences"]) for s in data["suppressions"]}
    assert counts == {"leak:proc_*": (1, 10), "unbalanced-unwind:proc_create": (0, 0),
                      "double-free:fork": (1, 2), "*:vm_unmap": (1, 1),
                      "leak:never_matches": (0, 0)}
    assert "leak:proc_*" in out and "never_matches" in out
    supp.write_text("leak:proc_*\n")
    code, _, _ = cli("findings", "--db", db, "--suppressions", supp)
    assert code == 1


def test_suppression_globs_match_any_function_on_the_stack(tmp_path):
    db = sample_db(tmp_path / "s.db")
    rules = suppressions.parse("*:sys_fork\n")
    from analysis.db import Database
    from analysis.unique import analyze
    with Database(db) as d:
        a = analyze(d, rules)
    assert [u.class_text for u in a.suppressed] == ["double-free"]
    assert [o.class_text for o in a.suppressed[0].symptoms] == ["double-free", "unwind-order"]
    assert rules[0].findings == 1


@pytest.mark.parametrize("text, message", [
    ("leak\n", "expected class:glob"),
    ("leek:foo\n", "unknown class 'leek'"),
    ("leak:\n", "expected class:glob"),
])
def test_bad_suppressions_files_are_rejected_with_the_line(tmp_path, text, message):
    supp = tmp_path / "s.txt"
    supp.write_text("# ok\n" + text)
    code, _, err = cli("findings", "--db", clean_db(tmp_path / "c.db"), "--suppressions", supp)
    assert code == 2
    assert f"{supp}:2" in err and message in err


def test_warnings_fail_only_in_strict_mode(tmp_path):
    db = sample_db(tmp_path / "s.db")
    supp = tmp_path / "s.txt"
    supp.write_text("*:proc_create\ndouble-free:*\npanic:*\n")
    assert main(["findings", "--db", str(db), "--suppressions", str(supp)]) == 0
    assert main(["findings", "--db", str(db), "--suppressions", str(supp), "--strict"]) == 1


def test_summary_counts_outcomes_per_scenario_and_mode(tmp_path):
    out_json = tmp_path / "s.json"
    code, out, _ = cli("summary", "--db", sample_db(tmp_path / "s.db"), "--json", out_json)
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.startswith("proc") and "persist" in ln)
    assert line.split()[:5] == ["proc", "fresh", "persist", "5", "5"]
    groups = json.loads(out_json.read_text())["groups"]
    boot = next(g for g in groups if g["scenario"] == "boot")
    assert boot["outcomes"] == {"infra": 1, "panic": 2}


def test_expected_panic_is_listed_apart_and_not_a_finding(tmp_path):
    code, out, _ = cli("findings", "--db", sample_db(tmp_path / "s.db"), "--json", "-")
    data = json.loads(out)
    assert [(f["class"], f["function"]) for f in data["findings"]
            if f["class"] == "panic"] == [("panic", "vm_unmap")]
    assert data["totals"]["expected_panics"] == 1
    assert data["expected_panics"][0]["message"] == \
        "kinit: out of memory for the kernel page table"
