"""Unique findings: one root cause is one finding however many runs, modes, rebuilds or
symptoms show it."""
from test_analysis_fixtures import DbBuilder, leak_db, populate, sample_db

from analysis.db import Database
from analysis.model import FindingClass
from analysis.unique import analyze


def audit_of(path, **kw):
    with Database(path) as db:
        return analyze(db, **kw)


def by_class(audit, cls):
    return [f for f in audit.findings if f.cls is cls]


def test_same_leak_at_different_n_and_addresses_is_one_finding(tmp_path):
    stack = [("page_alloc", 9), ("proc_create", 6), ("scenario_proc", 8)]
    a = audit_of(leak_db(tmp_path / "a.db", [(3, "fresh", stack), (7, "reset", stack),
                                            (12, "fresh", stack)]))
    assert len(a.findings) == 1
    f = a.findings[0]
    assert (f.nruns, f.min_n, f.max_n, f.first_n) == (3, 3, 12, 3)
    assert f.exec_modes == ["fresh", "reset"]
    assert f.func == "proc_create"
    # the minimal run is the one to repeat
    assert "--fail 3" in f.repro and "--scenario proc" in f.repro


def test_leaks_from_different_functions_are_two_findings(tmp_path):
    a = audit_of(leak_db(tmp_path / "a.db", [
        (3, "fresh", [("page_alloc", 9), ("proc_create", 6), ("scenario_proc", 8)]),
        (4, "fresh", [("page_alloc", 9), ("fork", 5), ("sys_fork", 2)])]))
    assert sorted(f.func for f in a.findings) == ["fork", "proc_create"]
    assert len({f.fingerprint for f in a.findings}) == 2


def test_same_site_reached_from_another_driver_is_still_one_finding(tmp_path):
    a = audit_of(leak_db(tmp_path / "a.db", [
        (3, "fresh", [("page_alloc", 9), ("proc_create", 6), ("scenario_proc", 8)]),
        (4, "fresh", [("page_alloc", 9), ("proc_create", 6), ("fork", 7)])]))
    assert len(a.findings) == 1 and a.findings[0].func == "proc_create"


def test_fingerprints_survive_a_rebuild_with_other_addresses(tmp_path):
    old = audit_of(sample_db(tmp_path / "old.db"))
    new = audit_of(sample_db(tmp_path / "new.db", base=0x80200000, build_id="77aa",
                             heap=0x86000000))
    assert {f.fingerprint: f.title for f in old.findings} == \
        {f.fingerprint: f.title for f in new.findings}
    assert old.findings[0].minimal.run.fault_pc != new.findings[0].minimal.run.fault_pc


def test_two_builds_in_one_database_merge_into_one_finding_each(tmp_path):
    b = DbBuilder(tmp_path / "two.db")
    populate(b, b.build("aa01"), 0x87000000)
    populate(b, b.build("bb02", base=0x80400000), 0x85000000)
    one = audit_of(sample_db(tmp_path / "one.db"))
    two = audit_of(b.close())
    assert [f.fingerprint for f in two.findings] == [f.fingerprint for f in one.findings]
    leak = by_class(two, FindingClass.LEAK)[0]
    assert leak.nruns == 2 * by_class(one, FindingClass.LEAK)[0].nruns


def test_leak_in_both_fault_modes_exec_modes_and_scenarios_is_one_finding(tmp_path):
    a = audit_of(sample_db(tmp_path / "s.db"))
    leaks = by_class(a, FindingClass.LEAK)
    assert len(leaks) == 1
    f = leaks[0]
    assert f.title == "leak in proc_create: 1 page (proc_create) not freed after " \
        "map_trapframe failed"
    assert [o.class_text for o in f.symptoms] == ["leak", "unbalanced-unwind"]
    assert f.fault_modes == ["once", "persist"] and f.exec_modes == ["fresh", "reset"]
    assert f.scenarios == ["all", "proc"]
    assert (f.min_n, f.max_n) == (3, 4)          # N = 4 inside `all`
    assert f.minimal.run.fault_mode == "once" and f.minimal.run.exec_mode == "fresh"
    assert len(f.fingerprint) == 12 and int(f.fingerprint, 16) >= 0


def test_allocator_frames_are_not_part_of_the_fingerprint(tmp_path):
    with_alloc = [("page_alloc", 9), ("proc_create", 6), ("scenario_proc", 8)]
    without = [("proc_create", 6), ("scenario_proc", 8)]
    a = audit_of(leak_db(tmp_path / "a.db", [(3, "fresh", with_alloc), (5, "fresh", without)]))
    assert len(a.findings) == 1
    assert a.findings[0].located.key_funcs == ("proc_create", "scenario_proc")


def test_stack_depth_does_not_split_a_root_cause(tmp_path):
    path = sample_db(tmp_path / "s.db")
    from analysis.fingerprint import Normalizer
    default = by_class(audit_of(path), FindingClass.LEAK)
    deeper = by_class(audit_of(path, norm=Normalizer(depth=3)), FindingClass.LEAK)
    assert [f.fingerprint for f in deeper] == [f.fingerprint for f in default]
    assert len(deeper) == 1


def test_each_class_gets_a_syzbot_style_title_naming_the_function_to_fix(tmp_path):
    a = audit_of(sample_db(tmp_path / "s.db"))
    titles = {f.class_text: f.title for f in a.findings}
    assert titles["double-free"] == "double-free in fork after page_alloc failed"
    assert titles["panic"] == "panic in vm_unmap after page_alloc failed"


def test_a_warning_of_the_same_cause_is_a_symptom_not_a_finding(tmp_path):
    a = audit_of(sample_db(tmp_path / "s.db"))
    assert [w.func for w in a.warnings] == ["probe"]       # a ladder of its own
    df = next(f for f in a.findings if f.class_text == "double-free")
    assert [o.class_text for o in df.symptoms] == ["double-free", "unwind-order"]
    assert df.severity.value == "error"
