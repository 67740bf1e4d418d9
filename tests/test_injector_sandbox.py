"""QEMU confined: the seccomp sandbox and the rlimits every QEMU runs under, the QEMU binary
found once and named, and kernels QEMU cannot boot refused before any machine starts.

End to end with the real kernel in real QEMU; every QEMU writes its UART log under the
test's tmp_path, which is how its process is found.
"""
import os
import pathlib
import re
import shutil
import socket
import stat
import subprocess
import time

import pytest

import harness
from test_injector_e2e import (Injector, check_sweep_ended_by_itself, qemu_processes, raw_logs,
                               series)

QEMU = os.path.realpath(shutil.which("qemu-system-riscv64"))
KIB, MIB = 1 << 10, 1 << 20


@pytest.fixture
def inj(build_dir, kernel_elf, tmp_path):
    return Injector(build_dir, kernel_elf, tmp_path)


def limits(pid):
    """{name: (soft, hard)} from /proc/<pid>/limits, e.g. 'Max file size': ('1024', '1024')."""
    out = {}
    with open(f"/proc/{pid}/limits") as f:
        next(f)
        for line in f:
            name, soft, hard = line[:26].strip(), *line[26:].split()[:2]
            out[name] = (soft, hard)
    return out


def seccomp_mode(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("Seccomp:"))


def assert_confined(pid, file_max, cpu_s):
    """Seccomp filter mode, no core files, 2 GiB of address space, files of at most file_max
    bytes, cpu_s seconds of CPU (SIGXCPU) and one more (SIGKILL)."""
    assert seccomp_mode(pid) == 2
    lim = limits(pid)
    assert lim["Max core file size"] == ("0", "0")
    assert lim["Max address space"] == (str(2 << 30),) * 2
    assert lim["Max file size"] == (str(file_max),) * 2
    assert lim["Max cpu time"] == (str(cpu_s), str(cpu_s + 1))


def wait_for(predicate, what, deadline_s=30):
    deadline = time.monotonic() + deadline_s
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"no {what} within {deadline_s} s"
        time.sleep(0.05)
    return found


def write_script(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# ---- (a) the sandbox changes nothing a run records ----

def test_runs_are_identical_with_and_without_the_sandbox(inj):
    for db, extra in (("on.db", ()), ("off.db", ("--no-sandbox",))):
        r = inj("sweep", "--scenario", "boot,vm", "--mode", "reset", "-j", "2",
                "--keep-logs", "all", *extra, db=db)
        assert r.returncode == 0, r.stdout + r.stderr
    on, off = inj.db("on.db"), inj.db("off.db")
    for scenario in ("boot", "vm"):
        sandboxed, free = series(on, scenario, "reset", "once"), series(off, scenario, "reset", "once")
        k = check_sweep_ended_by_itself(sandboxed)
        assert k > 10 and check_sweep_ended_by_itself(free) == k
        # outcome, fired, attempts and event count for every N, and the streams byte for byte
        # (N past k may have been in flight on the other worker in one sweep only)
        logs_on, logs_off = raw_logs(on, scenario, "reset", "once"), raw_logs(off, scenario, "reset", "once")
        for n in range(1, k + 1):
            assert sandboxed[n] == free[n], n
            assert logs_on[n] == logs_off[n], n


# ---- (b) the sandbox and the limits are really on ----

def test_sweep_names_the_qemu_binary_it_found_on_path(inj, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "my-qemu").symlink_to(QEMU)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", FAULTLINE_QEMU="my-qemu")
    r = subprocess.run(inj.args("sweep", "--scenario", "boot", "--mode", "reset"), env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    version = subprocess.run([QEMU, "--version"], capture_output=True, text=True,
                             check=True).stdout.splitlines()[0]
    assert f"qemu: {QEMU} ({version})\n" in r.stdout


def test_machine_started_by_boot_is_sandboxed_and_limited(kernel_elf):
    with harness.Kernel(kernel_elf) as k:
        k.hello()
        pid = k.proc.pid           # `injector boot` became QEMU
        # a machine that serves run after run gets an hour of CPU time
        assert_confined(pid, file_max=64 * MIB, cpu_s=3600)
        k.run("vm")                # and it still runs the kernel
        assert k.quit() == 0


def test_machine_started_by_a_run_is_sandboxed_and_limited(inj, tmp_path):
    proc = subprocess.Popen(inj.args("run", "--scenario", "test-hang", "--fail", "1000000",
                                     "--timeout", "20", "--uart-limit", "3M"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pid = wait_for(lambda: qemu_processes(str(tmp_path)), "QEMU")[0]
        # QEMU turns seccomp on before the guest runs: once the kernel has printed, it is on
        wait_for(lambda: any(p.stat().st_size for p in tmp_path.glob("f.db.logs/*.uart")),
                 "kernel boot line")
        # a fresh machine serves one run: twice its timeout and 30 s to boot
        assert_confined(pid, file_max=3 * MIB, cpu_s=70)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    wait_for(lambda: not qemu_processes(str(tmp_path)), "exit of QEMU")


def test_qemu_without_seccomp_is_named_before_any_machine_starts(inj, tmp_path):
    started = tmp_path / "machine-started"
    fake = write_script(tmp_path / "qemu-no-seccomp", f"""#!/bin/sh
for a; do
    case "$a" in
    -sandbox) echo "qemu-system-riscv64: -sandbox support is not enabled in this QEMU binary" >&2
              exit 1 ;;
    -kernel) touch {started} ;;
    esac
done
echo "QEMU emulator version 0.0"
""")
    r = inj("sweep", "--scenario", "boot", "--qemu", str(fake))
    assert r.returncode == 2
    assert r.stderr == (f"injector: QEMU {fake} cannot run sandboxed: qemu-system-riscv64: "
                        "-sandbox support is not enabled in this QEMU binary (--no-sandbox "
                        "runs QEMU without its seccomp sandbox)\n")
    assert not started.exists()
    assert not (tmp_path / "f.db").exists()


@pytest.mark.parametrize("name, message", [
    ("no-such-qemu", "no-such-qemu: not found on PATH"),
    ("/nonexistent/qemu", "/nonexistent/qemu: No such file or directory"),
])
def test_qemu_that_cannot_be_found_is_refused_before_anything_runs(inj, tmp_path, name,
                                                                  message):
    r = inj("sweep", "--scenario", "boot", "--qemu", name)
    assert r.returncode == 2
    assert r.stderr.startswith(f"injector: QEMU {message}")
    assert not (tmp_path / "f.db").exists()


# ---- (c) a UART log past its bound neither fills the disk nor stops the run ----

def test_uart_log_past_its_bound_is_cut_there_and_the_run_is_still_judged(inj, tmp_path):
    r = inj("run", "--scenario", "vm", "--fail", "3", db="free.db")
    assert r.returncode == 0, r.stdout + r.stderr
    (free_uart,) = (tmp_path / "free.db.logs").glob("*.uart")
    assert free_uart.stat().st_size > 16        # the kernel's boot line
    r = inj("run", "--scenario", "vm", "--fail", "3", "--uart-limit", "16", db="cut.db")
    assert r.returncode == 0, r.stdout + r.stderr
    (cut_uart,) = (tmp_path / "cut.db.logs").glob("*.uart")
    assert cut_uart.read_bytes() == free_uart.read_bytes()[:16]
    # the run is judged exactly as without the bound
    assert series(inj.db("cut.db"), "vm", "fresh", "once") == \
        series(inj.db("free.db"), "vm", "fresh", "once")
    assert raw_logs(inj.db("cut.db"), "vm", "fresh", "once") == \
        raw_logs(inj.db("free.db"), "vm", "fresh", "once")


CHATTY_KERNEL = """
	.section .text
	.globl _entry
_entry:				# writes 'A' to the UART forever
	li	t0, 0x10000000
	li	t1, 0x41
1:	sb	t1, 0(t0)
	j	1b
"""


def test_kernel_that_prints_forever_stops_at_the_bound_and_keeps_running(build_dir,
                                                                         tmp_path):
    src, elf, uart = tmp_path / "chatty.S", tmp_path / "chatty.elf", tmp_path / "chatty.uart"
    src.write_text(CHATTY_KERNEL)
    subprocess.run(["riscv64-unknown-elf-gcc", "-nostdlib", "-Wl,-Ttext=0x80000000",
                    "-Wl,-e,_entry", "-o", str(elf), str(src)], check=True)
    host, guest = socket.socketpair()
    proc = subprocess.Popen([str(build_dir / "injector"), "boot", "--kernel", str(elf),
                             "--console-fd", str(guest.fileno()), "--serial", f"file:{uart}",
                             "--uart-limit", "64K"], pass_fds=(guest.fileno(),),
                            stderr=subprocess.PIPE)
    guest.close()
    try:
        wait_for(lambda: uart.exists() and uart.stat().st_size >= 64 * KIB, "full UART log")
        # a write past the bound fails instead of killing QEMU (SIGXFSZ is ignored) ...
        time.sleep(0.5)
        assert proc.poll() is None, proc.stderr.read()
        # ... and the log never grows past it
        assert uart.read_bytes() == b"A" * (64 * KIB)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
        host.close()


# ---- a kernel QEMU cannot boot is refused by every command ----

def bad_kernel(kernel_elf, tmp_path, kind):
    """A file QEMU cannot boot as a kernel: another machine's ELF, or the kernel cut short."""
    if kind == "x86-64":
        return "/bin/ls"
    data = pathlib.Path(kernel_elf).read_bytes()
    if kind == "cut-in-header":
        data = data[:40]
    elif kind == "cut-after-header":
        data = data[:64]
    elif kind == "cut-in-text":
        data = data[:4096]
    elif kind == "cut-at-tail":
        data = data[:-100]
    elif kind == "cut-segment-no-sections":
        # no section table to give the cut away: only the segment's extent does
        data = bytearray(data[:4096])
        data[0x28:0x30] = bytes(8)          # e_shoff
        data[0x3c:0x40] = bytes(4)          # e_shnum, e_shstrndx
    path = tmp_path / f"{kind}.elf"
    path.write_bytes(bytes(data))
    return path


COMMANDS = {
    "run": ["--scenario", "boot", "--fail", "1", "--db", "x.db"],
    "sweep": ["--scenario", "boot", "--db", "x.db"],
    "scenarios": [],
    "floor": ["--count", "1"],
    "boot": ["--console-fd", "0"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("kind, why", [
    ("x86-64", r"ELF machine 62; RISC-V is 243"),
    ("cut-in-header", r"not an ELF file"),
    ("cut-after-header", r"header tables end past the end of the file: truncated\?"),
    ("cut-in-text", r"header tables end past the end of the file: truncated\?"),
    ("cut-at-tail", r"header tables end past the end of the file: truncated\?"),
    ("cut-segment-no-sections", r"segment \d+ ends past the end of the file: truncated\?"),
])
def test_kernel_qemu_cannot_boot_is_refused_by_every_command_before_qemu_starts(
        build_dir, kernel_elf, tmp_path, command, kind, why):
    kernel = bad_kernel(kernel_elf, tmp_path, kind)
    started = tmp_path / "qemu-started"
    spy = write_script(tmp_path / "qemu", f"#!/bin/sh\ntouch {started}\nexec {QEMU} \"$@\"\n")
    r = subprocess.run([str(build_dir / "injector"), command, "--kernel", str(kernel),
                        "--qemu", str(spy), *COMMANDS[command]], capture_output=True,
                       text=True, timeout=30, cwd=tmp_path)
    assert r.returncode == 2
    assert re.fullmatch(rf"injector: --kernel {re.escape(str(kernel))}: not a 64-bit RISC-V "
                        rf"executable \({why}\)\n", r.stderr), r.stderr
    assert not started.exists()
    assert not (tmp_path / "x.db").exists()
