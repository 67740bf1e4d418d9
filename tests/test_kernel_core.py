"""End-to-end tests of the sample kernel's core: handshake, command loop, runs, reset."""
import pytest

from harness import Kernel, elf_build_id, records_of


@pytest.fixture
def kernel(kernel_elf):
    with Kernel(kernel_elf) as k:
        k.hello()
        yield k


def test_hello_carries_protocol_version_and_the_elf_build_id(kernel_elf):
    with Kernel(kernel_elf) as k:
        version, build_id = k.hello()
    assert version == 1
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
    assert kernel.command("arm 3 persist class=page lo=80000000 hi=80001000") == ("ok", "arm")
    assert records_of(kernel.run("boot"), "result") == [["result", "boot", "0"]]


def test_a_second_run_needs_a_reset(kernel):
    kernel.run("boot")
    assert kernel.command("run boot") == ("err", "run", "need-reset")
    assert kernel.command("arm 1 once") == ("err", "arm", "need-reset")


def test_reset_brings_the_kernel_back_to_hello_for_another_scenario(kernel, kernel_elf):
    first = kernel.run("boot")
    assert kernel.reset() == (1, elf_build_id(kernel_elf))
    second = kernel.run("boot")
    assert records_of(first, "result") == records_of(second, "result")


def test_quit_powers_off_with_status_zero(kernel):
    assert kernel.quit() == 0
