"""The report's site × outcome matrix and the outcomes-over-N strip: every allocation call site
is a row, a cell links to what its runs showed, a site no run failed says "never failed", and
one bad run among thousands stays visible."""
import re
import subprocess

import pytest
from test_analysis_fixtures import DbBuilder, RunWriter, sample_db
from test_analysis_report import Page

from analysis import callsites, chart, matrix
from analysis.cli import main
from analysis.db import Database
from analysis.unique import analyze
from analysis.model import Outcome

OBJDUMP = """
build/kernel.elf:     file format elf64-littleriscv

Disassembly of section .text:

0000000080001000 <proc_create>:
    80001000:\taddi\tsp,sp,-32
    80001002:\tjal\t80002000 <obj_alloc>
    80001006:\tmv\ts0,a0
    80001008:\tauipc\tra,0x1
    8000100c:\tjalr\t-8(ra) # 80002010 <page_alloc>
    80001010:\tc.mv\ta1,a0
    80001012:\tjal\tra,80003000 <memset>
    80001016:\tjal\tzero,80002000 <obj_alloc>

0000000080001100 <chunk_alloc>:
    80001100:\tjal\tra,80004000 <pool_get>
    80001104:\tret
    80001106:\tj\t80002010 <page_alloc>

0000000080002000 <obj_alloc>:
    80002000:\tjal\t80002010 <page_alloc>
    80002004:\tret
"""


def test_calls_into_allocators_are_sites_named_by_their_return_address():
    calls = callsites.parse(OBJDUMP)
    assert callsites.Call("proc_create", 0x80001006, "obj_alloc") in calls
    assert callsites.Call("proc_create", 0x80001010, "page_alloc") in calls
    # tail calls have no return address in the caller: not calls
    assert not [c for c in calls if c.ret in (0x8000101a, 0x8000110a)]
    is_allocator = lambda f: f in ("obj_alloc", "page_alloc")
    assert callsites.allocation_sites(calls, [], is_allocator) == {0x80001006, 0x80001010}
    # a callee a run failed through is an allocation entry point too (pool_get)
    assert callsites.allocation_sites(calls, [0x80001104], is_allocator) == {
        0x80001006, 0x80001010, 0x80001104}


def test_an_elf_of_another_build_gives_no_sites(kernel_elf):
    assert callsites.disassemble(str(kernel_elf), "00" * 20) == []
    assert callsites.disassemble("/nonexistent/kernel.elf", "00" * 20) == []


@pytest.fixture(scope="module")
def fixture_audit(tmp_path_factory):
    with Database(sample_db(tmp_path_factory.mktemp("m") / "s.db")) as db:
        yield analyze(db)


def test_matrix_has_a_row_per_failed_site_and_its_cell_links_to_the_finding(fixture_audit):
    m = matrix.build(fixture_audit)
    col = {c.label: i for i, c in enumerate(m.columns)}
    assert set(col) == {"all once", "blk once", "boot once", "fork once", "proc once",
                        "proc persist"}
    rows = {(r.func, r.where.split("sample-kernel/")[-1]): r for r in m.rows}
    # fork's page allocation failed at N=2, and the unwind freed the proc object twice
    fork_page = rows[("fork", "proc.c:149")]
    cell = fork_page.cells[col["fork once"]]
    double_free = next(u for u in fixture_audit.findings if u.cls.value == "double-free")
    assert cell.href == f"findings/{double_free.fingerprint}.html"
    assert cell.outcome == "handled" and cell.runs == 1 and cell.finding
    assert sum(1 for c in fork_page.cells if c) == 1
    # fork's first allocation failed without a finding: the cell links to the run's log
    handled = rows[("fork", "proc.c:143")].cells[col["fork once"]]
    assert handled.href == "out/logs/fork-1.log" and not handled.finding
    # the trapframe failed in proc, both modes, and in all: its worst outcome, the leak
    leak = next(u for u in fixture_audit.findings if u.cls.value == "leak")
    trapframe = rows[("map_trapframe", "proc.c:23")]
    assert {(c.outcome, c.href) for c in trapframe.cells if c} == {
        ("leak", f"findings/{leak.fingerprint}.html")}
    assert trapframe.cells[col["proc persist"]].runs == 2     # fresh and reset: one column
    # the unexpected panic in boot is a cell of its own colour
    assert rows[("vm_unmap", "vm.c:12")].cells[col["boot once"]].outcome == "panic"
    assert not m.never_failed


def test_report_index_shows_the_matrix_above_the_outcome_strip(tmp_path):
    db = sample_db(tmp_path / "s.db")
    out = tmp_path / "site"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    text = (out / "index.html").read_text()
    assert text.index('id="site-matrix"') < text.index('id="chart"')
    page = Page(text)
    linked = [h for h in page.links if h.startswith("findings/")]
    assert linked and all((out / h).is_file() for h in linked)
    assert page.count("td", "cell") == len(re.findall(r'<td class="cell', text))


def test_one_crash_among_2000_runs_keeps_a_visible_mark_in_the_strip(tmp_path):
    b = DbBuilder(tmp_path / "long.db")
    build = b.build("c1")
    sw = b.sweep(build, "vm")
    for n in range(1, 2001):
        w = RunWriter(b, build, sw, "vm", n)
        w.fault("page", ("vm_unmap", 2), [("page_alloc", 9), ("vm_unmap", 2)])
        w.write("crash" if n == 1234 else "handled")
    with Database(b.close()) as db:
        audit = analyze(db)
    row = chart.build_chart(audit.groups).rows[0]
    crash = [s for s in row.segments if s.outcome == "crash"]
    assert len(crash) == 1 and crash[0].w >= chart.MIN_BAD_W
    assert row.segments[-1] is crash[0]            # drawn last: over its neighbours
    assert abs(crash[0].x + crash[0].w / 2 - chart.PLOT_W * 1233.5 / 2000) < 1
    out = tmp_path / "site"
    main(["report", "--db", str(tmp_path / "long.db"), "--out", str(out)])
    rect = re.search(r'<rect class="seg" data-outcome="crash"[^>]*width="([0-9.]+)"',
                     (out / "index.html").read_text())
    assert rect and float(rect.group(1)) >= 3


def test_every_outcome_has_its_own_colour_and_expected_panic_sits_above_handled():
    assert set(chart.COLOURS) == set(Outcome)
    assert len(set(chart.COLOURS.values()) | {chart.EXPECTED_PANIC_COLOUR}) == len(Outcome) + 1
    assert chart.colour("crash") == chart.COLOURS[Outcome.CRASH]
    assert chart.is_bad("unbalanced") and not chart.is_bad("handled")
    assert chart.outcome_order().index("expected-panic") == \
        chart.outcome_order().index("handled") - 1


@pytest.fixture(scope="module")
def boot_sweep(tmp_path_factory, build_dir, kernel_elf):
    """The real kernel swept over `boot` only: blk_rw, the user programs' paths and the
    test-only scenarios are never reached."""
    db = tmp_path_factory.mktemp("boot") / "sweep.db"
    p = subprocess.run([str(build_dir / "injector"), "sweep", "--kernel", str(kernel_elf),
                        "--scenario", "boot", "--mode", "warm", "--both", "-j", "2",
                        "--quiet", "--db", str(db)], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    with Database(db) as d:
        yield db, analyze(d)


def test_sites_no_scenario_of_the_sweep_reaches_show_as_never_failed(boot_sweep, tmp_path):
    _, audit = boot_sweep
    m = matrix.build(audit, str(tmp_path))
    rows = {r.func: [] for r in m.rows}
    for r in m.rows:
        rows[r.func].append(r)
    # only scenario test-leak allocates here; a block request's buffers only in scenario blk
    for func in ("scen_test_leak", "blk_transfer"):
        assert rows[func] and all(r.never_failed for r in rows[func]), func
    # boot initializes the kernel: the process table allocation failed, in both modes
    init, = rows["proc_init"]
    assert [c.label for c in m.columns] == ["boot once", "boot persist"]
    assert all(c and c.outcome == "handled" for c in init.cells)
    # a clean run's console log is not kept by default: no link, and no promise of one
    assert init.cells[0].href == "" and "console log" not in init.cells[0].title
    assert len(m.rows) > len(m.never_failed) > 10


def test_report_marks_never_failed_sites(boot_sweep, tmp_path):
    db, _ = boot_sweep
    main(["report", "--db", str(db), "--out", str(tmp_path)])
    page = Page((tmp_path / "index.html").read_text())
    text = "".join(page.text)
    assert "scen_test_leak" in text and "never failed" in text
    assert page.count("tr", "never-failed") > 10
