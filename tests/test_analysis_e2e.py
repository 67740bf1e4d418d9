"""Analysis of a real sweep: the sample kernel's test-only scenarios swept by build/injector
must give exactly one finding per seeded mistake, each with its source location."""
import json
import subprocess
import sys

import pytest
from test_analysis_fixtures import ROOT


@pytest.fixture(scope="module")
def real_db(tmp_path_factory, build_dir):
    injector, kernel = build_dir / "injector", build_dir / "kernel.elf"
    assert injector.exists() and kernel.exists(), "run `make` first"
    db = tmp_path_factory.mktemp("real") / "sweep.db"
    p = subprocess.run([str(injector), "sweep", "--kernel", str(kernel), "--scenario",
                        "test-leak,test-doublefree,test-wrongfree", "--mode", "reset",
                        "--both", "-j", "2", "--quiet", "--db", str(db)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode in (0, 1), p.stderr[-2000:]
    return db


def analysis(*args):
    return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_real_sweep_gives_one_finding_per_seeded_mistake(real_db, tmp_path):
    out = tmp_path / "f.json"
    sarif = tmp_path / "f.sarif"
    p = analysis("findings", "--db", real_db, "--json", out, "--sarif", sarif)
    assert p.returncode == 1, p.stderr
    data = json.loads(out.read_text())
    by_class = {}
    for f in data["findings"]:
        by_class.setdefault(f["class"], []).append(f)
    assert sorted(by_class) == ["double-free", "leak", "mismatched-free"]
    assert [f["function"] for f in by_class["leak"]] == ["scen_test_leak"]
    assert [f["function"] for f in by_class["double-free"]] == ["scen_test_doublefree"]
    # both fault modes showed each bug, and they were merged
    for fs in by_class.values():
        assert len(fs) == 1 and fs[0]["fault_modes"] == ["once", "persist"]
        assert fs[0]["location"]["file"].startswith("sample-kernel/")
        assert fs[0]["location"]["line"] > 0
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"faultline-leak", "faultline-double-free",
                                              "faultline-mismatched-free"}


def test_real_sweep_report_shows_kernel_sources(real_db, tmp_path):
    p = analysis("report", "--db", real_db, "--out", tmp_path / "site")
    assert p.returncode == 0, p.stderr
    pages = list((tmp_path / "site" / "findings").glob("*.html"))
    assert len(pages) == 3
    text = next(pg.read_text() for pg in pages if "double-free in" in pg.read_text())
    assert "obj_free(p);" in text                 # the offending line, from the source
    assert 'class="hit"' in text
