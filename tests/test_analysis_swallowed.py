"""Attribution of error-swallowed findings (docs/analysis.md, "Swallowed errors"): the
function named is where the error stopped, and the finding says when the records cannot
tell that function from the one below it. Built from saved-style databases, no QEMU."""
from test_analysis_fixtures import DbBuilder, RunWriter

from analysis.db import Database
from analysis.unique import analyze

PAGE = 0x87000000
DRIVER = [("sys_fork", 4), ("scenario_proc", 8)]
FAULT = [("page_alloc", 9), ("map_trapframe", 3), ("proc_create", 15), *DRIVER]


def swallowed_run(tmp_path, after):
    """One run: a fault in map_trapframe inside sys_fork, which returns 0; `after(w)` writes
    the records that follow the fault inside the op."""
    b = DbBuilder(tmp_path / "s.db")
    w = RunWriter(b, b.build("5wa11"), None, "fork", 4)
    w.op_begin("sys_fork", ("sys_fork", 0))
    seq = w.fault("page", ("map_trapframe", 3), FAULT)
    after(w)
    w.op_end(0)
    w.finding("error-swallowed", "map_trapframe", "eaten", [seq], bad=FAULT,
              site=("map_trapframe", 3), op_name="sys_fork")
    w.write("swallowed", result_rc=0)
    with Database(b.close()) as db:
        (f,) = analyze(db).findings
    return f


def test_caller_that_went_on_is_named_and_its_silent_callee_makes_it_ambiguous(tmp_path):
    f = swallowed_run(tmp_path, lambda w: w.alloc(
        "obj", PAGE, ("proc_create", 20), [("obj_alloc", 2), ("proc_create", 20), *DRIVER]))
    assert f.func == "proc_create"
    assert f.title == "error swallowed in proc_create after map_trapframe failed"
    assert "map_trapframe left no record" in f.blame.ambiguous


def test_function_that_got_the_failure_and_went_on_is_named_without_doubt(tmp_path):
    f = swallowed_run(tmp_path, lambda w: w.alloc(
        "page", PAGE, ("map_trapframe", 5), [("page_alloc", 9), ("map_trapframe", 5),
                                           ("proc_create", 15), *DRIVER]))
    assert f.func == "map_trapframe"
    assert f.blame.ambiguous is None


def test_function_that_only_cleaned_up_may_have_returned_the_error(tmp_path):
    f = swallowed_run(tmp_path, lambda w: w.free(
        "obj", PAGE, ("map_trapframe", 6), [("obj_free", 2), ("map_trapframe", 6),
                                          ("proc_create", 15), *DRIVER]))
    assert f.func == "map_trapframe"
    assert "only gave back" in f.blame.ambiguous


def test_no_record_after_the_failure_names_the_allocations_caller_as_a_guess(tmp_path):
    f = swallowed_run(tmp_path, lambda w: None)
    assert f.func == "map_trapframe"
    assert "no record after the failure" in f.blame.ambiguous
