"""The injector's command line: every misuse exits 2 with a message saying what is wrong,
before any QEMU is started or any database is written."""
import subprocess

import pytest


def injector(build_dir, *args):
    return subprocess.run([str(build_dir / "injector"), *args], capture_output=True,
                          text=True, timeout=30)


@pytest.mark.parametrize("args, message", [
    ([], "missing command"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["sweep", "--scenario", "boot", "--db", "x.db"], "--kernel ELF is required"),
    (["sweep", "--kernel", "K", "--scenario", "boot"], "--db FILE is required"),
    (["sweep", "--kernel", "K", "--db", "x.db"], "--scenario is required"),
    (["run", "--kernel", "K", "--scenario", "boot", "--db", "x.db"], "run needs --fail N"),
    (["run", "--kernel", "K", "--scenario", "boot", "--fail", "0", "--db", "x.db"],
     "--fail wants a number >= 1"),
    (["sweep", "--kernel", "K", "--scenario", "boot", "--mode", "cold", "--db", "x.db"],
     "--mode is fresh, reset or warm"),
    (["sweep", "--kernel", "K", "--scenario", "boot", "--class", "slab", "--db", "x.db"],
     "--class is page or obj"),
    (["sweep", "--kernel", "K", "--scenario", "boot", "-j", "0", "--db", "x.db"],
     "-j wants a number"),
    (["sweep", "--kernel", "K", "--scenario", "boot", "--timeout", "-1", "--db", "x.db"],
     "--timeout wants seconds"),
    (["sweep", "--kernel", "K", "--scenario", "boot", "--persist", "--both", "--db", "x.db"],
     "exclude each other"),
    (["sweep", "--kernel", "K", "--scenario", "boot", "--by-site", "--persist", "--db", "x.db"],
     "--by-site injects each call site once"),
    (["sweep", "--kernel", "K", "--scenario", "boot", "--fail", "3", "--db", "x.db"],
     "--fail belongs to run"),
    (["sweep", "--kernel", "K", "--scenario", "boot", "--bogus", "--db", "x.db"],
     "unknown option '--bogus'"),
    (["sweep", "--kernel", "K", "--scenario", "boot", "--db"], "needs a value"),
    (["boot", "--kernel", "K"], "boot needs --console-fd FD"),
    (["boot", "--kernel", "K", "--console-fd", "x"], "--console-fd wants an open file"),
    (["run", "--kernel", "K", "--scenario", "boot,vm", "--fail", "1", "--db", "x.db"],
     "run takes one scenario"),
])
def test_usage_errors_exit_2_with_a_message(build_dir, tmp_path, args, message):
    r = subprocess.run([str(build_dir / "injector"), *args], capture_output=True, text=True,
                       timeout=30, cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr
    assert "usage:" in r.stderr
    assert not (tmp_path / "x.db").exists()


def test_boot_refuses_a_console_fd_that_is_not_open(build_dir, kernel_elf):
    r = injector(build_dir, "boot", "--kernel", str(kernel_elf), "--console-fd", "977")
    assert r.returncode == 2
    assert "--console-fd 977 is not an open file descriptor" in r.stderr


def test_unknown_scenario_is_refused_before_booting(build_dir, kernel_elf, tmp_path):
    db = tmp_path / "x.db"
    r = injector(build_dir, "sweep", "--kernel", str(kernel_elf), "--scenario", "no-such",
                 "--db", str(db))
    assert r.returncode == 2
    assert "offers no scenario 'no-such'" in r.stderr
    assert "boot" in r.stderr            # the message lists what the kernel does offer
    assert not list(tmp_path.glob("x.db.logs/*.log"))


def test_unknown_site_function_is_refused(build_dir, kernel_elf, tmp_path):
    r = injector(build_dir, "sweep", "--kernel", str(kernel_elf), "--scenario", "boot",
                 "--site", "no_such_function", "--db", str(tmp_path / "x.db"))
    assert r.returncode == 2
    assert "--site no_such_function: no such function" in r.stderr


def test_missing_kernel_is_a_usage_error(build_dir, tmp_path):
    r = injector(build_dir, "sweep", "--kernel", str(tmp_path / "nope.elf"), "--scenario",
                 "boot", "--db", str(tmp_path / "x.db"))
    assert r.returncode == 2
    assert "nope.elf" in r.stderr


def test_scenarios_lists_what_the_kernel_offers(build_dir, kernel_elf):
    r = injector(build_dir, "scenarios", "--kernel", str(kernel_elf))
    assert r.returncode == 0
    names = r.stdout.split()
    assert "boot" in names
    assert len(names) == len(set(names))


def test_qemu_that_cannot_start_a_machine_is_an_infrastructure_error(build_dir, kernel_elf,
                                                                     tmp_path):
    # it answers -version (so it is found and named) but every machine it starts dies
    fake = tmp_path / "broken-qemu"
    fake.write_text('#!/bin/sh\n[ "$1" = -sandbox ] && [ "$3" = -version ] && '
                    '{ echo "QEMU emulator version 0.0"; exit 0; }\n'
                    'echo "broken-qemu: no machine today" >&2\nexit 1\n')
    fake.chmod(0o755)
    r = injector(build_dir, "sweep", "--kernel", str(kernel_elf), "--scenario", "boot",
                 "--qemu", str(fake), "--db", str(tmp_path / "x.db"))
    assert r.returncode == 2
    assert "QEMU failed to boot the kernel" in r.stderr
    assert "broken-qemu: no machine today" in r.stderr


def test_scenarios_of_a_file_that_is_not_an_elf_is_refused(build_dir, tmp_path):
    junk = tmp_path / "junk.elf"
    junk.write_bytes(b"\x7fELF" + bytes(range(256)) * 4)
    r = injector(build_dir, "scenarios", "--kernel", str(junk))
    assert r.returncode == 2
    assert "junk.elf" in r.stderr


def test_floor_refuses_a_kernel_that_does_not_power_off(build_dir, kernel_elf):
    # the real kernel waits for commands: `floor` must give up at --timeout, not hang
    r = injector(build_dir, "floor", "--kernel", str(kernel_elf), "--count", "1",
                 "--timeout", "1")
    assert r.returncode == 2
    assert "did not power off within 1 s" in r.stderr
