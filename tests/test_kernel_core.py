"""End-to-end tests of the sample kernel's core: handshake, command loop, runs, reset."""
import time

import pytest

from harness import Kernel, KernelTimeout, elf_build_id, function_range, records_of


@pytest.fixture
def kernel(kernel_elf):
    with Kernel(kernel_elf) as k:
        k.hello()
        yield k


def test_hello_carries_protocol_version_and_the_elf_build_id(kernel_elf):
    with Kernel(kernel_elf) as k:
        version, build_id = k.hello()
    assert version == 2
    assert build_id == elf_build_id(kernel_elf)


def test_boot_run_reports_checkpoints_result_and_end_in_order(kernel):
    recs = kernel.run("boot")
    kinds = [r.split(" ")[0] for r in recs]
    assert kinds[0] == "run" and kinds[1] == "ckpt" and kinds[-3:] == ["ckpt", "result", "end"]
    assert records_of(recs, "ckpt")[0][1] == "baseline"
    assert records_of(recs, "ckpt")[-1][1] == "end"
    assert records_of(recs, "result") == [["result", "boot", "0"]]
    assert recs[-1].split(" ")[1] == "0"   # nothing armed, nothing fired


def test_bad_commands_are_answered_with_err_and_the_loop_goes_on(kernel):
    assert kernel.command("arm 0 once") == ("err", "arm", "bad-count")
    assert kernel.command("arm 3 sometimes") == ("err", "arm", "bad-mode")
    assert kernel.command("arm 3 once class=disk") == ("err", "arm", "bad-class")
    assert kernel.command("arm 3 once lo=10") == ("err", "arm", "bad-range")
    assert kernel.command("arm 3 once lo=20 hi=10") == ("err", "arm", "bad-range")
    assert kernel.command("frobnicate") == ("err", "frobnicate", "unknown-command")
    assert kernel.command("run no-such-scenario") == ("err", "run", "unknown-scenario")
    assert kernel.command("x" * 600) == ("err", "line", "too-long")
    assert kernel.command("arm 3 once class=io") == ("ok", "arm")
    assert kernel.command("arm 3 persist class=page lo=80000000 hi=80001000") == ("ok", "arm")
    assert records_of(kernel.run("boot"), "result") == [["result", "boot", "0"]]


def test_warm_restart_gives_the_same_run_stream_as_a_reset(kernel, kernel_elf):
    """Everything a run can see starts afresh: attempt counter, allocator state (so the
    same addresses), devices (the blk probe), op ids."""
    for arm in (None, "150 once", "3 persist"):
        after_reset = kernel.run("vm", arm)
        assert kernel.restart() == (2, elf_build_id(kernel_elf))
        after_restart = kernel.run("vm", arm)
        assert after_restart == after_reset
        assert kernel.restart()[0] == 2
        assert kernel.run("boot", arm) == (kernel.reset(), kernel.run("boot", arm))[1]
        kernel.reset()


def test_restart_is_refused_after_a_panic_or_trap_until_a_reset(kernel):
    for scenario in ("test-panic", "test-trap"):
        kernel.run(scenario)
        assert kernel.command("restart") == ("err", "restart", "need-reset")
        kernel.reset()
        kernel.run("boot")
        assert kernel.restart()[0] == 2


def test_restart_is_refused_after_a_stray_write_to_the_image_until_a_reset(kernel):
    assert records_of(kernel.run("test-scribble"), "result") == [["result", "test-scribble", "0"]]
    assert kernel.command("restart") == ("err", "restart", "image-changed")
    kernel.reset()                                  # the image is loaded again
    assert records_of(kernel.run("test-scribble"), "result") == [["result", "test-scribble", "0"]]
    kernel.reset()
    kernel.run("boot")
    assert kernel.restart()[0] == 2


def test_a_second_run_needs_a_reset(kernel):
    kernel.run("boot")
    assert kernel.command("run boot") == ("err", "run", "need-reset")
    assert kernel.command("arm 1 once") == ("err", "arm", "need-reset")


def test_reset_brings_the_kernel_back_to_hello_for_another_scenario(kernel, kernel_elf):
    first = kernel.run("vm")
    assert kernel.reset() == (2, elf_build_id(kernel_elf))
    second = kernel.run("boot")
    assert records_of(first, "result") == [["result", "vm", "0"]]
    assert records_of(second, "result") == [["result", "boot", "0"]]
    # nothing carried over: the attempt counter and the allocator state start afresh
    assert records_of(first, "alloc")[0][1:4] == records_of(second, "alloc")[0][1:4]


def test_quit_powers_off_with_status_zero(kernel):
    assert kernel.quit() == 0


# ---- allocators, records and the fault hook ----

def summarize(recs):
    """Check the invariants every finished run must keep; return (fired, attempts, faults, rc).

    - the run ended with `end`, with no panic or trap;
    - every op+ was closed by an op-;
    - the alloc/free records balance (nothing the records say is live at the end);
    - the end checkpoint equals the baseline.
    """
    kinds = [r.split(" ", 1)[0] for r in recs]
    assert kinds[-1] == "end", recs[-5:]
    assert "panic" not in kinds and "trap" not in kinds, [r for r in recs if "panic" in r or "trap" in r]
    open_ops = set()
    live = {}
    for r in recs:
        t = r.split(" ")
        if t[0] == "op+":
            open_ops.add(t[1])
        elif t[0] == "op-":
            open_ops.remove(t[1])
        elif t[0] == "alloc":
            assert (t[2], t[3]) not in live, r
            live[(t[2], t[3])] = r
        elif t[0] == "free":
            assert live.pop((t[2], t[3]), None), f"free of an address not live: {r}"
    assert not open_ops
    assert not live, list(live.values())[:3]
    ckpts = records_of(recs, "ckpt")
    assert [c[1] for c in ckpts] == ["baseline", "end"]
    assert ckpts[0][2:] == ckpts[1][2:]
    end = recs[-1].split(" ")
    rc = int(records_of(recs, "result")[0][2])
    return int(end[1]), int(end[2]), int(end[3]), rc


def within_op(recs, name):
    """The records emitted inside the (first) op called name: kernel init's own allocations
    (which grow with every subsystem added to it) are left out."""
    start = next(i for i, r in enumerate(recs) if r.split(" ")[0] == "op+" and r.split(" ")[2] == name)
    op_id = recs[start].split(" ")[1]
    end = next(i for i in range(start, len(recs)) if recs[i].split(" ")[:2] == ["op-", op_id])
    return recs[start:end + 1]


def reference(kernel, scenario):
    recs = kernel.run(scenario)
    fired, attempts, faults, rc = summarize(recs)
    assert (fired, faults, rc) == (0, 0, 0)
    return recs, attempts


# what a scenario returns when the first fault is of each class: an allocation's -ENOMEM; a
# device's -ENODEV (it refused a feature or the queue) or -EIO (it failed, or a request did)
FAILED_RC = {"page": {-12}, "obj": {-12}, "io": {-19, -5}}


def sweep(kernel, scenario, mode):
    """Arm N = 1 .. total+1 in one QEMU process (reset between runs); check every run."""
    kernel.reset()
    _, total = reference(kernel, scenario)
    assert total > 0
    for n in range(1, total + 2):
        kernel.reset()
        recs = kernel.run(scenario, arm=f"{n} {mode}")
        fired, attempts, faults, rc = summarize(recs)
        if n > total:
            assert (fired, faults, rc, attempts) == (0, 0, 0, total), f"N={n}"
            continue
        faults_seen = records_of(recs, "fault")
        assert fired == 1 and rc in FAILED_RC[faults_seen[0][2]], \
            f"N={n}: fired {fired} rc {rc} after {faults_seen[0]}"
        assert int(faults_seen[0][1]) == n, f"N={n}: first fault at {faults_seen[0]}"
        expected = 1 if mode == "once" else attempts - n + 1
        assert faults == len(faults_seen) == expected, f"N={n}"
    return total


def test_vm_completes_with_zero_live_objects_at_the_end(kernel):
    recs, attempts = reference(kernel, "vm")
    assert records_of(recs, "ckpt")[-1] == ["ckpt", "end", "0", "0", "0", "0"]
    # every attempt succeeded: an allocation, or a device check of the blk probe (class io)
    assert not records_of(recs, "fault") and not records_of(recs, "oom")
    seqs = [int(a[1]) for a in records_of(recs, "alloc")]
    assert seqs == sorted(set(seqs)) and 0 < attempts - len(seqs) <= 8
    allocs = records_of(within_op(recs, "vm"), "alloc")
    assert len(allocs) >= 480 + 16   # 2 x 240 frames + tables
    assert all(a[2] == "page" for a in allocs)


@pytest.mark.parametrize("mode", ["once", "persist"])
def test_every_allocation_of_vm_fails_cleanly(kernel, mode):
    total = sweep(kernel, "vm", mode)
    assert total >= 490


@pytest.mark.parametrize("mode", ["once", "persist"])
def test_every_allocation_of_kernel_init_fails_cleanly(kernel, mode):
    assert sweep(kernel, "boot", mode) >= 5


def test_double_free_is_refused_and_reported(kernel):
    recs = kernel.run("test-doublefree")
    scen = within_op(recs, "test-doublefree")
    [alloc] = [a for a in records_of(scen, "alloc") if a[2] == "obj"]
    frees = [f for f in records_of(scen, "free") if f[2] == "obj"]
    bad = records_of(recs, "badfree")
    assert [f[3] for f in frees] == [alloc[3]]
    assert [(b[2], b[3], b[4]) for b in bad] == [("double", "obj", alloc[3])]
    summarize(recs)


def test_guard_mode_is_turned_on_before_a_run_and_only_then(kernel):
    assert kernel.command("guard off") == ("err", "guard", "bad-argument")
    assert kernel.command("guard on") == ("ok", "guard")
    assert records_of(kernel.run("vm"), "result") == [["result", "vm", "0"]]
    assert kernel.command("guard on") == ("err", "guard", "need-reset")


def test_double_free_of_a_quarantined_object_is_refused_in_guard_mode_too(kernel):
    assert kernel.command("guard on") == ("ok", "guard")
    recs = kernel.run("test-doublefree")
    assert not records_of(recs, "trap")
    assert [(b[2], b[3]) for b in records_of(recs, "badfree")] == [("double", "obj")]


def test_free_through_the_wrong_allocator_is_refused_both_ways(kernel):
    recs = kernel.run("test-wrongfree")
    objs = {a[2]: a[3] for a in records_of(within_op(recs, "test-wrongfree"), "alloc")}
    bad = [(b[2], b[3], b[4]) for b in records_of(recs, "badfree")]
    assert bad == [("mismatch", "page", objs["obj"]), ("mismatch", "obj", objs["page"])]
    summarize(recs)     # the refused frees touched nothing: the real frees balance


def test_leak_shows_in_the_end_checkpoint(kernel):
    recs = kernel.run("test-leak")
    ckpts = records_of(recs, "ckpt")
    assert ckpts[0][2:] == ["0", "0", "0", "0"]
    assert ckpts[1][2:] == ["0", "1", "0", "64"]


def test_class_filter_counts_only_that_allocator(kernel):
    recs = kernel.run("test-leak", arm="1 once class=obj")
    [fault] = records_of(recs, "fault")
    assert fault[2] == "obj"
    assert records_of(recs, "alloc") and all(a[2] == "page" for a in records_of(recs, "alloc"))
    assert summarize(recs)[0] == 1 and summarize(recs)[3] == -12


def test_pc_range_filter_fails_only_calls_from_that_function(kernel, kernel_elf):
    lo, hi = function_range(kernel_elf, "scen_test_wrongfree")
    # the second counted attempt inside scen_test_wrongfree is its page_alloc
    recs = kernel.run("test-wrongfree", arm=f"2 once lo={lo:x} hi={hi:x}")
    [fault] = records_of(recs, "fault")
    assert fault[2] == "page" and lo <= int(fault[4], 16) < hi
    assert int(fault[1]) > 2        # kernel init's attempts were not counted
    fired, _, faults, rc = summarize(recs)
    assert (fired, faults, rc) == (1, 1, -12)


def test_real_memory_exhaustion_reports_oom_and_recovers(kernel):
    recs = kernel.run("test-oom", timeout=60)
    ooms = [(o[2], o[3]) for o in records_of(recs, "oom")]
    assert ooms == [("page", "4096"), ("obj", "8192")]
    pages = [a for a in records_of(recs, "alloc") if a[2] == "page"]
    assert len(pages) * 4096 > 120 * 1024 * 1024
    fired, _, _, rc = summarize(recs)
    assert (fired, rc) == (0, 0)


def test_unexpected_trap_reports_cause_and_backtrace_then_ends(kernel, kernel_elf):
    recs = kernel.run("test-trap")
    [trap] = records_of(recs, "trap")
    scause, sepc, stval, bt = trap[1], int(trap[2], 16), trap[3], trap[4].split(",")
    lo, hi = function_range(kernel_elf, "scen_test_trap")
    assert (scause, stval) == ("d", "3000000000")          # load page fault at that address
    assert lo <= sepc < hi and int(bt[0], 16) == sepc
    # the trapping function is a leaf: its caller comes from the trapped ra, inside the text
    text_lo, text_hi = function_range(kernel_elf, "cmd_loop")
    assert len(bt) >= 2 and text_lo <= int(bt[1], 16) < text_hi
    assert recs[-1].startswith("end ") and not records_of(recs, "result")
    assert kernel.reset()[0] == 2                           # and the machine comes back


def test_hang_emits_its_records_then_goes_silent(kernel):
    with pytest.raises(KernelTimeout):
        kernel.run("test-hang", timeout=1.0)
    assert "log test-hang: spinning forever" in kernel.lines


def test_no_record_is_lost_when_the_host_reads_late(kernel):
    # test-oom writes megabytes; the host sleeps while the socket fills up
    kernel.send("run test-oom")
    time.sleep(0.3)
    recs = []
    while not recs or not recs[-1].startswith("end "):
        recs.append(kernel.readline(timeout=60))
    # no gap in the scenario's attempts (kernel init's include the blk probe's device checks)
    seqs = [int(r.split(" ")[1]) for r in within_op(recs, "test-oom") if r.startswith("alloc ")]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    summarize(recs[1:])


@pytest.mark.parametrize("scenario,kind", [("test-panic", "unexpected"),
                                           ("test-panic-expected", "expected")])
def test_panic_is_reported_with_its_kind_and_site_then_ends(kernel, kernel_elf, scenario, kind):
    recs = kernel.run(scenario)
    [panic] = records_of(recs, "panic")
    lo, hi = function_range(kernel_elf, "scen_" + scenario.replace("-", "_"))
    # a return address: the call is the function's last instruction, so look at pc - 1
    assert panic[1] == kind and lo <= int(panic[2], 16) - 1 < hi
    assert panic[3].split(",")[0] == panic[2]          # the backtrace starts at the site
    assert " ".join(panic[4:]).startswith(scenario + ": ")
    assert recs[-1].startswith("end ") and not records_of(recs, "result")


def test_failed_copy_into_a_partly_mapped_space_leaves_the_existing_page_alone(kernel_elf):
    # test-copy-exists: dst already maps the middle page of the copied range; vm_copy must
    # fail with -EEXIST, take back only its own copy, and keep dst's page and frame. The
    # scenario checks that itself (result 0); under every injected fault it must still end
    # balanced, whatever step failed.
    with Kernel(kernel_elf) as k:
        k.hello()
        recs = k.run("test-copy-exists")
        assert records_of(recs, "result") == [["result", "test-copy-exists", "0"]]
        attempts = int(recs[-1].split(" ")[2])
        for n in range(1, attempts + 1):
            k.reset()
            recs = k.run("test-copy-exists", arm=f"{n} once")
            assert recs[-1].split(" ")[1] == "1", n
            rc = int(records_of(recs, "result")[0][2])
            assert rc == 0 or rc in FAILED_RC[records_of(recs, "fault")[0][2]], (n, rc)
            base, end = records_of(recs, "ckpt")[0][2:], records_of(recs, "ckpt")[-1][2:]
            assert base == end, n
            assert not records_of(recs, "badfree"), n
