"""pebble (examples/pebble/), a second kernel hooked with faultline's port kit, is swept
through its own profile (examples/pebble/faultline.ini), which puts its disk in virtio slot 0.

The plain kernel (no faultline in it) boots, mounts its disk and serves it on the UART; the
hooked kernel's sweep of the scenarios its profile names (boot, read, mount; both fault
modes, reset mode) shows no finding; each seeded bug
under examples/pebble/bugs/ is found as exactly one finding, named for the function its patch
changes (the .expect's `root`), with the symptoms the .expect lists; and the hook
(faultline.patch) stays within the port kit's 60 lines. Each sweep is a few dozen runs in
reset mode, so the whole file takes seconds."""
import json
import subprocess

import pytest
from conftest import BUILD, ROOT

PEBBLE = ROOT / "examples" / "pebble"
PROFILE = PEBBLE / "faultline.ini"
OUT = BUILD / "examples" / "pebble"
BUGS = sorted(p.stem for p in (PEBBLE / "bugs").glob("*.patch"))


def expect(name):
    return json.loads((PEBBLE / "bugs" / f"{name}.expect").read_text())


def findings(db, *options):
    """Sweep through pebble's profile (its ELF, machine, scenarios, mode and fault modes
    unless options say otherwise), then the unique findings as `python3 -m analysis
    findings` reports them."""
    argv = [str(BUILD / "injector"), "sweep", "--profile", str(PROFILE), *options, "-j", "2",
            "--quiet", "--no-analysis", "--db", str(db)]
    p = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode in (0, 1), f"{' '.join(argv)}\n{p.stdout}{p.stderr}"
    out = db.with_suffix(".json")
    p = subprocess.run(["/usr/bin/python3", "-m", "analysis", "findings", "--db", str(db),
                        "--profile", str(PROFILE), "--json", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stdout + p.stderr
    report = json.loads(out.read_text())
    assert not report["infra"], report["infra"]
    return report["findings"]


def test_plain_pebble_serves_its_disk_on_the_uart_without_faultline():
    elf = OUT / "plain" / "kernel.elf"
    nm = subprocess.run(["riscv64-unknown-elf-nm", str(elf)], capture_output=True, text=True,
                        check=True).stdout
    assert " kmalloc" in nm and " fl_" not in nm
    qemu = ["qemu-system-riscv64", "-machine", "virt", "-bios", "none", "-nodefaults",
            "-display", "none", "-no-reboot", "-m", "128M",
            "-global", "virtio-mmio.force-legacy=false",
            "-drive", f"file={OUT / 'disk.img'},format=raw,if=none,id=d0,readonly=on",
            "-device", "virtio-blk-device,drive=d0,bus=virtio-mmio-bus.0",
            "-serial", "stdio", "-kernel", str(elf)]
    p = subprocess.run(qemu, input="cat readme\rcat motd\rmem\roff\r", capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "pebblefs: sector 0 is the superblock" in p.stdout
    assert "not the whole sector." in p.stdout           # the motd's second sector
    assert "7 blocks, 1200 bytes in use" in p.stdout     # boot's, and nothing else


def test_clean_pebble_sweep_of_the_profiles_scenarios_has_no_finding(tmp_path):
    found = findings(tmp_path / "clean.db")
    assert not found, [f["title"] for f in found]


@pytest.mark.parametrize("name", BUGS)
def test_seeded_pebble_bug_is_one_finding_named_for_the_function_its_patch_changes(
        name, tmp_path):
    elf = OUT / "bugs" / name / "kernel.elf"
    subprocess.run(["make", "-s", f"BUILD={BUILD}", str(elf)], cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    e = expect(name)
    found = []
    for s in e["sweeps"]:
        found += findings(tmp_path / f"{name}.db", "--kernel", str(elf),
                          "--scenario", s["scenario"], "--fault", s.get("fault", "once"))
    assert [f["function"] for f in found] == e["root"], [f["title"] for f in found]
    assert {s["class"] for s in found[0]["symptoms"]} == set(e["symptoms"])


def hook_size(*make_vars):
    return subprocess.run(["make", "-s", "pebble-hook-size", *make_vars], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_pebble_hook_stays_within_the_kits_60_lines_and_the_check_fails_above():
    p = hook_size()
    assert p.returncode == 0, p.stdout + p.stderr
    n = int(p.stdout.split(" adds ")[1].split()[0])
    assert 0 < n <= 60
    # the same count against a lower limit must fail: the check is a real bound
    p = hook_size(f"PB_HOOK_MAX={n - 1}")
    assert p.returncode != 0 and f"adds {n} lines" in p.stdout
