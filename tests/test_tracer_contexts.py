"""Context ids and run models on hand-written logs (docs/protocol.md §4 `ctx`, §5): ops of
different processes pair per context, so interleaved ops are not judged nested; an
after-boot kernel's successful boot run keeps its state without a leak."""
import pytest

from tracer_support import HELLO, build_mini_elf, findings, ingest, rows, run_row


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    return build_mini_elf(tmp_path_factory.mktemp("mini"))


@pytest.fixture
def audit(build_dir, elf, tmp_path):
    """Ingest one log given as text; returns the database."""
    def run(text):
        log, db = tmp_path / "t.log", tmp_path / "t.db"
        log.write_text(HELLO + text)
        p = ingest(build_dir, elf, db, log)
        assert p.returncode in (0, 1), p.stderr
        return db
    return run


def malformed(db):
    return [(r["reason"], r["text"]) for r in rows(db, "SELECT reason, text FROM malformed")]


# Process 1 fails in proc_create while process 2, preempted into the middle of it, is inside
# its own op holding an object it frees later: nothing is process 1's to undo.
INTERLEAVED = """ok run
run proc
ckpt baseline 0 0 0 0
ctx 1
op+ 1 proc_create 80003008
ctx 2
op+ 2 proc_free 80005008
alloc 1 obj 80100000 256 80003010 80003010,80006010
ctx 1
fault 2 page 4096 80003030 80003030,80006010
op- 1 -12
ctx 2
free 2 obj 80100000 80005010 80005010,80006040
op- 2 0
ckpt end 0 0 0 0
result proc 0
end 1 2 1
"""


def test_interleaved_ops_of_two_contexts_are_not_judged_nested(audit):
    db = audit(INTERLEAVED)
    assert malformed(db) == []
    assert [f["class"] for f in findings(db)] == []
    ops = {r["id"]: r for r in rows(db, "SELECT id, parent, rc, end_seq FROM ops")}
    assert ops[1]["parent"] is None and ops[2]["parent"] is None
    # process 1's op- closed only its own op: process 2's op ended with its own op-
    assert ops[1]["rc"] == -12 and ops[2]["rc"] == 0
    assert ops[2]["end_seq"] > ops[1]["end_seq"]


def test_without_ctx_the_same_records_are_one_nest_and_the_inner_op_is_cut(audit):
    db = audit("\n".join(l for l in INTERLEAVED.splitlines() if not l.startswith("ctx"))
               + "\n")
    assert ("op- for an op that is not open", "op- 2 0") in malformed(db)


def test_a_failed_op_still_holding_its_own_object_is_unbalanced_in_its_context(audit):
    db = audit("""ok run
run proc
ckpt baseline 0 0 0 0
ctx 1
op+ 1 proc_create 80003008
alloc 1 obj 80100000 256 80003010 80003010,80006010
ctx 2
op+ 2 proc_free 80005008
alloc 2 page 80200000 4096 80005020 80005020,80006010
ctx 1
fault 3 page 4096 80003030 80003030,80006010
op- 1 -12
free 3 obj 80100000 80005010 80005010,80006040
ctx 2
free 3 page 80200000 80005010 80005010,80006040
op- 2 0
ckpt end 0 0 0 0
result proc 0
end 1 3 1
""")
    assert malformed(db) == []
    # process 1 failed holding its obj; process 2's page is not charged to it
    unbalanced = [f for f in findings(db) if f["class"] == "unbalanced-unwind"]
    assert [(f["op_name"], f["addr"]) for f in unbalanced] == [("proc_create", 0x80100000)]


def test_a_process_syscall_nests_in_the_kernel_context_scenario_op(audit):
    db = audit("""ok run
run proc
ckpt baseline 0 0 0 0
op+ 1 proc_run 80003008
ctx 7
op+ 2 proc_create 80003008
op- 2 0
ctx 0
op- 1 0
ckpt end 0 0 0 0
result proc 0
end 0 0 0
""")
    assert malformed(db) == []
    assert rows(db, "SELECT parent FROM ops WHERE id = 2")[0]["parent"] == 1


@pytest.mark.parametrize("line, reason", [
    ("ctx seven", "ctx: bad context id"),
    ("ctx", "missing field"),
    ("model warm", "model: unknown run model"),
])
def test_bad_ctx_and_model_records_are_malformed_and_the_run_goes_on(audit, line, reason):
    db = audit(line + "\n" + INTERLEAVED)
    assert malformed(db) == [(reason, line)]
    assert run_row(db)["outcome"] == "handled"


BOOT = """model after-boot
ok run
run boot
ckpt baseline 0 0 0 0
op+ 1 proc_create 80003008
alloc 1 obj 80100000 256 80003010 80003010,80006010
op- 1 {rc}
ckpt end 0 1 0 256
result boot {rc}
end 0 1 0
"""


def test_after_boot_kernel_keeps_what_a_successful_boot_allocated(audit):
    db = audit(BOOT.format(rc=0))
    assert malformed(db) == []
    assert findings(db) == [] and run_row(db)["outcome"] == "completed"


def test_after_boot_kernel_whose_boot_fails_must_undo_it(audit):
    db = audit(BOOT.format(rc=-12))
    assert {f["class"] for f in findings(db)} >= {"leak", "unbalanced-unwind"}


def test_a_kernel_with_init_in_the_run_leaks_what_boot_left(audit):
    db = audit(BOOT.format(rc=0).replace("model after-boot\n", ""))
    assert [f["class"] for f in findings(db)] == ["leak"]


def test_model_after_the_run_began_is_malformed(audit):
    db = audit(BOOT.format(rc=0).replace("model after-boot\n", "")
               .replace("ckpt baseline 0 0 0 0\n", "ckpt baseline 0 0 0 0\nmodel after-boot\n"))
    assert ("model after run", "model after-boot") in malformed(db)
    assert [f["class"] for f in findings(db)] == ["leak"]


def test_an_op_end_in_another_context_than_its_begin_is_malformed(audit):
    db = audit(INTERLEAVED.replace("ctx 1\nfault 2", "fault 2"))
    assert ("op- for an op that is not open", "op- 1 -12") in malformed(db)
