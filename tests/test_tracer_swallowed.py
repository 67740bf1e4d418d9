"""The error-swallowed check on hand-written console logs (tests/data/tracer-swallowed.log,
one run per hello), symbolized against the fixed-address mini ELF: a fault no op reported in
a run whose scenario returned 0 is a finding, unless a recover record from a function the
failure passed through covers it."""
import pytest

from tracer_support import DATA, build_mini_elf, findings, ingest, run_row, stack

LOG = DATA / "tracer-swallowed.log"


@pytest.fixture(scope="module")
def db(build_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("swallowed")
    path = tmp / "t.db"
    p = ingest(build_dir, build_mini_elf(tmp), path, LOG)
    assert p.returncode == 1, p.stdout + p.stderr
    return path


def swallowed(db, n):
    return [f for f in findings(db, n) if f["class"] == "error-swallowed"]


def test_fault_no_op_reported_in_a_successful_run_is_swallowed(db):
    [f] = swallowed(db, 1)
    assert run_row(db, 1)["outcome"] == "swallowed"
    assert f["func"] == "proc_alloc" and f["severity"] == "error"
    assert stack(db, f["bad_stack"]) == "80004010,80003010,80006010"
    assert f["op_name"] == "proc_create"
    assert "scenario returned 0" in f["message"]


def test_recovery_marked_by_a_function_on_the_fault_path_is_not_reported(db):
    assert swallowed(db, 2) == []
    assert run_row(db, 2)["outcome"] == "handled"


def test_malformed_recover_records_are_counted_not_trusted(db):
    assert run_row(db, 2)["nmalformed"] == 3


def test_recovery_by_a_function_the_failure_never_passed_does_not_cover_it(db):
    assert len(swallowed(db, 3)) == 1
    assert run_row(db, 3)["outcome"] == "swallowed"


def test_an_op_on_the_path_that_returned_the_error_reported_it(db):
    assert swallowed(db, 4) == []
    assert run_row(db, 4)["outcome"] == "handled"


def test_a_scenario_that_returned_the_error_did_not_swallow_it(db):
    assert swallowed(db, 5) == []
    assert run_row(db, 5)["outcome"] == "handled"


def test_persist_mode_reports_the_fault_no_recovery_covers(db):
    [f] = swallowed(db, 6)
    assert f["func"] == "amap_new"
    assert stack(db, f["bad_stack"]) == "80007010,80006010"


def test_recovery_after_the_faults_op_returned_is_too_late(db):
    assert len(swallowed(db, 7)) == 1


def test_fault_outside_every_op_is_swallowed_unless_a_function_on_its_path_recovers(db):
    [f] = swallowed(db, 8)
    assert f["op_name"] is None
    assert swallowed(db, 9) == []
