"""The injector's command line: every misuse exits 2 with a message saying what is wrong,
before any QEMU is started or any database is written."""
import subprocess

import pytest


def injector(build_dir, *args):
    return subprocess.run([str(build_dir / "injector"), *args], capture_output=True,
                          text=True, timeout=30)


def sweep_with(*opts):
    return ["sweep", "--kernel", "K", "--scenario", "vm", "--db", "x.db", *opts]


@pytest.mark.parametrize("args, message", [
    ([], "missing command"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["sweep", "--scenario", "boot", "--db", "x.db"], "--kernel ELF is required"),
    (["sweep", "--kernel", "K", "--scenario", "boot"], "--db FILE is required"),
    (["sweep", "--kernel", "K", "--db", "x.db"], "--scenario is required"),
    (["run", "--kernel", "K", "--scenario", "boot", "--db", "x.db"], "run needs --fail N"),
    (["run", "--kernel", "K", "--scenario", "boot", "--fail", "0", "--db", "x.db"],
     "--fail wants a number from 1 to 1000000000, not '0'"),
    (["sweep", "--kernel", "K", "--scenario", "boot", "--mode", "cold", "--db", "x.db"],
     "--mode is fresh, reset, warm or snapshot"),
    (["sweep", "--kernel", "K", "--scenario", "boot", "--class", "slab", "--db", "x.db"],
     "--class is page, obj or io"),
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
    (["boot", "--kernel", "K", "--console-fd", "x"], "--console-fd wants a number from 0 to"),
    (["run", "--kernel", "K", "--scenario", "boot,vm", "--fail", "1", "--db", "x.db"],
     "run takes one scenario"),
    *[(sweep_with("--scenario", v), f"--scenario wants S or S1,S2,... (no empty name), "
                                    f"not '{v}'") for v in ("vm,", ",vm", "vm,,boot", ",")],
    *[(sweep_with("--timeout", v), f"--timeout wants seconds, more than 0 and at most 86400, "
                                   f"not '{v}'")
      for v in ("1e9", "86401", "0", "nan", "inf", "5s")],
    *[(sweep_with(opt, v), f"{name} wants a number from 1 to 256, not '{v}'")
      for opt, name, v in (("-j", "-j", "257"), ("--jobs", "-j", "2x"), ("-j", "-j", "0"))],
    *[(sweep_with("--max-n", v), f"--max-n wants a number from 1 to 1000000000, not '{v}'")
      for v in ("0", "1e3", "1000000001", "99999999999999999999")],
    *[(["run", "--kernel", "K", "--scenario", "vm", "--fail", v, "--db", "x.db"],
       f"--fail wants a number from 1 to 1000000000, not '{v}'")
      for v in ("-3", "9223372036854775807")],
    *[(sweep_with(opt, ""), f"{opt} wants a value, not ''")
      for opt in ("--scenario", "--site", "--qemu", "--db", "--kernel")],
    (sweep_with("-j", ""), "--jobs wants a value, not ''"),
    (["sweep", "--kernel", "K", "--scenario", "vm", "--db="], "--db wants a value, not ''"),
    (sweep_with("--site", "vm_map,vm_unmap"), "--site wants one function name"),
    (sweep_with("--site", "f" * 128), "--site wants one function name (at most 127 characters)"),
    *[(["floor", "--kernel", "K", "--count", v], f"--count wants a number from 1 to 100000, "
                                                 f"not '{v}'") for v in ("0", "100001")],
    (["boot", "--kernel", "K", "--console-fd", "-1"], "--console-fd wants a number from 0 to"),
])
def test_usage_errors_exit_2_with_a_message_and_write_nothing(build_dir, tmp_path, args,
                                                              message):
    r = subprocess.run([str(build_dir / "injector"), *args], capture_output=True, text=True,
                       timeout=30, cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr
    assert "usage:" in r.stderr
    assert not list(tmp_path.iterdir())      # no database, no logs


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
