"""The pytest plugin (analysis/pytest_plugin.py) as a kernel project meets it: a pytest
session run by pytester in a directory of its own, with the plugin loaded by `-p`, sweeping
the real sample kernel (clean, or with the seeded bug trapframe-no-undo) in real QEMU.

Sweeps are small (scenarios proc and boot, warm mode, two QEMUs), so each session takes a
second or two."""
import re
import sqlite3
import xml.etree.ElementTree as ET

import pytest
from analysis.db import Database
from analysis.gate import Gate
from analysis.merge import MergeError, merge
from analysis.unique import analyze
from conftest import BUILD, ROOT
from test_bugs import build_bug

pytest_plugins = ["pytester"]

BUG, ROOT_FUNCTION = "trapframe-no-undo", "proc_pagetable"


@pytest.fixture(scope="module")
def bug_elf(tmp_path_factory):
    return build_bug(BUG, tmp_path_factory.mktemp("pytest-plugin"))


@pytest.fixture
def suite(pytester, monkeypatch):
    """A kernel project's directory: its own rootdir, faultline on PYTHONPATH."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("FAULTLINE_INJECTOR", str(BUILD / "injector"))
    pytester.makeini("[pytest]\n")
    return pytester


def session(pytester, kernel, *args):
    return pytester.runpytest_subprocess("-p", "analysis.pytest_plugin",
                                         f"--faultline-kernel={kernel}",
                                         "--faultline-jobs=2", *args)


def junit_cases(path):
    """{test name: {property: value}} of a JUnit file pytest wrote."""
    return {c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")}
            for c in ET.parse(path).getroot().iter("testcase")}


def test_clean_kernel_passes_one_item_per_scenario_and_fault_mode(suite, kernel_elf):
    xml = suite.path / "out.xml"
    r = session(suite, kernel_elf, "--faultline-scenarios=proc,boot", f"--junitxml={xml}")
    r.assert_outcomes(passed=4)
    cases = junit_cases(xml)
    assert sorted(cases) == ["boot[once]", "boot[persist]", "proc[once]", "proc[persist]"]
    assert all(int(p["faultline_runs_executed"]) > 0 and p["faultline_verdict"] == "PASS"
               for p in cases.values())


def test_all_means_every_sweepable_scenario_and_k_selects_among_them(suite, kernel_elf):
    r = session(suite, kernel_elf, "--collect-only", "-q")
    ids = {line for line in r.outlines if line.startswith("faultline::")}
    offered = Gate(kernel_elf, injector=BUILD / "injector").offered()
    want = {s for s in offered if s != "all" and not s.startswith("test-")}
    assert ids == {f"faultline::{s}[{f}]" for s in want for f in ("once", "persist")}
    r = session(suite, kernel_elf, "--collect-only", "-q", "-k", "mmap and not persist")
    assert [line for line in r.outlines if line.startswith("faultline::")] == \
        ["faultline::mmap[once]"]


def test_seeded_bug_fails_naming_the_root_function_its_line_the_repro_and_the_report(
        suite, bug_elf):
    r = session(suite, bug_elf, "--faultline-scenarios=proc,boot")
    r.assert_outcomes(failed=2, passed=2)
    out = r.stdout.str()
    for fault in ("once", "persist"):
        assert f"faultline: proc ({fault}): FAIL, 1 finding(s)" in out
    assert out.count(f"leak in {ROOT_FUNCTION}: ") == 2
    assert re.search(rf"function: {ROOT_FUNCTION} \(sample-kernel/kernel/proc\.c:\d+\)", out)
    assert f"repro: build/injector run --kernel {bug_elf} --scenario proc --fail " in out
    report = re.search(r"report: (\S+index\.html) \(written when the session ends\)", out)
    assert report and (suite.path / report.group(1)).is_file()
    assert ROOT_FUNCTION in (suite.path / report.group(1)).read_text()


def test_rerun_resumes_from_the_cache_and_executes_no_new_run(suite, kernel_elf):
    first, second = suite.path / "1.xml", suite.path / "2.xml"
    session(suite, kernel_elf, "--faultline-scenarios=proc", f"--junitxml={first}"
            ).assert_outcomes(passed=2)
    session(suite, kernel_elf, "--faultline-scenarios=proc", f"--junitxml={second}"
            ).assert_outcomes(passed=2)
    before, after = junit_cases(first), junit_cases(second)
    for name in ("proc[once]", "proc[persist]"):
        assert int(before[name]["faultline_runs_executed"]) > 0
        assert after[name]["faultline_runs_executed"] == "0"
        assert after[name]["faultline_runs"] == before[name]["faultline_runs"]
        assert after[name]["faultline_db"] == before[name]["faultline_db"]


def test_last_failed_reruns_only_the_failing_sweeps_and_exitfirst_stops_at_one(
        suite, bug_elf):
    session(suite, bug_elf, "--faultline-scenarios=proc,boot"
            ).assert_outcomes(failed=2, passed=2)
    r = session(suite, bug_elf, "--faultline-scenarios=proc,boot", "--lf", "-x")
    r.assert_outcomes(failed=1, deselected=2)


def test_two_xdist_workers_sweep_apart_and_the_report_merges_them(suite, bug_elf):
    xml = suite.path / "out.xml"
    r = session(suite, bug_elf, "--faultline-scenarios=proc,boot", "-n", "2", "-v",
                f"--junitxml={xml}")
    r.assert_outcomes(failed=2, passed=2)
    assert {"[gw0]", "[gw1]"} <= set(re.findall(r"\[gw\d\]", r.stdout.str()))
    cases = junit_cases(xml)
    dbs = {p["faultline_db"] for p in cases.values()}
    assert len(dbs) == 4
    merged = re.search(r"merged into (\S+faultline\.db); report: (\S+)", r.stdout.str())
    assert merged and (suite.path / merged.group(2)).is_file()
    with Database(suite.path / merged.group(1)) as db:
        audit = analyze(db)
    assert sorted(g.label for g in audit.groups) == [
        "boot warm/once", "boot warm/persist", "proc warm/once", "proc warm/persist"]
    assert len(audit.runs) == sum(int(p["faultline_runs"]) for p in cases.values())
    assert [(f.func, f.fault_modes) for f in audit.findings] == \
        [(ROOT_FUNCTION, ["once", "persist"])]


FIXTURE_TESTS = """
from analysis.model import FindingClass, Outcome

def test_tenth_table_allocation_of_proc_leaks_in_proc_pagetable(faultline):
    r = faultline.run("proc", fail=10, site="vm_walk_level")
    assert r.fired and r.fault_function == "vm_walk_level"
    assert r.outcome is Outcome.LEAK
    assert [(f.cls, f.function) for f in r.findings] == [
        (FindingClass.LEAK, "proc_pagetable")]
    assert r.findings[0].where.startswith("sample-kernel/kernel/proc.c:")
    assert r.log.is_file()

def test_first_table_allocation_of_proc_is_handled(faultline):
    r = faultline.run("proc", fail=1, site="vm_walk_level")
    assert r.fired and r.outcome is Outcome.HANDLED and not r.findings

def test_sweep_of_proc_table_allocations_names_proc_pagetable(faultline):
    s = faultline.sweep("proc", site="vm_walk_level")
    assert not s.passed and s.executed == s.runs
    assert [(f.cls, f.function) for f in s.errors] == [
        (FindingClass.LEAK, "proc_pagetable")]
"""


def test_fixture_gives_typed_results_that_fail_only_on_the_buggy_kernel(
        suite, bug_elf, kernel_elf):
    suite.makepyfile(test_kernel=FIXTURE_TESTS)
    session(suite, bug_elf, "--faultline-scenarios=none").assert_outcomes(passed=3)
    r = session(suite, kernel_elf, "--faultline-scenarios=none")
    r.assert_outcomes(passed=1, failed=2)
    out = r.stdout.str()
    assert "assert <Outcome.HANDLED: 'handled'> is <Outcome.LEAK: 'leak'>" in out
    assert "assert (not True)\nE        +  where True = SweepResult(scenario='proc'" in out


def test_fixture_without_a_kernel_fails_saying_what_to_pass(suite):
    suite.makepyfile(test_kernel="def test_it(faultline):\n    pass\n")
    r = suite.runpytest_subprocess("-p", "analysis.pytest_plugin")
    r.assert_outcomes(errors=1)
    r.stdout.fnmatch_lines(["*the faultline fixture needs a kernel: --faultline-kernel*"])


def test_conftest_and_profile_give_the_kernel_scenarios_and_suppressions(suite, bug_elf):
    """The way docs/pytest.md sets a project up: the plugin named in conftest.py, the
    profile in the ini's addopts, the kernel and a suppression in the profile."""
    suite.makeconftest('pytest_plugins = ["analysis.pytest_plugin"]\n')
    suite.makeini("[pytest]\naddopts = --faultline-profile=faultline.ini\n")
    (suite.path / "known.txt").write_text(f"leak:{ROOT_FUNCTION}\n")
    (suite.path / "faultline.ini").write_text(
        f"[kernel]\nelf = {bug_elf}\n\n[sweep]\nscenarios = proc\nfault = once\n\n"
        "[analysis]\natomic = *\nsuppressions = known.txt\n")
    r = suite.runpytest_subprocess("-v")
    r.assert_outcomes(passed=1)
    r.stdout.fnmatch_lines(["*faultline::proc?once? PASSED*"])
    (suite.path / "known.txt").write_text("")
    suite.runpytest_subprocess().assert_outcomes(failed=1)


def test_the_sample_kernels_profile_names_its_kernel(suite):
    profile = ROOT / "sample-kernel" / "faultline.ini"
    r = suite.runpytest_subprocess("-p", "analysis.pytest_plugin",
                                   f"--faultline-profile={profile}",
                                   "--faultline-scenarios=boot", "--faultline-fault=once")
    r.assert_outcomes(passed=1)


@pytest.mark.parametrize("files,args,message", [
    ({"k.elf": "not a kernel"}, ["--faultline-kernel=k.elf"],
     "not a 64-bit RISC-V executable"),
    ({}, ["--faultline-kernel=missing.elf"], "missing.elf"),
    ({"p.ini": "[kernel]\nkernal = build/kernel.elf\n"}, ["--faultline-profile=p.ini"],
     "p.ini:2: unknown key 'kernal' in [kernel] (known: elf)"),
    ({"p.ini": "[pytest]\nmin_error_coverage = most\n"}, ["--faultline-profile=p.ini"],
     "p.ini:2: [pytest] min_error_coverage wants a percentage from 0 to 100, not 'most'"),
    ({"p.ini": "[sweep\n"}, ["--faultline-profile=p.ini"], "p.ini:1: not a [section]"),
    ({"p.ini": "[sweep]\nmode = cold\n"}, ["--faultline-profile=p.ini"],
     "mode is one of fresh, reset, warm, not 'cold'"),
    ({"s.txt": "leak\n"}, ["--faultline-suppressions=s.txt"], "s.txt"),
    ({}, ["--faultline-scenarios=proc,all"], "'all' or 'none' alone, not 'proc,all'"),
    ({}, ["--faultline-jobs=0"], "--faultline-jobs must be at least 1, not 0"),
])
def test_bad_kernel_profile_or_suppressions_stop_the_session_before_any_sweep(
        suite, kernel_elf, files, args, message):
    for name, text in files.items():
        (suite.path / name).write_text(text)
    if not any(a.startswith("--faultline-kernel") for a in args):
        args = [f"--faultline-kernel={kernel_elf}", *args]
    r = suite.runpytest_subprocess("-p", "analysis.pytest_plugin", *args)
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    assert message in r.stderr.str()
    assert not list(suite.path.glob(".pytest_cache/d/faultline/*/*.db"))


def test_merged_database_gives_the_findings_of_its_parts_and_refuses_a_run_twice(
        tmp_path, bug_elf):
    gate = Gate(bug_elf, jobs=2, injector=BUILD / "injector")
    parts = [tmp_path / "once.db", tmp_path / "persist.db"]
    for db, fault in zip(parts, ("once", "persist")):
        gate.sweep("proc", db, fault)
    merged = merge(parts, tmp_path / "all.db")
    audits = []
    for db in [*parts, merged]:
        with Database(db) as d:
            audits.append(analyze(d))
    *alone, together = audits
    assert len(together.runs) == sum(len(a.runs) for a in alone)
    assert len(together.builds) == 1
    (u,) = together.findings
    assert u.func == ROOT_FUNCTION and u.fault_modes == ["once", "persist"]
    assert len(u.occurrences) == sum(len(a.findings[0].occurrences) for a in alone)
    assert u.title == alone[0].findings[0].title and u.blame.frame == \
        alone[0].findings[0].blame.frame
    with pytest.raises(MergeError, match="holds a run another database holds too"):
        merge([parts[0], parts[0]], tmp_path / "twice.db")
    with sqlite3.connect(tmp_path / "twice.db") as con:   # what was merged before stays
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == len(alone[0].runs)


def test_profile_reaches_the_analysis_an_op_declared_not_atomic_only_warns(
        suite, tmp_path_factory):
    """map-keeps-tables leaves vm_map's tables for teardown: an error where every op
    promises atomicity, a warning that passes the item once the profile says vm_map
    does not promise it."""
    elf = build_bug("map-keeps-tables", tmp_path_factory.mktemp("not-atomic"))
    (suite.path / "faultline.ini").write_text("[analysis]\natomic = *\nnot_atomic = vm_map\n")
    args = ["--faultline-scenarios=proc", "--faultline-fault=once"]
    session(suite, elf, *args).assert_outcomes(failed=1)
    session(suite, elf, *args, "--faultline-profile=faultline.ini").assert_outcomes(passed=1)
