"""Attribution: every finding names the function to fix, decided from the run's own records
(docs/analysis.md, "Which function a finding names"); the symptoms that one mistake causes
are listed under one finding. Built from saved-style databases, no QEMU."""
import json

from test_analysis_fixtures import FUNCS, DbBuilder, RunWriter

from analysis import json_report
from analysis.db import Database
from analysis.unique import analyze

PAGE = 0x87000000
DRIVER = [("scenario_proc", 8)]


def audit_of(b: DbBuilder):
    with Database(b.close()) as db:
        return analyze(db)


def run(tmp_path, scenario="proc", n=3):
    b = DbBuilder(tmp_path / "r.db")
    build = b.build("r00t01")
    return b, RunWriter(b, build, None, scenario, n)


def test_object_allocated_two_calls_below_is_blamed_on_the_caller_that_dropped_it(tmp_path):
    b, w = run(tmp_path)
    w.op_begin("proc_create", ("proc_create", 0))
    alloc = [("page_alloc", 9), ("vm_unmap", 2), ("map_trapframe", 3), ("proc_create", 9),
             *DRIVER]
    seq = w.alloc("page", PAGE, ("vm_unmap", 2), alloc)
    w.fault("page", ("fork", 5), [("page_alloc", 9), ("fork", 5), ("proc_create", 12),
                                  *DRIVER])
    w.op_end(-12)
    w.finding("leak", "vm_unmap", "page leaked", [seq], addr=PAGE, alloc=alloc,
              site=("vm_unmap", 2))
    w.finding("unbalanced-unwind", "vm_unmap", "op failed with it live", [seq], addr=PAGE,
              alloc=alloc, site=("vm_unmap", 2), op_name="proc_create")
    w.write("leak")
    (f,) = audit_of(b).findings
    assert f.func == "proc_create"
    assert f.title == "leak in proc_create: 1 page (vm_unmap) not freed after fork failed"
    assert [o.class_text for o in f.symptoms] == ["leak", "unbalanced-unwind"]
    assert f.path[0].text == "page_alloc failed in fork"
    assert f.path[-1].text.startswith("proc_create returned the error without freeing: "
                                      "1 page from vm_unmap (")


def test_leak_left_by_a_teardown_is_blamed_on_the_destructor_that_freed_its_kin(tmp_path):
    b, w = run(tmp_path, n=1)
    site = [("page_alloc", 9), ("map_trapframe", 3), ("proc_create", 9), *DRIVER]
    w.op_begin("proc_create", ("proc_create", 0))
    kept = w.alloc("page", PAGE, ("map_trapframe", 3), site)
    w.alloc("page", PAGE + 0x1000, ("map_trapframe", 3), site)
    w.op_end(0)
    w.op_begin("fini", ("kinit", 1))
    w.free("page", PAGE + 0x1000, ("proc_free", 4), [("page_free", 3), ("proc_free", 4),
                                                      ("kinit", 9)])
    w.free("obj", PAGE + 0x2000, ("proc_free", 6), [("obj_free", 2), ("proc_free", 6),
                                                     ("kinit", 9)])
    w.op_end(0)
    w.finding("leak", "map_trapframe", "page leaked", [kept], addr=PAGE, alloc=site,
              site=("map_trapframe", 3))
    w.write("leak", fired=False)
    (f,) = audit_of(b).findings
    assert (f.func, f.blame.rule, f.blame.ambiguous) == ("proc_free", "teardown", None)
    assert f.title == "leak in proc_free: 1 page (map_trapframe) not freed"


def test_refcount_names_the_get_a_failed_op_never_put(tmp_path):
    b, w = run(tmp_path, scenario="fork")
    alloc = [("obj_alloc", 5), ("fork", 3), ("sys_fork", 2)]
    w.op_begin("sys_fork", ("sys_fork", 1))
    seq = w.alloc("obj", PAGE, ("fork", 3), alloc, size=64)
    w.ref("new", "anon", PAGE, 1, ("fork", 4))
    w.op_end(0)
    w.op_begin("sys_munmap", ("sys_fork", 1))
    w.ref("get", "anon", PAGE, 2, ("vm_unmap", 6))
    w.fault("obj", ("vm_unmap", 7), [("obj_alloc", 5), ("vm_unmap", 7), ("sys_fork", 2)])
    w.op_end(-12)
    put = w.ref("put", "anon", PAGE, 1, ("proc_free", 5))
    w.finding("refcount", "fork", "refcount of anon is 1 at the end", [seq, put], addr=PAGE,
              alloc=alloc, site=("fork", 4))
    w.finding("leak", "fork", "anon leaked", [seq], addr=PAGE, alloc=alloc, site=("fork", 3))
    w.write("leak")
    (f,) = audit_of(b).findings
    assert (f.func, f.class_text) == ("vm_unmap", "refcount")
    assert "vm_unmap took a get anon in sys_munmap" in f.blame.why
    assert [o.class_text for o in f.symptoms] == ["refcount", "leak"]


def test_crash_after_an_unchecked_failure_names_the_caller_and_decodes_the_trap(tmp_path):
    b, w = run(tmp_path)
    w.op_begin("proc_create", ("proc_create", 0))
    w.fault("page", ("vm_unmap", 2), [("page_alloc", 9), ("vm_unmap", 2), ("proc_create", 9),
                                      *DRIVER])
    trap_stack = [("map_trapframe", 5), ("proc_create", 11), *DRIVER]
    seq = w.trap(13, ("map_trapframe", 5), 0, trap_stack)
    w.finding("crash", "map_trapframe", "unexpected trap", [seq], bad=trap_stack, addr=0,
              site=("map_trapframe", 5))
    w.write("crash", ended=False)
    (f,) = audit_of(b).findings
    assert f.title == "crash in proc_create after vm_unmap failed"
    assert "load page fault at address 0x0 in map_trapframe" in f.path[-1].text


def test_leak_of_an_object_a_refused_free_was_aimed_at_is_one_finding_with_it(tmp_path):
    b, w = run(tmp_path)
    alloc = [("page_alloc", 9), ("fork", 3), ("sys_fork", 2)]
    bad = [("obj_free", 2), ("fork", 14), ("sys_fork", 2)]
    w.op_begin("sys_fork", ("sys_fork", 1))
    seq = w.alloc("page", PAGE, ("fork", 3), alloc)
    w.fault("page", ("fork", 9), [("page_alloc", 9), ("fork", 9), ("sys_fork", 2)])
    refused = w.badfree("mismatch", "obj", PAGE, ("fork", 14), bad)
    w.op_end(-12)
    w.finding("mismatched-free", "fork", "page freed with obj_free", [seq, refused],
              addr=PAGE, alloc=alloc, bad=bad, site=("fork", 14))
    w.finding("leak", "fork", "page leaked", [seq], addr=PAGE, alloc=alloc, site=("fork", 3))
    w.write("leak")
    (f,) = audit_of(b).findings
    assert f.class_text == "mismatched-free" and f.func == "fork"
    assert f.title == "mismatched-free in fork; 1 page (fork) not freed after page_alloc " \
        "failed"


def test_a_leak_no_record_explains_says_the_attribution_is_ambiguous(tmp_path):
    b, w = run(tmp_path, n=1)
    alloc = [("page_alloc", 9), ("kinit", 4)]
    seq = w.alloc("page", PAGE, ("kinit", 4), alloc)
    w.finding("leak", "kinit", "page leaked", [seq], addr=PAGE, alloc=alloc, site=("kinit", 4))
    w.write("leak", fired=False)
    audit = audit_of(b)
    (f,) = audit.findings
    assert (f.func, f.blame.rule) == ("kinit", "site")
    data = json.loads(json_report.dumps(json_report.audit_dict(audit)))
    assert "no record shows who owned it" in data["findings"][0]["attribution"]["ambiguous"]


def test_panic_on_an_error_a_callee_reported_cleanly_names_the_panicking_function(tmp_path):
    b, w = run(tmp_path, scenario="boot", n=2)
    w.op_begin("kinit", ("kinit", 0))
    w.op_begin("vm_unmap", ("vm_unmap", 0))
    w.fault("page", ("vm_unmap", 2), [("page_alloc", 9), ("vm_unmap", 2), ("kinit", 8)])
    w.op_end(-12)
    w.panic(False, ("kinit", 10), [("kinit", 10)], "kinit: no memory")
    w.write("panic")
    (f,) = audit_of(b).findings
    assert (f.func, f.blame.rule, f.blame.ambiguous) == ("kinit", "panic", None)
    assert f.title == "panic in kinit after vm_unmap failed"


def test_panic_after_a_failure_no_op_vouches_for_names_the_callee_and_says_so(tmp_path):
    b, w = run(tmp_path, scenario="boot", n=2)
    w.op_begin("kinit", ("kinit", 0))
    w.fault("page", ("vm_unmap", 2), [("page_alloc", 9), ("vm_unmap", 2), ("kinit", 8)])
    w.panic(False, ("kinit", 10), [("kinit", 10)], "kinit: state changed by a failed call")
    w.write("panic")
    (f,) = audit_of(b).findings
    assert (f.func, f.blame.rule) == ("vm_unmap", "panic-check")
    assert "may instead have panicked on a recoverable error" in f.blame.ambiguous


def resource_run(tmp_path, scenario, n=3):
    """A run in a build that also has the block driver's and wait's functions."""
    b = DbBuilder(tmp_path / "r.db")
    build = b.build("r00t01", funcs={**FUNCS, "blk_rw": ("sample-kernel/blk.c", 60, 16),
                                     "blk_transfer": ("sample-kernel/blk.c", 40, 16),
                                     "proc_wait": ("sample-kernel/proc.c", 200, 16),
                                     "proc_reap": ("sample-kernel/proc.c", 240, 16),
                                     "sys_wait": ("sample-kernel/syscall.c", 30, 8)})
    return b, RunWriter(b, build, None, scenario, n)


def test_resource_kept_by_a_failed_call_is_blamed_on_the_function_that_returned_the_error(
        tmp_path):
    """A descriptor is an object like any other: its acq record plays the alloc's part."""
    b, w = resource_run(tmp_path, "blk")
    w.op_begin("blk", ("scenario_proc", 2))
    acq = [("blk_rw", 4), *DRIVER]
    seq = w.acquire("virtio-desc", 0x80148000, ("blk_rw", 4), acq)
    w.fault("obj", ("blk_transfer", 3), [("obj_alloc", 9), ("blk_transfer", 3), ("blk_rw", 7),
                                         *DRIVER])
    w.op_end(-12)
    w.finding("unbalanced-unwind", "blk_rw", "op blk failed but still holds it", [seq],
              addr=0x80148000, alloc=acq, site=("blk_rw", 4), op_name="blk", size=None)
    w.finding("resource-leak", "blk_rw", "virtio-desc not released", [seq],
              addr=0x80148000, alloc=acq, site=("blk_rw", 4), size=None)
    w.write("leak")
    (f,) = audit_of(b).findings
    assert f.func == "blk_rw"
    assert f.title == ("resource leak in blk_rw: 1 virtio-desc (blk_rw) not released after "
                       "blk_transfer failed")
    assert sorted(o.class_text for o in f.symptoms) == ["resource-leak", "unbalanced-unwind"]
    assert f.path[-1].text.startswith("blk_rw returned the error without releasing")


def test_double_release_names_the_function_whose_two_paths_released_it(tmp_path):
    b, w = resource_run(tmp_path, "proc", n=1)
    w.op_begin("proc_wait", ("sys_wait", 1))
    acq = [("proc_create", 5), *DRIVER]
    first = [("proc_free", 3), ("proc_wait", 6), *DRIVER]
    again = [("proc_free", 3), ("proc_reap", 4), ("proc_wait", 9), *DRIVER]
    a = w.acquire("pid", 7, ("proc_create", 5), acq)
    r1 = w.release("pid", 7, ("proc_free", 3), first)
    r2 = w.release("pid", 7, ("proc_free", 3), again)
    w.op_end(0)
    w.finding("double-release", "proc_free", "double release of pid 7", [r1, a, r2], addr=7,
              alloc=acq, free=first, bad=again, site=("proc_free", 3), size=None)
    w.write("unbalanced", fired=False)
    (f,) = audit_of(b).findings
    assert f.func == "proc_wait"
    assert f.title.startswith("double release in proc_wait")


def mmap_run(tmp_path):
    """A run in a build that also has the mmap teardown's functions."""
    b = DbBuilder(tmp_path / "r.db")
    funcs = {**FUNCS, **{name: ("sample-kernel/mmap.c", 10 + 20 * i, 16) for i, name in
                         enumerate(("mmap_map", "region_free", "region_next",
                                    "mmap_release_all", "proc_release_user", "cmd_loop"))}}
    return b, RunWriter(b, b.build("r00t02", funcs=funcs), None, "mmap", 3)


def test_access_after_free_names_the_activation_that_freed_and_came_back(tmp_path):
    b, w = mmap_run(tmp_path)
    w.op_begin("mmap", ("scenario_proc", 8))
    region = [("mmap_release_all", 4), ("proc_release_user", 2), *DRIVER]
    w.alloc("obj", PAGE, ("mmap_map", 3), [("mmap_map", 3), *DRIVER], size=64)
    free_stack = [("region_free", 3), *region]
    free = w.free("obj", PAGE, ("region_free", 3), free_stack)
    access = [("region_next", 1), ("mmap_release_all", 6), ("proc_release_user", 2), *DRIVER]
    trap = w.trap(13, ("region_next", 1), PAGE + 8, access)
    w.finding("use-after-free", "region_next", "read after free", [free, trap],
              alloc=[("mmap_map", 3), *DRIVER], free=free_stack, bad=access, addr=PAGE,
              site=("region_next", 1))
    w.write("crash", ended=False)
    (f,) = audit_of(b).findings
    assert f.title == "use-after-free in mmap_release_all"
    assert not f.blame.ambiguous


def test_write_found_by_the_poison_check_names_the_freer_and_says_the_writer_is_unknown(
        tmp_path):
    b, w = mmap_run(tmp_path)
    w.op_begin("proc", ("scenario_proc", 8))
    w.alloc("obj", PAGE, ("proc_create", 2), [("proc_create", 2), *DRIVER], size=64)
    free_stack = [("proc_create", 9), *DRIVER]
    free = w.free("obj", PAGE, ("proc_create", 9), free_stack)
    poison = w.log("poison")
    w.finding("use-after-free", "proc_create", "write after free", [free, poison],
              alloc=[("proc_create", 2), *DRIVER], free=free_stack,
              bad=[("cmd_loop", 4)], addr=PAGE, site=("proc_create", 9))
    w.write("corrupt")
    (f,) = audit_of(b).findings
    assert f.title == "use-after-free in proc_create"
    assert "not who wrote it" in f.blame.ambiguous
