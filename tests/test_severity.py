"""Severity where the kernel promises atomicity (analysis/atomicity.py, docs/analysis.md).

End to end on seeded bugs in real QEMU: `map-keeps-tables` makes a failed vm_map keep the
table pages it linked, which vm_destroy frees at teardown (nothing leaks). The sample
kernel's own profile (faultline.ini) promises every op atomic, so that is an error; a declaration
that vm_map is not atomic makes it a warning. A leak stays an error whatever is declared."""
import json
import os
import subprocess
import sys

import pytest
from conftest import BUILD, ROOT

from analysis import atomicity
from analysis.profile import parse as parse_profile
from analysis.db import Database
from analysis.sources import SourceTree

BUGS = ROOT / "sample-kernel" / "bugs"
NOT_ATOMIC_MAP = "[analysis]\natomic = *\nnot_atomic = vm_map\n"


def analysis(*args):
    p = subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def bug_kernel(name, out):
    env = dict(os.environ, BUILD=str(BUILD), BUGS_OUT=str(out))
    p = subprocess.run([str(BUGS / "build.sh"), name], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout.strip().splitlines()[-1]


def sweep(elf, db, scenario, site, *extra):
    argv = [str(BUILD / "injector"), "sweep", "--kernel", elf, "--db", str(db), "--scenario",
            scenario, "--site", site, "--mode", "reset", "-j", "2", "--quiet", *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def kept_tables(tmp_path_factory):
    """A swept kernel whose failed vm_map keeps its tables until teardown: (elf, db)."""
    work = tmp_path_factory.mktemp("severity")
    elf = bug_kernel("map-keeps-tables", work / "kernels")
    db = work / "kept.db"
    r = sweep(elf, db, "proc", "vm_walk_level")
    assert r.returncode == 1, r.stdout + r.stderr
    return elf, db


def findings_json(db, *args):
    code, out, err = analysis("findings", "--db", db, "--json", "-", *args)
    assert code in (0, 1), err
    return code, json.loads(out)


def test_sample_kernel_declaration_keeps_an_unbalanced_unwind_freed_at_teardown_an_error(
        kept_tables):
    _, db = kept_tables
    code, doc = findings_json(db)
    assert code == 1
    [f] = doc["findings"]
    assert (f["class"], f["severity"]) == ("unbalanced-unwind", "error")
    assert f["function"] in ("vm_walk_level", "map_range")   # the two the patch changes
    assert doc["totals"]["warnings"] == 0
    with Database(db) as d:
        decl = atomicity.declarations(d, SourceTree(d.builds()))
    assert [a.source for a in decl.values()] == ["sample-kernel/faultline.ini"]


def test_op_declared_not_atomic_makes_the_unbalanced_unwind_a_warning_exit_0(
        kept_tables, tmp_path):
    _, db = kept_tables
    profile = tmp_path / "faultline.ini"
    profile.write_text(NOT_ATOMIC_MAP)
    code, doc = findings_json(db, "--profile", profile)
    assert code == 0
    assert doc["findings"] and all(f["severity"] == "warning" for f in doc["findings"])
    assert doc["totals"]["errors"] == 0
    assert "vm_map is not declared atomic" in doc["findings"][0]["message"]
    code, _, _ = analysis("findings", "--db", db, "--profile", profile, "--strict")
    assert code == 1


def test_declaration_beside_the_kernel_elf_is_found_without_an_option(kept_tables):
    elf, db = kept_tables
    beside = os.path.join(os.path.dirname(elf), "faultline.ini")
    with open(beside, "w") as f:
        f.write(NOT_ATOMIC_MAP)
    try:
        code, out, _ = analysis("findings", "--db", db)
    finally:
        os.unlink(beside)
    assert code == 0 and "0 finding(s), 1 warning(s)" in out


def test_injector_sweep_passes_the_declaration_to_its_count(kept_tables, tmp_path):
    elf, _ = kept_tables
    profile = tmp_path / "faultline.ini"
    profile.write_text(NOT_ATOMIC_MAP)
    r = sweep(elf, tmp_path / "p.db", "proc", "vm_walk_level", "--profile", str(profile))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "result: 0 finding(s), 1 warning(s)" in r.stdout


def test_a_leaked_object_stays_an_error_when_no_op_is_declared_atomic(tmp_path):
    elf = bug_kernel("proc-keeps-trapframe", tmp_path / "kernels")
    db = tmp_path / "leak.db"
    assert sweep(elf, db, "proc", "vm_create").returncode == 1
    profile = tmp_path / "faultline.ini"
    profile.write_text("[analysis]\nnot_atomic = *\n")
    code, doc = findings_json(db, "--profile", profile)
    assert code == 1
    [leak] = doc["findings"]
    assert (leak["class"], leak["severity"], leak["function"]) == \
        ("leak", "error", "proc_create")
    assert {s["class"] for s in leak["symptoms"]} == {"leak", "unbalanced-unwind"}


@pytest.mark.parametrize("text, message", [
    ("[analysis\n", ":1: not a [section], key = value"),
    ("[analysis]\nnot-atomic = vm_map\n", ":2: unknown key 'not-atomic' in [analysis]"),
    ("[atomicity]\natomic = *\n", ":1: unknown section [atomicity]"),
    ("[analysis]\natomic = *\natomic = vm_*\n", ":3: 'atomic' given twice in [analysis]"),
])
def test_unusable_profile_exits_2_naming_the_file_and_line(kept_tables, tmp_path, text,
                                                           message):
    _, db = kept_tables
    profile = tmp_path / "bad.ini"
    profile.write_text(text)
    code, out, err = analysis("findings", "--db", db, "--profile", profile)
    assert (code, out) == (2, "")
    assert f"{profile}{message}" in err


def test_globs_decide_which_ops_promise_atomicity(tmp_path):
    decl = atomicity.of(parse_profile("[analysis]\natomic = vm_* spawn\nnot_atomic = vm_map*\n",
                                      "k.ini", tmp_path))
    assert [decl.promises(op) for op in ("vm_copy", "spawn", "vm_map", "vm_map_huge", "exit")] \
        == [True, True, False, False, False]
    assert atomicity.of(parse_profile("", "empty.ini", tmp_path)).promises("anything")
