"""End-to-end tests of the sample kernel's subsystems: processes, fork, exec, mmap, the
virtio-blk driver and the fork bomb.

The heart of it is one injector sweep of every subsystem scenario, N = 1 .. total in both
fault modes, on the clean kernel: every run must be `handled` or `completed` (no crash,
panic, hang, leak or unbalanced unwind), must end with its `end` record saying whether the
fault fired, and each sweep must stop by itself at the first N whose fault did not fire.
Clean runs check what a sweep cannot see: the programs' own verdicts, refcounts, and the
fork bomb reaching real memory exhaustion.
"""
import collections
import sqlite3
import subprocess

import pytest

from harness import Kernel, records_of
from test_kernel_core import summarize

SCENARIOS = ["proc", "fork", "exec", "mmap", "blk", "forkbomb"]


@pytest.fixture(scope="module")
def kernel(kernel_elf):
    with Kernel(kernel_elf, timeout=30) as k:
        k.hello()
        yield k


def clean_run(kernel, scenario):
    """Run scenario with nothing armed (after a reset); its records."""
    kernel.reset()
    return kernel.run(scenario)


def check_run_invariants(recs):
    """What every finished run must keep; returns its `end` fields (fired, attempts, faults).

    The core's invariants (ended by `end`, no panic or trap, every op closed, alloc/free
    balanced, end checkpoint equal to the baseline), plus: no refused free, every
    refcounted object back to zero, and every resource acquired given back once.
    """
    fired, attempts, faults, _ = summarize(recs)
    assert not records_of(recs, "badfree"), records_of(recs, "badfree")
    refs = {(r[2], r[3]): int(r[4]) for r in records_of(recs, "ref")}
    assert all(count == 0 for count in refs.values()), refs
    held = collections.Counter((r[1], r[2]) for r in records_of(recs, "acq"))
    held.subtract((r[1], r[2]) for r in records_of(recs, "rel"))
    assert not +held and not -held, held
    return fired, attempts, faults


def result_of(recs):
    return int(records_of(recs, "result")[0][2])


def test_blk_takes_and_gives_back_every_kind_of_resource_the_kernel_annotates(kernel):
    recs = clean_run(kernel, "blk")
    check_run_invariants(recs)
    assert {r[1] for r in records_of(recs, "acq")} == {
        "proc-slot", "pid", "virtio-dev", "virtio-desc", "blk-req"}
    # a request holds three distinct descriptors of the ring while it runs
    descs = [r for r in records_of(recs, "acq") if r[1] == "virtio-desc"]
    assert len(descs) % 3 == 0 and len({r[2] for r in descs[:3]}) == 3


@pytest.mark.parametrize("scenario", SCENARIOS + ["proctable", "all"])
def test_scenario_succeeds_and_returns_to_baseline_on_the_clean_kernel(kernel, scenario):
    recs = clean_run(kernel, scenario)
    fired, attempts, faults = check_run_invariants(recs)
    assert (fired, faults, result_of(recs)) == (0, 0, 0)
    # a device check (class io) that passes leaves no record: the blk probe makes four
    # (features offered, features accepted, queue, status after DRIVER_OK), each request two
    # (completion, status)
    io_checks = 4 + 2 * sum(1 for r in records_of(recs, "acq") if r[1] == "blk-req")
    assert attempts == len(records_of(recs, "alloc")) + len(records_of(recs, "oom")) + io_checks


def test_each_device_fault_takes_its_error_path_and_gives_everything_back(kernel):
    """class io, N = 1, 2, ... on the blk scenario: the device refusing a feature or its
    queue (-ENODEV), failing at DRIVER_OK, then each request never completing or completing
    with an error (-EIO). Each run stays balanced (memory, the device claim, descriptors)."""
    rcs = []
    for n in range(1, 20):
        kernel.reset()
        recs = kernel.run("blk", arm=f"{n} once class=io")
        fired, _, _ = check_run_invariants(recs)
        if not fired:
            break
        [fault] = records_of(recs, "fault")
        assert fault[2:4] == ["io", "0"], fault
        rcs.append(result_of(recs))
    # the probe's four checks, then two per request: the kernel's two and blktest's two
    assert rcs == [-19, -19, -19, -5] + [-5] * 8


def test_user_programs_report_their_own_checks_passed(kernel):
    logs = {s: " ".join(" ".join(r[1:]) for r in records_of(clean_run(kernel, s), "log"))
            for s in ("proc", "fork", "exec", "mmap", "blk")}
    assert all(f"hello {i} from pid" in logs["proc"] for i in (1, 2, 3))
    assert "chains, trees and an orphan done" in logs["fork"]
    assert "replaced two images" in logs["exec"]
    assert "map, merge, split, fork (private, shared), populate, unmap done" in logs["mmap"]
    assert "wrote and read 4 sectors" in logs["blk"]


def test_a_user_fault_kills_only_the_faulting_process(kernel):
    recs = clean_run(kernel, "mmap")
    faults = [r for r in recs if r.startswith("log user fault")]
    # the child that touches the unmapped hole dies (store page fault, scause f) ...
    assert len(faults) == 1 and " scause f " in faults[0]
    # ... and its parent goes on to finish every other check
    assert result_of(recs) == 0


def test_anonymous_memory_objects_are_shared_across_fork_and_all_released(kernel):
    recs = clean_run(kernel, "mmap")
    refs = records_of(recs, "ref")
    assert {r[2] for r in refs} == {"anon"}
    by_obj = collections.defaultdict(list)
    for r in refs:
        by_obj[r[3]].append((r[1], int(r[4])))
    # a MAP_SHARED object gains a reference when the child is forked
    assert any(("get", 2) in history for history in by_obj.values())
    # the split of a region takes a reference; every object dies at zero
    assert all(history[0] == ("new", 1) and history[-1] == ("put", 0)
               for history in by_obj.values())


def test_forkbomb_exhausts_real_memory_and_recovers_to_baseline(kernel):
    recs = clean_run(kernel, "forkbomb")
    ooms = records_of(recs, "oom")
    assert ooms and not records_of(recs, "fault")      # real exhaustion, nothing injected
    [log] = [" ".join(r[1:]) for r in records_of(recs, "log") if "forkbomb:" in r]
    children = int(log.split("forkbomb: ")[1].split(" ")[0])
    assert children >= 3 and log.endswith("stopped by -12")
    check_run_invariants(recs)
    assert result_of(recs) == 0


# ---- the sweep: every allocation of every subsystem scenario, both fault modes ----

@pytest.fixture(scope="module")
def sweep_db(build_dir, kernel_elf, tmp_path_factory):
    db = tmp_path_factory.mktemp("sweep") / "sweep.db"
    r = subprocess.run([str(build_dir / "injector"), "sweep", "--kernel", str(kernel_elf),
                        "--scenario", ",".join(SCENARIOS), "--mode", "reset", "--both",
                        "-j", "2", "--timeout", "20", "--keep-logs", "all", "--quiet",
                        "--db", str(db)],
                       capture_output=True, text=True, timeout=600)
    return r, db


def query(db, sql, *args):
    with sqlite3.connect(db) as con:
        return con.execute(sql, args).fetchall()


def test_sweep_of_every_subsystem_scenario_exits_zero_with_no_findings(sweep_db):
    r, db = sweep_db
    assert r.returncode == 0, r.stdout + r.stderr
    assert "findings: 0" in r.stdout
    assert query(db, "SELECT count(*) FROM findings") == [(0,)]


def test_every_sweep_run_ended_handled_or_completed(sweep_db):
    _, db = sweep_db
    rows = query(db, "SELECT scenario, fault_mode, n, outcome, ended FROM runs "
                     "WHERE outcome NOT IN ('handled', 'completed') OR ended != 1")
    assert rows == []


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("mode", ["once", "persist"])
def test_sweep_fails_each_allocation_in_turn_and_stops_by_itself(sweep_db, scenario, mode):
    _, db = sweep_db
    runs = query(db, "SELECT n, fired, attempts FROM runs WHERE scenario = ? AND "
                     "fault_mode = ? ORDER BY n", scenario, mode)
    ns = [n for n, _, _ in runs]
    first_unfired = next(n for n, fired, _ in runs if not fired)
    # N = 1, 2, ... with no gap; every N below the first unfired one fired
    assert ns[:first_unfired] == list(range(1, first_unfired + 1))
    assert all(fired for n, fired, _ in runs if n < first_unfired)
    # the fault stopped firing exactly when N passed the scenario's allocation count
    total = dict((n, a) for n, _, a in runs)[first_unfired]
    assert first_unfired == total + 1
    assert total >= {"proc": 40, "fork": 100, "exec": 60, "mmap": 80, "blk": 20,
                     "forkbomb": 150}[scenario]


def test_faults_were_injected_into_every_subsystem(sweep_db):
    _, db = sweep_db
    # (a compiler clone such as exec_build.isra.0 counts as its function)
    funcs = {f.split(".")[0] for (f,) in query(
        db, "SELECT DISTINCT f.func FROM runs r JOIN frames f "
            "ON f.build = r.build AND f.pc = r.fault_pc")}
    # the functions whose own calls allocate (kept out of line, so a fault names them)
    expected = {"proc_init", "proc_create", "vm_create", "vm_walk_level", "copy_visit",
                "uimage_push_page", "exec_build", "anon_new", "anon_copy", "chunk_alloc",
                "mmap_prepare", "mmap_unmap", "mmap_dup", "blk_probe", "blk_rw"}
    assert expected <= funcs, expected - funcs


def test_sweep_drove_every_syscall_and_probe_down_its_error_path(sweep_db, build_dir):
    """With no run `unbalanced`, this is what makes failure atomicity proven, not vacuous:
    each of these ops did return an error somewhere in the sweep."""
    _, db = sweep_db
    # clean runs were stored without their ops: give them back from their kept logs
    lazy = [str(i) for (i,) in query(db, "SELECT id FROM runs WHERE in_full = 0")]
    p = subprocess.run([str(build_dir / "tracer"), "materialize", "--db", str(db), *lazy],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    failed = {name for (name,) in query(db, "SELECT DISTINCT name FROM ops WHERE rc < 0")}
    assert {"sys_fork", "sys_exec", "sys_mmap", "sys_munmap", "sys_blkrw", "blk_probe",
            "spawn", "mmap_fault", "proc_init"} <= failed, failed


# ---- `all` is every scenario in one run: sampled, not swept (its N range is the sum) ----

@pytest.mark.parametrize("mode", ["once", "persist"])
def test_all_survives_faults_sampled_across_its_whole_range(kernel, mode):
    _, total, _ = check_run_invariants(clean_run(kernel, "all"))
    for n in range(1, total + 1, max(1, total // 12)):
        kernel.reset()
        recs = kernel.run("all", arm=f"{n} {mode}")
        fired, _, _ = check_run_invariants(recs)
        assert fired == 1, f"N={n}"
