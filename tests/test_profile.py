"""The kernel profile (docs/profile.md): one INI file the injector (libinih) and the analysis
(configparser) read alike, whose values the command line overrides, that boots the machine
it describes, and that every printed repro line carries."""
import os
import re
import shlex
import sqlite3
import subprocess

import pytest
from conftest import BUILD, ROOT

from analysis import profile
from analysis.gate import Gate

SAMPLE = ROOT / "sample-kernel" / "faultline.ini"

# A valid value for every key of the format.
EVERY_KEY = {
    ("kernel", "elf"): str(BUILD / "kernel.elf"),
    ("qemu", "binary"): "qemu-system-riscv64",
    ("qemu", "machine"): "virt",
    ("qemu", "memory"): "96M",
    ("qemu", "smp"): "1",
    ("qemu", "bios"): "none",
    ("qemu", "virtio"): "none\n         console\n         virtio-blk-device,drive=d0",
    ("qemu", "drives"): "driver=null-co,size=1M,if=none,id=d0",
    ("qemu", "args"): "-rtc base=utc",
    ("timeouts", "boot"): "10",
    ("timeouts", "run"): "5",
    ("sweep", "scenarios"): "boot proc",
    ("sweep", "mode"): "reset",
    ("sweep", "fault"): "once",
    ("analysis", "allocators"): "page_alloc page_free",
    ("analysis", "internal"): "page_take_internal",
    ("analysis", "atomic"): "*",
    ("analysis", "not_atomic"): "vm_map",
    ("analysis", "suppressions"): "known.txt",
    ("pytest", "min_error_coverage"): "50",
}


def ini(values: dict) -> str:
    out, section = [], None
    for (s, k), v in values.items():
        if s != section:
            out.append(f"{chr(10) if out else ''}[{s}]")
            section = s
        out.append(f"{k} = {v}")
    return "\n".join(out) + "\n"


def injector(*args, cwd=None):
    return subprocess.run([str(BUILD / "injector"), *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def runs(db):
    with sqlite3.connect(db) as con:
        return sorted(con.execute(
            "SELECT scenario, exec_mode, fault_mode, n, outcome, fired, attempts, result_rc, "
            "fault_pc, nevents FROM runs").fetchall())


def test_docs_list_every_key_both_parsers_read(tmp_path):
    doc = (ROOT / "docs" / "profile.md").read_text()
    documented = set(re.findall(r"^\| `(\w+)` \| `(\w+)` \|", doc, re.M))
    assert documented == set(EVERY_KEY)
    assert {(s, k) for s, keys in profile.KEYS.items() for k in keys} == documented
    p = tmp_path / "every.ini"
    p.write_text(ini(EVERY_KEY))
    (tmp_path / "known.txt").write_text("")
    loaded = profile.load(p)
    assert (loaded.scenarios, loaded.mode, loaded.suppressions) == \
        (("boot", "proc"), "reset", tmp_path / "known.txt")
    assert loaded.allocator_globs == ("page_alloc", "page_free", "page_take_internal")
    r = injector("scenarios", "--profile", p)          # the injector reads it: no --kernel
    assert r.returncode == 0 and "proc" in r.stdout.split(), r.stderr


@pytest.mark.parametrize("text, line, message", [
    ("[kernel]\nelf = k.elf\n\n[qemu]\nmemroy = 1G\n", 5, "unknown key 'memroy' in [qemu]"),
    ("# the kernel\n[kernal]\nelf = k.elf\n", 2, "unknown section [kernal]"),
    ("[sweep]\nmode = warm\nmode = reset\n", 3, "'mode' given twice in [sweep]"),
    ("elf = k.elf\n", 1, "a key before any [section]"),
    ("[sweep]\nscenarios boot\n", 2, "not a [section], key = value, or an indented continuation"),
    ("[kernel]\nelf = " + "k" * 200 + "\n", 2, "line longer than 196 characters"),
])
def test_both_parsers_refuse_a_broken_profile_naming_file_and_line(tmp_path, text, line,
                                                                   message):
    p = tmp_path / "k.ini"
    p.write_text(text)
    with pytest.raises(profile.ProfileError) as e:
        profile.load(p)
    assert f"{p}:{line}: {message}" in str(e.value)
    r = injector("scenarios", "--profile", p, "--kernel", BUILD / "kernel.elf")
    assert r.returncode == 2 and f"injector: {p}:{line}: {message}" in r.stderr


@pytest.mark.parametrize("key, value, message", [
    (("qemu", "memory"), "128", "[qemu] memory wants a size in M or G (128M, 1G), not '128'"),
    (("qemu", "smp"), "0", "[qemu] smp wants a number of harts from 1 to 64, not '0'"),
    (("qemu", "virtio"), "virtio-blk-device,drive=d0",
     "[qemu] virtio wants the word console in exactly one slot"),
    (("qemu", "virtio"), "console virtio-blk-device,drive=d0,bus=virtio-mmio-bus.3",
     "[qemu] virtio a slot's device takes no bus="),
    (("qemu", "virtio"), "console " + "none " * 8, "[qemu] virtio takes at most 8 values"),
    (("qemu", "drives"), "-hda", "[qemu] drives wants QEMU arguments, not '-hda'"),
    (("sweep", "mode"), "cold", "[sweep] mode: --mode is fresh, reset or warm, not 'cold'"),
    (("sweep", "fault"), "twice", "[sweep] fault: --fault is once, persist or both"),
    (("sweep", "scenarios"), "boot,,proc", "[sweep] scenarios: --scenario wants S or S1,S2"),
    (("timeouts", "run"), "0s", "[timeouts] run: --timeout wants seconds"),
    (("timeouts", "boot"), "-1", "[timeouts] boot: the boot timeout wants seconds"),
])
def test_injector_checks_profile_values_as_it_checks_options(tmp_path, key, value, message):
    p = tmp_path / "k.ini"
    p.write_text(ini({key: value}))
    r = injector("scenarios", "--profile", p, "--kernel", BUILD / "kernel.elf")
    assert r.returncode == 2 and f"injector: {p}:2: {message}" in r.stderr, r.stderr


def test_command_line_options_override_the_profile(tmp_path):
    """The profile's kernel (relative to the profile) and mode are taken unless an option
    says otherwise."""
    os.symlink(BUILD / "kernel.elf", tmp_path / "kernel.elf")
    p = tmp_path / "k.ini"
    p.write_text("[kernel]\nelf = kernel.elf\n\n[sweep]\nmode = reset\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = injector("run", "--profile", p, "--scenario", "boot", "--fail", "1", "--db", "a.db",
                 cwd=elsewhere)
    assert r.returncode in (0, 1), r.stderr
    r = injector("run", "--profile", p, "--scenario", "boot", "--fail", "1", "--db", "a.db",
                 "--mode", "fresh", "--kernel", "/nonexistent.elf", cwd=elsewhere)
    assert r.returncode == 2 and "--kernel /nonexistent.elf" in r.stderr
    r = injector("run", "--profile", p, "--scenario", "boot", "--fail", "1", "--db", "a.db",
                 "--mode", "fresh", cwd=elsewhere)
    assert r.returncode in (0, 1), r.stderr
    assert [row[1] for row in runs(elsewhere / "a.db")] == ["fresh", "reset"]


def test_sweep_through_the_sample_profile_runs_what_the_flags_run(tmp_path):
    """sample-kernel/faultline.ini says warm mode, both fault modes and the machine the
    injector boots without a profile: the same runs, record for record."""
    common = ["sweep", "--scenario", "proc", "--max-n", "6", "-j", "2", "--quiet",
              "--no-analysis"]
    r = injector(*common, "--profile", SAMPLE, "--db", tmp_path / "p.db")
    assert r.returncode in (0, 1), r.stderr
    r = injector(*common, "--kernel", BUILD / "kernel.elf", "--mode", "warm", "--both",
                 "--db", tmp_path / "f.db")
    assert r.returncode in (0, 1), r.stderr
    by_profile = runs(tmp_path / "p.db")
    assert by_profile == runs(tmp_path / "f.db")
    assert {(row[1], row[2]) for row in by_profile} == {("warm", "once"), ("warm", "persist")}


def test_kernel_that_dies_before_hello_shows_its_uart_tail(tmp_path):
    """A profile whose extra arguments give the kernel no console it can use: the sample
    kernel says so on its UART and powers off before hello; the error quotes it."""
    p = tmp_path / "legacy.ini"
    p.write_text(f"[kernel]\nelf = {BUILD / 'kernel.elf'}\n\n"
                 "[qemu]\nargs = -global virtio-mmio.force-legacy=true\n")
    r = injector("run", "--profile", p, "--scenario", "boot", "--fail", "1",
                 "--db", tmp_path / "l.db")
    assert r.returncode == 2
    assert "QEMU exited before hello" in r.stderr
    assert "the kernel's last UART lines:\n    faultline: no virtio console (need " \
           "virtio-mmio version 2" in r.stderr


def qemu_wrapper(directory):
    """A QEMU that notes its arguments, one invocation a line, in directory/qemu-calls."""
    wrapper = directory / "qemu-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {directory / "qemu-calls"}\n'
                       'exec qemu-system-riscv64 "$@"\n')
    wrapper.chmod(0o755)
    return directory / "qemu-calls"


def test_profile_places_each_virtio_device_in_its_slot(tmp_path):
    """The disk in slot 0, nothing in slot 1, the console in slot 2: the sample kernel scans
    for both and its blk scenario runs."""
    calls = qemu_wrapper(tmp_path)
    p = tmp_path / "k.ini"
    p.write_text(f"[kernel]\nelf = {BUILD / 'kernel.elf'}\n\n[qemu]\nbinary = ./qemu-wrapper\n"
                 "virtio = virtio-blk-device,drive=d0\n         none\n         console\n")
    r = injector("run", "--profile", p, "--scenario", "blk", "--fail", "1",
                 "--db", tmp_path / "b.db")
    assert r.returncode == 0 and "outcome: handled" in r.stdout, r.stdout + r.stderr
    argv = calls.read_text().splitlines()[-1].split()
    devices = [argv[i + 1] for i, a in enumerate(argv) if a == "-device"]
    assert devices == ["virtio-blk-device,drive=d0,bus=virtio-mmio-bus.0",
                       "virtio-serial-device,bus=virtio-mmio-bus.2",
                       "virtserialport,chardev=c0"]


def test_printed_repro_line_of_a_profile_sweep_reproduces_it(tmp_path):
    """The profile names a QEMU wrapper (relative to the profile); the finding's repro line
    carries --profile, so running it as printed boots through the wrapper again."""
    env = dict(os.environ, BUILD=str(BUILD), BUGS_OUT=str(tmp_path / "kernels"))
    b = subprocess.run([str(ROOT / "sample-kernel" / "bugs" / "build.sh"),
                        "proc-keeps-trapframe"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert b.returncode == 0, b.stderr[-2000:]
    elf = b.stdout.strip().splitlines()[-1]
    calls = qemu_wrapper(tmp_path)
    p = tmp_path / "k.ini"
    p.write_text(f"[kernel]\nelf = {elf}\n\n[qemu]\nbinary = ./qemu-wrapper\n\n"
                 "[sweep]\nmode = reset\n")
    r = injector("sweep", "--profile", p, "--scenario", "proc", "--site", "vm_create",
                 "-j", "2", "--quiet", "--db", tmp_path / "s.db", cwd=ROOT)
    assert r.returncode == 1, r.stdout + r.stderr
    [line] = [ln.split("repro: ", 1)[1] for ln in r.stdout.splitlines() if "repro: " in ln]
    argv = shlex.split(line)
    assert argv[:4] == ["build/injector", "run", "--profile", str(p)]
    work = tmp_path / "elsewhere"
    work.mkdir()
    os.symlink(BUILD, work / "build")
    before = calls.read_text().count("-kernel")
    again = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "outcome: leak" in again.stdout
    assert calls.read_text().count("-kernel") > before


@pytest.mark.parametrize("command", ["run", "sweep", "scenarios", "floor", "boot"])
def test_each_command_prints_its_own_options_and_exits_0(command):
    r = injector(command, "--help")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith(f"usage: injector {command} --kernel")
    assert "--profile FILE" in r.stdout
    others = {"run": "--fail N", "sweep": "--by-site", "boot": "--console-fd"}
    assert all(opt not in r.stdout for c, opt in others.items() if c != command)


def test_version_names_the_injector_and_the_project_version():
    r = injector("--version")
    assert r.returncode == 0
    assert r.stdout.startswith(f"injector {(ROOT / 'VERSION').read_text().strip()}")


def test_gate_boots_the_profiles_machine_and_fingerprints_with_its_allocators(tmp_path):
    """What bisect and the pytest plugin drive: the injector gets --profile (its QEMU
    wrapper runs), and the audit's normalizer knows the profile's allocator names."""
    calls = qemu_wrapper(tmp_path)
    p = tmp_path / "k.ini"
    p.write_text("[qemu]\nbinary = ./qemu-wrapper\n\n[analysis]\nallocators = my_alloc\n"
                 "internal = my_alloc_slow\n")
    gate = Gate(BUILD / "kernel.elf", mode="reset", profile=p, jobs=1,
                injector=BUILD / "injector")
    result = gate.run("boot", 1, tmp_path / "g.db")
    assert result.outcome.value == "handled" and "-kernel" in calls.read_text()
    assert gate.host().norm.allocator_globs == ("my_alloc", "my_alloc_slow")
