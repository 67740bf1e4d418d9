"""One count everywhere: the injector's end-of-sweep summary gives the unique findings after
suppressions exactly as `python3 -m analysis findings` does, with the same exit code, and a
sweep that did not run to its end is INCOMPLETE, never PASS, in every output.

Real sweeps of seeded-bug kernels and of the clean kernel in real QEMU (reset mode, small
sweeps, two workers)."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import BUILD, ROOT

BUGS = ROOT / "sample-kernel" / "bugs"


def result_line(text):
    return next(l for l in reversed(text.splitlines()) if l.startswith("result: "))


def analysis(*args, cwd=ROOT):
    p = subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], cwd=cwd,
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def sweep(elf, db, *args, env=None):
    argv = [str(BUILD / "injector"), "sweep", "--kernel", str(elf), "--db", str(db),
            "--mode", "reset", "-j", "2", "--quiet", *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))


@pytest.fixture(scope="module")
def bug_elf(tmp_path_factory):
    """map-keeps-tables: one bug, an unbalanced unwind seen in many runs of a sweep."""
    out = tmp_path_factory.mktemp("count")
    p = subprocess.run([str(BUGS / "build.sh"), "map-keeps-tables"], cwd=ROOT,
                       env=dict(os.environ, BUILD=str(BUILD), BUGS_OUT=str(out)),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout.strip().splitlines()[-1]


def test_seeded_bug_sweep_prints_the_analysis_count_and_exits_as_it_does(bug_elf, tmp_path):
    db = tmp_path / "bug.db"
    r = sweep(bug_elf, db, "--scenario", "proc", "--site", "vm_walk_level")
    runs = int(r.stdout.split("runs with findings: ")[1].split()[0])
    code, out, _ = analysis("findings", "--db", db)
    assert r.returncode == code == 1, r.stdout + r.stderr
    assert result_line(r.stdout) == result_line(out)
    unique = int(result_line(out).split()[1])
    assert result_line(out).startswith(f"result: {unique} finding(s), 0 warning(s), 0 supp")
    assert 0 < unique < runs      # many runs, counted once per unique finding


def test_suppressions_given_to_the_sweep_count_as_in_the_analysis(bug_elf, tmp_path):
    supp = tmp_path / "known.supp"
    supp.write_text("unbalanced-unwind:vm_walk_level\n")
    db = tmp_path / "s.db"
    r = sweep(bug_elf, db, "--scenario", "proc", "--site", "vm_walk_level", "--suppressions", supp)
    code, out, _ = analysis("findings", "--db", db, "--suppressions", supp)
    assert r.returncode == code == 0, r.stdout + r.stderr
    assert result_line(r.stdout) == result_line(out)
    assert result_line(out).startswith("result: 0 finding(s), 0 warning(s), ")
    assert ", 0 suppressed" not in result_line(out)
    assert result_line(out).endswith("-> PASS")


def test_sweep_refuses_an_unreadable_suppressions_file_before_running(bug_elf, tmp_path):
    r = sweep(bug_elf, tmp_path / "x.db", "--scenario", "proc", "--suppressions",
              tmp_path / "missing.supp")
    assert r.returncode == 2 and "cannot read" in r.stderr
    assert not (tmp_path / "x.db").exists()


def test_max_n_stopped_sweep_is_incomplete_in_every_output(kernel_elf, tmp_path):
    db = tmp_path / "capped.db"
    r = sweep(kernel_elf, db, "--scenario", "vm", "--max-n", "3")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "INCOMPLETE: stopped at --max-n 3" in r.stdout
    assert result_line(r.stdout).endswith("-> INCOMPLETE")

    code, out, _ = analysis("findings", "--db", db, "--json", tmp_path / "f.json",
                            "--junit", tmp_path / "j.xml")
    assert code == 0 and result_line(out) == result_line(r.stdout)
    doc = json.loads((tmp_path / "f.json").read_text())
    assert doc["status"] == "INCOMPLETE"
    assert [g["sweep_line"] for g in doc["incomplete"]] == ["vm reset/once"]
    case = ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase")
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("message").startswith("INCOMPLETE: vm")
    _, out, _ = analysis("summary", "--db", db)
    assert "vm reset/once: not swept to the end (3 run(s), N up to 3)" in out
    code, _, _ = analysis("report", "--db", db, "--out", tmp_path / "site")
    index = (tmp_path / "site" / "index.html").read_text()
    assert code == 0 and '<span class="verdict incomplete">INCOMPLETE</span>' in index

    # the same sweep run to its end closes the gap
    r = sweep(kernel_elf, db, "--scenario", "vm")
    assert r.returncode == 0, r.stdout + r.stderr
    assert result_line(r.stdout).endswith("-> PASS")
    _, out, _ = analysis("findings", "--db", db)
    assert result_line(out).endswith("-> PASS")


def test_without_the_analysis_the_sweep_says_why_and_never_passes_a_capped_sweep(
        kernel_elf, bug_elf, tmp_path):
    gone = {"FAULTLINE_PYTHON": str(tmp_path / "no-python")}
    r = sweep(kernel_elf, tmp_path / "a.db", "--scenario", "vm", "--max-n", "2", env=gone)
    assert r.returncode == 0
    assert "cannot count unique findings: cannot run" in r.stderr
    assert result_line(r.stdout).endswith("unique findings not counted "
                                          f"(cannot run {gone['FAULTLINE_PYTHON']}; count "
                                          f"them with python3 -m analysis findings --db "
                                          f"{tmp_path / 'a.db'}) -> INCOMPLETE")
    r = sweep(bug_elf, tmp_path / "b.db", "--scenario", "proc", "--site", "vm_walk_level",
              "--no-analysis")
    assert r.returncode == 1 and "finding: proc once N=" in r.stdout
    assert result_line(r.stdout).endswith("(--no-analysis; count them with python3 -m "
                                          f"analysis findings --db {tmp_path / 'b.db'}) -> FAIL")
