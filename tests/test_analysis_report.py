"""The static HTML report: pages present and linked, guest strings escaped, sources shown or
said missing, and the pages as a real browser builds them."""
import html.parser
import os
import re
import shutil
import subprocess

import pytest
from test_analysis_fixtures import FUNCS, DbBuilder, RunWriter, sample_db

from analysis import html_report
from analysis.cli import main
from analysis.db import Database
from analysis.unique import analyze

CHROMIUM = "/usr/bin/chromium"


class Page(html.parser.HTMLParser):
    """Collects what the structure checks need: links, ids, tags and their classes."""

    def __init__(self, text):
        super().__init__()
        self.links, self.ids, self.tags = [], set(), []
        self.text = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if "id" in a:
            self.ids.add(a["id"])

    def handle_data(self, data):
        self.text.append(data)

    def count(self, tag, cls=None, **attrs):
        return sum(1 for t, a in self.tags if t == tag
                   and (cls is None or cls in (a.get("class") or "").split())
                   and all(a.get(k) == v for k, v in attrs.items()))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    db = sample_db(tmp / "s.db")
    supp = tmp / "supp.txt"
    supp.write_text("unbalanced-unwind:proc_*\n")
    out = tmp / "site"
    assert main(["report", "--db", str(db), "--out", str(out), "--suppressions",
                 str(supp)]) == 0
    with Database(db) as d:
        audit = analyze(d)
    return out, audit


def test_index_links_every_finding_page_and_every_page_exists(site):
    out, audit = site
    index = Page((out / "index.html").read_text())
    pages = sorted(p.name for p in (out / "findings").glob("*.html"))
    assert len(pages) == len(audit.findings)     # suppressed ones get pages too
    linked = {h.split("/")[-1] for h in index.links if h.startswith("findings/")}
    assert linked == set(pages)
    for name in pages:
        page = Page((out / "findings" / name).read_text())
        assert "../index.html" in page.links
        assert {"title", "stacks", "timeline", "repro"} <= page.ids


def test_index_has_header_chart_tables_suppressions_infra_and_malformed(site):
    out, _ = site
    text = (out / "index.html").read_text()
    page = Page(text)
    assert {"header", "chart", "findings", "findings-table", "suppressions", "expected",
            "infra", "malformed"} <= page.ids
    assert "3f9c0011aa" in text
    assert "build/injector sweep --kernel build/kernel.elf --scenario proc" in text
    assert page.count("svg") == 1
    assert page.count("rect", cls="seg") >= 7
    # server-side order: errors first, the warning last
    rows = re.findall(r'<tr id="f-([0-9a-f]{12})">', text.split('id="findings-table"')[1]
                      .split("</table>")[0])
    assert len(rows) == 3      # the leak's cause is suppressed through its unbalanced unwind
    assert "unwind-order" in text.split(f'id="f-{rows[-1]}"')[1].split("</tr>")[0]
    assert "<code>unbalanced-unwind:proc_*</code>" in text
    assert "qemu exited before hello" in text
    assert "kinit: out of memory for the kernel page table" in text


def test_guest_strings_and_function_names_are_escaped(tmp_path):
    evil = "evil<script>alert(1)</script>"
    funcs = dict(FUNCS, **{evil: ("sample-kernel/evil.c", 5, 8)})
    b = DbBuilder(tmp_path / "e.db")
    build = b.build("e1", funcs=funcs)
    w = RunWriter(b, build, None, "proc<img src=x onerror=alert(2)>", 1)
    w.op_begin("op<b>bold</b>", (evil, 1))
    w.fault("page", (evil, 2), [("page_alloc", 9), (evil, 2)])
    seq = w.alloc("page", 0x87000000, (evil, 3), [("page_alloc", 9), (evil, 3)])
    w.op_end(-12)
    w.log("</td></tr><script>alert(3)</script>")
    w.finding("leak", evil, "leaked <script>alert(4)</script>", [seq],
              alloc=[("page_alloc", 9), (evil, 3)], site=(evil, 3))
    w.write("leak", malformed=[(3, "unknown record", "<script>alert(5)</script>")],
            nmalformed=1)
    db = b.close()
    out = tmp_path / "site"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    pages = [out / "index.html"] + list((out / "findings").glob("*.html"))
    assert len(pages) == 2
    for p in pages:
        text = p.read_text()
        assert "<script>alert" not in text and "<img" not in text and "<b>bold" not in text
        assert text.count("<script>") == 1               # the page's own sorting script
    finding = pages[1].read_text()
    assert "evil&lt;script&gt;alert(1)&lt;/script&gt;" in finding
    assert "leaked &lt;script&gt;alert(4)&lt;/script&gt;" in finding
    assert "op&lt;b&gt;bold&lt;/b&gt; begins" in finding
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in pages[0].read_text()


def test_finding_page_shows_sources_and_says_when_they_are_missing(site):
    out, audit = site
    panic = next(f for f in audit.findings if f.class_text == "panic")
    text = (out / "findings" / f"{panic.fingerprint}.html").read_text()
    # vm.c is in the fixture sources, printf.c (the panic frame) is not
    assert "source file not found" in text
    assert re.search(r'<span class="hit"><i>15</i>\s*if \(step_5\(c\) &lt; 0\)', text)
    df = next(f for f in audit.findings if f.class_text == "double-free")
    text = (out / "findings" / f"{df.fingerprint}.html").read_text()
    assert {"stack-fault", "stack-alloc", "stack-free", "stack-bad"} <= Page(text).ids
    assert "Second free" in text and "First free" in text


def test_timeline_marks_the_fault_and_the_events_that_prove_the_finding(site):
    out, audit = site
    df = next(f for f in audit.findings if f.class_text == "double-free")
    page = Page((out / "findings" / f"{df.fingerprint}.html").read_text())
    marked = {a.get("id"): a.get("data-mark") for t, a in page.tags
              if t == "tr" and a.get("data-mark")}
    # the key rows first (the op that holds them), then the whole timeline folded
    assert marked == {"ev-4": "finding", "ev-5": "fault", "ev-6": "finding",
                      "ev-7": "finding", "all-ev-4": "finding", "all-ev-5": "fault",
                      "all-ev-6": "finding", "all-ev-7": "finding"}
    assert ("details", {"id": "full-timeline"}) in page.tags


def test_report_is_rewritten_in_place_without_stale_pages(tmp_path, site):
    out, _ = site
    copy = tmp_path / "site"
    shutil.copytree(out, copy)
    (copy / "findings" / "0123456789ab.html").write_text("stale")
    db = sample_db(tmp_path / "s.db")
    supp = tmp_path / "all.txt"
    supp.write_text("*:*\n")
    with Database(db) as d:
        audit = analyze(d)
        html_report.write_report(audit, d, copy)
    assert not (copy / "findings" / "0123456789ab.html").exists()


def chromium_dom(url, tmp_path):
    assert os.path.exists(CHROMIUM), "chromium is needed for the browser check (make deps)"
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", url],
                       capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


@pytest.mark.skipif(os.environ.get("FAULTLINE_BROWSER_TESTS") == "0",
                    reason="FAULTLINE_BROWSER_TESTS=0: no browser installed on purpose")
def test_chromium_renders_index_and_finding_page_structure(site, tmp_path):
    out, audit = site
    dom = Page(chromium_dom((out / "index.html").as_uri(), tmp_path))
    # the sorting script ran and marked every header of the sortable tables
    assert dom.count("th", cls="sort") >= 7
    assert dom.count("rect", cls="seg") >= 7
    assert dom.count("tr") > 10
    links = [h for h in dom.links if h.startswith("findings/")]
    assert links
    first = links[0]
    page = Page(chromium_dom((out / first).as_uri(), tmp_path))
    assert {"title", "stacks", "timeline", "repro", "occurrences"} <= page.ids
    assert page.count("div", cls="stack") >= 2
    assert page.count("li", cls="frame") >= 4
    assert "build/injector run" in "".join(page.text)



def test_long_runs_show_windows_around_the_marked_events(tmp_path):
    from analysis import timeline
    b = DbBuilder(tmp_path / "long.db")
    build = b.build("l1")
    w = RunWriter(b, build, None, "vm", 600)
    stack = [("page_alloc", 9), ("vm_unmap", 2), ("kinit", 8)]
    for i in range(600):
        a = 0x87000000 + 0x1000 * i
        w.alloc("page", a, ("vm_unmap", 2), stack)
        if i != 300:
            w.free("page", a, ("vm_unmap", 7), [("page_free", 3), ("vm_unmap", 7)])
        else:
            leaked = len(w.events) - 1
    w.fault("page", ("vm_unmap", 2), stack)
    w.finding("leak", "vm_unmap", "leaked", [leaked], alloc=stack, site=("vm_unmap", 2))
    w.write("leak")
    with Database(b.close()) as db:
        audit = analyze(db)
        run = audit.findings[0].minimal.run
        rows = timeline.build(db, run, set(audit.findings[0].minimal.events))
    assert run.nevents > 1000
    assert len(rows) < 100
    assert [r.mark for r in rows if r.mark] == ["finding", "fault"]
    assert sum(r.gap_before for r in rows) + len(rows) == run.nevents
    assert rows[0].seq == 0 and rows[-1].seq == run.nevents - 1


def test_finding_page_tells_the_error_path_before_the_stacks_and_the_timeline(site):
    out, audit = site
    df = next(f for f in audit.findings if f.class_text == "double-free")
    text = (out / "findings" / f"{df.fingerprint}.html").read_text()
    assert text.index('id="path"') < text.index('id="stacks"') < text.index('id="timeline"')
    path = text.split('id="path"')[1].split("</ol>")[0]
    assert "page_alloc failed in fork" in path
    assert re.search(r'class="blame">fork freed it twice: in proc_free', path)
    # the symptoms the cause explains are listed under it, the warning among them
    assert "unwind-order" in text.split('id="path"')[1].split("</section>")[0]
    assert "None bytes" not in text and "None" not in path
