"""The sample kernel tells the host which process its records belong to (faultlib's ctx_id
hook, docs/protocol.md §4 `ctx`), and the tracer pairs the processes' ops per context."""
import pytest

from harness import Kernel
from tracer_support import ingest, rows, run_row


@pytest.fixture
def fork_stream(kernel_elf):
    """hello and the records of one clean `fork` run: parents fork, children exit, parents
    wait, so the current process changes many times inside the scenario's op."""
    with Kernel(kernel_elf) as k:
        _, build_id = k.hello()
        return f"hello faultline 2 {build_id}", k.run("fork")


def test_process_switches_are_told_as_ctx_records_around_their_syscall_ops(fork_stream):
    _, recs = fork_stream
    ctx, said, opened = 0, [], {}
    for r in recs:
        word, *f = r.split(" ")
        if word == "ctx":
            assert int(f[0]) != ctx, "a ctx record repeats the context already said"
            ctx = int(f[0])
            said.append(ctx)
        elif word == "op+":
            opened[f[0]] = ctx
        elif word == "op-":
            assert opened.pop(f[0]) == ctx, f"op {f[0]} ended in another context"
    assert len(set(said) - {0}) >= 3, said
    assert recs[-1].startswith("end ")


def test_the_tracer_ingests_a_multi_process_run_clean_with_syscalls_inside_the_scenario_op(
        fork_stream, build_dir, kernel_elf, tmp_path):
    hello, recs = fork_stream
    log, db = tmp_path / "fork.log", tmp_path / "fork.db"
    log.write_text("\n".join([hello, "ok run", *recs]) + "\n")
    p = ingest(build_dir, kernel_elf, db, log)
    assert p.returncode == 0, p.stdout + p.stderr
    assert run_row(db)["nmalformed"] == 0
    assert run_row(db)["outcome"] == "completed"
    nested = rows(db, "SELECT o.name FROM ops o JOIN ops s ON o.parent = s.id AND o.run = s.run"
                      " WHERE s.name = 'fork' AND o.name = 'sys_fork'")
    assert nested, "the processes' syscalls nest in the scenario's op"
