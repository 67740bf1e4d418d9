"""The tracer's per-run checks on hand-written console logs (tests/data/tracer-*.log),
symbolized against a tiny RISC-V ELF whose functions sit at fixed addresses."""
import re

import pytest

from tracer_support import (DATA, HELLO, build_mini_elf, findings, ingest, rows, run_row,
                            stack)


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    return build_mini_elf(tmp_path_factory.mktemp("mini"))


@pytest.fixture
def audit(build_dir, elf, tmp_path):
    """Ingest one log into a fresh database; returns (db, completed process)."""
    def run(log, opts=()):
        db = tmp_path / "t.db"
        p = ingest(build_dir, elf, db, log, opts=opts)
        assert p.returncode in (0, 1, 2), p.stderr
        assert "tracer:" in p.stdout or p.stderr, p
        return db, p
    return run


def only(fs, cls):
    got = [f for f in fs if f["class"] == cls]
    assert len(got) == 1, [dict(f) for f in fs]
    return got[0]


def test_leak_names_allocation_function_and_stack(audit):
    db, p = audit(DATA / "tracer-leak.log")
    assert p.returncode == 1
    assert run_row(db)["outcome"] == "leak"
    leak = only(findings(db), "leak")
    assert leak["func"] == "proc_alloc"
    assert leak["addr"] == 0x80100000 and leak["size"] == 256
    assert stack(db, leak["alloc_stack"]) == "80004010,80003010,80006010"
    assert leak["severity"] == "error"
    # the proving events are the allocation and the end checkpoint
    evs = [int(e) for e in leak["events"].split(",")]
    kinds = {r["kind"] for r in rows(db, "SELECT kind FROM events WHERE seq IN (%s)"
                                     % ",".join("?" * len(evs)), *evs)}
    assert kinds == {"alloc", "ckpt"}


def test_double_free_refused_by_kernel_has_all_three_stacks(audit):
    db, _ = audit(DATA / "tracer-double-free.log")
    f = only(findings(db, 1), "double-free")
    assert stack(db, f["alloc_stack"]) == "80003010,80006010"
    assert stack(db, f["free_stack"]) == "80005010,80006020"
    assert stack(db, f["bad_stack"]) == "80005020,80003050,80006030"
    assert f["func"] == "proc_free"
    assert run_row(db, 1)["outcome"] == "unbalanced"


def test_double_free_accepted_by_allocator_is_caught_by_host_books(audit):
    db, _ = audit(DATA / "tracer-double-free.log")
    f = only(findings(db, 2), "double-free")
    assert "accepted" in f["message"]
    assert stack(db, f["alloc_stack"]) == "80003010,80006010"
    assert stack(db, f["free_stack"]) == "80005010,80006020"
    assert stack(db, f["bad_stack"]) == "80005020,80003050,80006030"


def test_a_refused_free_is_reported_once_not_also_by_the_host(audit):
    db, _ = audit(DATA / "tracer-double-free.log")
    for n in (1, 2):
        assert [f["class"] for f in findings(db, n)] == ["double-free"]


def test_invalid_free_from_kernel_record_and_from_host_books(audit):
    db, _ = audit(DATA / "tracer-invalid-free.log")
    for n in (1, 2):
        f = only(findings(db, n), "invalid-free")
        assert f["addr"] == 0x80109990
        assert stack(db, f["bad_stack"]) == "80005010,80006020"
        assert f["alloc_stack"] is None
        assert run_row(db, n)["outcome"] == "unbalanced"


def test_mismatched_free_points_at_the_other_allocators_object(audit):
    db, _ = audit(DATA / "tracer-mismatch.log")
    for n in (1, 2):
        f = only(findings(db, n), "mismatched-free")
        assert f["func"] == "kfree"
        assert stack(db, f["alloc_stack"]) == "80003010,80006010"
        assert stack(db, f["bad_stack"]) == "80002010,80005010,80006020"
    # the refused free freed nothing and the later correct free balances the books
    assert not [f for f in findings(db, 1) if f["class"] == "leak"]


def test_unbalanced_unwind_names_failed_op_and_live_object(audit):
    db, p = audit(DATA / "tracer-unbalanced.log")
    assert p.returncode == 1
    f = only(findings(db), "unbalanced-unwind")
    assert f["op_name"] == "proc_create"
    assert f["func"] == "proc_create"
    assert f["addr"] == 0x80100000
    assert stack(db, f["alloc_stack"]) == "80003010,80006010"
    assert run_row(db)["outcome"] == "unbalanced"
    # freed later, so not a leak
    assert [x["class"] for x in findings(db)] == ["unbalanced-unwind"]


def test_swapped_unwind_ladder_warns_unwind_order(audit):
    db, p = audit(DATA / "tracer-unwind-swapped.log")
    f = only(findings(db), "unwind-order")
    assert f["severity"] == "warning"
    assert f["op_name"] == "proc_create" and f["func"] == "proc_create"
    # the trapframe (acquired second) was released before the page table (acquired third)
    assert f["addr"] == 0x80201000
    assert f["pc"] == 0x80003050
    assert stack(db, f["free_stack"]) == "80003050,80006010"
    assert stack(db, f["bad_stack"]) == "80003060,80006010"
    assert len(findings(db)) == 1
    # a warning alone does not change the outcome, nor the exit code
    assert run_row(db)["outcome"] == "handled"
    assert p.returncode == 0


def test_unwind_order_is_judged_in_the_body_a_runner_calls(audit, tmp_path):
    # the op begins in scenario_run, which calls proc_create through one call site: the
    # ladder to judge is proc_create's
    db, _ = audit(DATA / "tracer-unwind-framework.log")
    f = only(findings(db), "unwind-order")
    assert f["func"] == "proc_create" and f["op_name"] == "proc"
    assert f["addr"] == 0x80201000
    fixed = tmp_path / "fixed.log"
    fixed.write_text((DATA / "tracer-unwind-framework.log").read_text()
                     .replace("free 5 page 80201000 80003050", "free 5 page 80202000 80003050")
                     .replace("free 5 page 80202000 80003060", "free 5 page 80201000 80003060"))
    db, _ = audit(fixed)
    assert findings(db, 1, log="fixed.log") == []


def test_an_inlined_helper_call_is_one_step(audit, tmp_path):
    # vm_setup inlines step_a, step_b, unstep_b, unstep_a: each helper frees in forward
    # order inside itself, which is one undo step, so the ladder is correct
    db, p = audit(DATA / "tracer-unwind-inline.log")
    assert findings(db) == [] and p.returncode == 0
    swapped = tmp_path / "swapped.log"
    text = (DATA / "tracer-unwind-inline.log").read_text()
    for a, b in (("80202000 80009240", "80200000 80009240"),
                 ("80203000 80009280", "80201000 80009280"),
                 ("80200000 80009340", "80202000 80009340"),
                 ("80201000 80009380", "80203000 80009380")):
        text = text.replace(f"free 5 page {a}", f"free 5 page {b}", 1)
    swapped.write_text(text)
    db, _ = audit(swapped)
    f = only(findings(db, 1, log="swapped.log"), "unwind-order")
    assert f["func"] == "vm_setup" and f["addr"] == 0x80200000


@pytest.mark.parametrize("log", ["tracer-unwind-good.log", "tracer-clean.log"])
def test_correct_unwind_ladder_with_destructor_does_not_warn(audit, log):
    db, p = audit(DATA / log)
    assert findings(db) == []
    assert run_row(db)["outcome"] == "handled"
    assert p.returncode == 0


def test_refcount_left_at_end_and_put_below_zero(audit):
    db, _ = audit(DATA / "tracer-refcount.log")
    f = only(findings(db, 1), "refcount")
    assert f["addr"] == 0x80100000 and f["func"] == "amap_new"
    assert "is 1 at the end checkpoint" in f["message"]
    assert stack(db, f["alloc_stack"]) == "80007010,80006010"
    g = only(findings(db, 2), "refcount")
    assert "below zero" in g["message"]
    assert run_row(db, 2)["outcome"] == "unbalanced"


def test_failed_allocation_is_never_a_leak(audit):
    db, p = audit(DATA / "tracer-failed-alloc.log")
    assert p.returncode == 0
    r = run_row(db)
    assert r["outcome"] == "handled" and r["fired"] == 1
    assert findings(db) == []  # no leak, no accounting mismatch, no unbalanced unwind
    fault = rows(db, "SELECT * FROM events WHERE seq = ?", r["fault_event"])[0]
    assert fault["kind"] == "fault" and fault["pc"] == 0x80003020
    assert stack(db, r["fault_stack"]) == "80003020,80006010"


def test_clean_run_has_no_findings_and_full_records(audit):
    db, p = audit(DATA / "tracer-clean.log")
    assert p.returncode == 0
    r = run_row(db)
    assert (r["outcome"], r["fired"], r["ended"], r["attempts"], r["result_rc"]) == \
        ("handled", 1, 1, 6, -12)
    records = (DATA / "tracer-clean.log").read_text().splitlines()
    assert r["nevents"] == len(records) and r["nmalformed"] == 0
    assert [e["kind"] for e in rows(db, "SELECT kind FROM events ORDER BY seq")] == \
        [line.split()[0] for line in records]
    ops = rows(db, "SELECT * FROM ops ORDER BY id")
    assert [(o["id"], o["parent"], o["name"], o["rc"]) for o in ops] == \
        [(1, None, "scenario_run", -12), (2, 1, "proc_create", -12)]
    inner = rows(db, "SELECT op FROM events WHERE kind='alloc' AND kseq=1")[0]
    assert inner["op"] == 2


def test_frames_are_symbolized_once_with_function_file_and_line(audit):
    db, _ = audit(DATA / "tracer-clean.log")
    src = (DATA / "tracer-mini.c").read_text().splitlines()
    line_of = {name: i + 1 for i, l in enumerate(src) for name in
               ("proc_create", "proc_alloc", "scenario_run") if re.search(rf"\b{name}\(", l)}
    frames = {r["pc"]: r for r in rows(db, "SELECT * FROM frames")}
    assert len(frames) == len(set(frames))
    for pc, func in ((0x80003010, "proc_create"), (0x80004020, "proc_alloc"),
                     (0x80006010, "scenario_run")):
        f = frames[pc]
        assert f["func"] == func
        assert f["file"].endswith("tracer-mini.c")
        assert f["line"] == line_of[func]


def test_accounting_mismatch_with_kernel_counts_is_a_warning(audit, tmp_path):
    log = tmp_path / "acct.log"
    log.write_text((DATA / "tracer-clean.log").read_text()
                   .replace("ckpt end 0 0 0 0", "ckpt end 0 1 0 64"))
    db, _ = audit(log)
    f = only(findings(db), "accounting")
    assert f["severity"] == "warning"
    assert "+1 obj" in f["message"]
    assert run_row(db)["outcome"] == "handled"


def test_unexpected_panic_is_a_panic_finding_with_its_stack(audit):
    db, _ = audit(DATA / "tracer-endings.log")
    r = run_row(db, 1)
    assert r["outcome"] == "panic" and r["expected_panic"] == 0
    f = only(findings(db, 1), "panic")
    assert f["func"] == "proc_create" and f["op_name"] == "proc_create"
    assert stack(db, f["bad_stack"]) == "80003044,80006010"
    assert "no page for the trapframe" in f["message"]


def test_expected_panic_is_handled_without_findings(audit):
    db, _ = audit(DATA / "tracer-endings.log")
    r = run_row(db, 2)
    assert (r["outcome"], r["expected_panic"]) == ("handled", 1)
    assert findings(db, 2) == []


def test_trap_is_a_crash_at_sepc(audit):
    db, _ = audit(DATA / "tracer-endings.log")
    assert run_row(db, 3)["outcome"] == "crash"
    f = only(findings(db, 3), "crash")
    assert f["pc"] == 0x80003048 and f["func"] == "proc_create"
    assert stack(db, f["bad_stack"]) == "80003048,80006010"


def test_run_restarted_without_end_is_a_crash_and_a_cut_capture_is_infra(audit):
    db, _ = audit(DATA / "tracer-endings.log")
    assert run_row(db, 4)["outcome"] == "crash"
    assert only(findings(db, 4), "crash")["op_name"] == "proc_create"
    r = run_row(db, 5)
    assert r["outcome"] == "infra" and r["ended"] == 0
    assert "ends before" in r["infra_reason"]
    assert findings(db, 5) == []
    # leaks are never computed from an unfinished teardown
    assert not rows(db, "SELECT * FROM findings WHERE class='leak'")


def test_capture_cut_by_a_hang_is_a_hang_finding(audit):
    db, _ = audit(DATA / "tracer-endings.log", opts=("--cut", "hang"))
    assert run_row(db, 5)["outcome"] == "hang"
    f = only(findings(db, 5), "hang")
    assert f["op_name"] == "proc_create"
    assert stack(db, f["bad_stack"]) == "80003010,80006010"


def test_stream_from_another_build_is_infra(audit, tmp_path):
    log = tmp_path / "other.log"
    log.write_text((DATA / "tracer-leak.log").read_text()
                   .replace(HELLO, "hello faultline 1 0123456789abcdef\n"))
    db, p = audit(log)
    r = run_row(db)
    assert r["outcome"] == "infra" and "build-id mismatch" in r["infra_reason"]
    assert findings(db) == []
    assert p.returncode == 2


def test_unsupported_protocol_version_is_infra(audit, tmp_path):
    log = tmp_path / "v3.log"
    log.write_text((DATA / "tracer-leak.log").read_text()
                   .replace("hello faultline 1 ", "hello faultline 3 "))
    db, p = audit(log)
    r = run_row(db)
    assert r["outcome"] == "infra" and "version 3" in r["infra_reason"]
    assert p.returncode == 2


# ---- state promises (tests/data/tracer-not-atomic.log, four runs) ----------------------

def test_failed_call_that_changed_its_promised_state_is_not_atomic_named_for_the_promiser(audit):
    db, p = audit(DATA / "tracer-not-atomic.log")
    f = only(findings(db, 1), "not-atomic")
    assert f["func"] == "proc_create" and f["severity"] == "error"
    assert f["op_name"] == "sys_map"
    assert "map state changed (digest 1f00 on entry, 2e00 on return)" in f["message"]
    assert run_row(db, 1)["outcome"] == "unbalanced"
    assert p.returncode == 1


def test_failed_call_that_kept_its_promised_state_is_handled(audit):
    db, _ = audit(DATA / "tracer-not-atomic.log")
    assert findings(db, 2) == []
    assert run_row(db, 2)["outcome"] == "handled"


def test_nested_promises_broken_together_are_one_finding_for_the_innermost(audit):
    db, _ = audit(DATA / "tracer-not-atomic.log")
    assert [(f["class"], f["func"]) for f in findings(db, 3)] == [("not-atomic", "proc_create")]


def test_success_changes_and_unanswered_state_records_are_not_judged(audit):
    # a change on success, an end naming another state, an end in another op, an end after
    # its op closed: none is a finding; a state record neither begin nor end is malformed
    db, _ = audit(DATA / "tracer-not-atomic.log")
    assert findings(db, 4) == []
    assert run_row(db, 4)["outcome"] == "completed"
    assert run_row(db, 4)["nmalformed"] == 1
    bad = rows(db, "SELECT m.reason FROM malformed m JOIN runs r ON r.id = m.run "
                   "WHERE r.n = 4")
    assert [b["reason"] for b in bad] == ["state: neither begin nor end"]


# ---- resources that are not memory (acq/rel records) -------------------------------------

def test_resource_still_held_at_the_end_checkpoint_is_a_resource_leak(audit):
    db, p = audit(DATA / "tracer-resource.log")
    assert p.returncode == 1
    f = only(findings(db, 1), "resource-leak")
    assert [x["class"] for x in findings(db, 1)] == ["resource-leak"]
    assert f["func"] == "proc_create" and f["addr"] == 7
    assert "pid 7 acquired at proc_create+0x10" in f["message"]
    assert stack(db, f["alloc_stack"]) == "80003010,80006010"
    assert run_row(db, 1)["outcome"] == "leak"


def test_failed_op_still_holding_a_resource_is_an_unbalanced_unwind(audit):
    db, _ = audit(DATA / "tracer-resource.log")
    f = only(findings(db, 2), "unbalanced-unwind")
    assert [x["class"] for x in findings(db, 2)] == ["unbalanced-unwind"]
    assert "op proc_create failed (rc -12) but still holds proc-slot 3" in f["message"]
    assert f["op_name"] == "proc_create" and f["func"] == "proc_create"
    assert stack(db, f["alloc_stack"]) == "80003010,80006010"
    assert run_row(db, 2)["outcome"] == "unbalanced"


def test_double_release_has_acquire_first_release_and_second_release_stacks(audit):
    db, _ = audit(DATA / "tracer-resource.log")
    f = only(findings(db, 3), "double-release")
    assert [x["class"] for x in findings(db, 3)] == ["double-release"]
    assert f["func"] == "proc_free" and f["addr"] == 0x80148000
    assert stack(db, f["alloc_stack"]) == "80003010,80006010"
    assert stack(db, f["free_stack"]) == "80005010,80006020"
    assert stack(db, f["bad_stack"]) == "80005020,80003050,80006030"
    assert run_row(db, 3)["outcome"] == "unbalanced"


def test_release_never_acquired_is_invalid_and_kinds_do_not_mix(audit):
    """pid 1 and proc-slot 1 are two resources; malformed acq lines are counted, not
    judged."""
    db, _ = audit(DATA / "tracer-resource.log")
    fs = findings(db, 4)
    assert [x["class"] for x in fs] == ["invalid-release"]
    assert fs[0]["addr"] == 9 and "release of pid 9 never acquired" in fs[0]["message"]
    assert stack(db, fs[0]["bad_stack"]) == "80005010,80006020"
    assert run_row(db, 4)["nmalformed"] == 2
    assert run_row(db, 4)["outcome"] == "unbalanced"


# ---- use-after-free (tests/data/tracer-use-after-free.log) ---------------------------

def assert_alloc_free_and_access_stacks(db, f, access):
    assert stack(db, f["alloc_stack"]) == "80003010,80006010"
    assert stack(db, f["free_stack"]) == "80005010,80006020"
    assert stack(db, f["bad_stack"]) == access


def test_poison_record_is_a_write_after_free_with_alloc_free_and_check_stacks(audit):
    db, p = audit(DATA / "tracer-use-after-free.log")
    assert p.returncode == 1
    f = only(findings(db, 1), "use-after-free")
    assert f["message"].startswith("write after free: byte 8 of obj object 80100000")
    assert f["func"] == "proc_free"            # the free's site: the writer is unknown
    assert_alloc_free_and_access_stacks(db, f, "80006030")
    assert run_row(db, 1)["outcome"] == "corrupt"


def test_guard_mode_trap_on_a_freed_objects_page_is_a_read_after_free_not_a_crash(audit):
    db, _ = audit(DATA / "tracer-use-after-free.log")
    f = only(findings(db, 2), "use-after-free")
    assert [x["class"] for x in findings(db, 2)] == ["use-after-free"]
    assert f["message"].startswith("read after free: read of 80100ff8 at proc_alloc+0x10")
    assert f["func"] == "proc_alloc"           # the access
    assert_alloc_free_and_access_stacks(db, f, "80004010,80006040")
    assert run_row(db, 2)["outcome"] == "crash"


def test_without_guard_mode_only_the_freed_bytes_count_and_a_store_is_a_write(audit):
    db, _ = audit(DATA / "tracer-use-after-free.log")
    assert [x["class"] for x in findings(db, 3)] == ["crash"]   # same page, past the object
    f = only(findings(db, 4), "use-after-free")
    assert f["message"].startswith("write after free: write of 80100078")
