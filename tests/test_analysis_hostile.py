"""Analysis facing hostile input: a kernel whose debug info names host files, guest strings
and symbol names full of control characters, a database on a read-only mount, and runs that
came from a saved log, whose repro line must still be a command that runs."""
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import needs_mount
from test_analysis_fixtures import FUNCS, ROOT, DbBuilder, RunWriter
from tracer_support import DATA, build_mini_elf, ingest


def analysis(*args):
    p = subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def host_file(path, marker):
    """A file outside every source root; each of its 60 lines carries the marker."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{marker} line {i}\n" for i in range(1, 61)))
    return path


def report_pages(site):
    return {p: p.read_text() for p in [site / "index.html", *(site / "findings").iterdir()]}


def finding_page(pages, title):
    return next(t for t in pages.values() if f'<h1 id="title">{title}' in t)


# --- host files named by debug info ---------------------------------------------------------

def build_kernel_naming(tmp, build_dir, lines):
    """The sample kernel built from a copy whose scen_test.c carries `#line` directives:
    lines maps a function's opening line to the file name its code is then attributed to.
    Like sample-kernel/bugs/build.sh, the clean build's objects seed the copy."""
    src = tmp / "src"
    shutil.copytree(ROOT / "sample-kernel", src / "sample-kernel",
                    ignore=shutil.ignore_patterns("bugs"))
    for d in ("sample-kernel", "user"):
        if (build_dir / d).is_dir():
            shutil.copytree(build_dir / d, src / "build" / d)
    scen = src / "sample-kernel" / "kernel" / "scen_test.c"
    text = scen.read_text()
    for opening, name in lines.items():
        assert opening in text
        text = text.replace(opening, f'#line 1 "{name}"\n{opening}')
    scen.write_text(text)
    subprocess.run(["make", "-s", "-C", src, "-f", "sample-kernel/kernel.mk", "BUILD=build",
                    "build/kernel.elf"], check=True, capture_output=True, timeout=300)
    return src / "build" / "kernel.elf"


@pytest.fixture(scope="module")
def host_file_kernel_report(tmp_path_factory, build_dir):
    tmp = tmp_path_factory.mktemp("hostfile")
    absolute = host_file(tmp / "host" / "absolute.c", "HOSTFILE-ABSOLUTE")
    dotdot = host_file(tmp / "host" / "dotdot.c", "HOSTFILE-DOTDOT")
    kernel = build_kernel_naming(tmp, build_dir, {
        "static int scen_test_leak(void)": str(absolute),
        "static int scen_test_doublefree(void)": os.path.relpath(dotdot, ROOT)})
    db = tmp / "sweep.db"
    p = subprocess.run([str(build_dir / "injector"), "sweep", "--kernel", str(kernel),
                        "--scenario", "test-leak,test-doublefree", "--mode", "reset",
                        "--quiet", "--db", str(db)], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 1, p.stderr[-2000:]
    frames = {r[0]: r[1] for r in sqlite3.connect(db).execute(
        "SELECT DISTINCT file, func FROM frames WHERE file LIKE '%HOSTFILE%' OR file LIKE "
        "'%absolute.c' OR file LIKE '%dotdot.c'")}
    # the debug info really names both host files, as written in the #line directives
    assert frames == {str(absolute): "scen_test_leak",
                      os.path.relpath(dotdot, ROOT): "scen_test_doublefree"}
    code, _, err = analysis("report", "--db", db, "--out", tmp / "site")
    assert code == 0, err
    return report_pages(tmp / "site")


def test_debug_info_naming_an_absolute_host_file_never_puts_it_in_the_report(
        host_file_kernel_report):
    for text in host_file_kernel_report.values():
        assert "HOSTFILE" not in text
    leak = finding_page(host_file_kernel_report, "leak in scen_test_leak")
    assert "absolute.c:" in leak                          # the recorded name is shown ...
    assert "source not available" in leak                 # ... and said unavailable


def test_debug_info_naming_a_dotdot_path_out_of_the_checkout_is_not_followed(
        host_file_kernel_report):
    for text in host_file_kernel_report.values():
        assert "HOSTFILE-DOTDOT" not in text
    df = finding_page(host_file_kernel_report, "double-free in scen_test_doublefree")
    assert re.search(r"\.\./[^<]*/host/dotdot\.c:\d", df) and "source not available" in df
    # the frames under the checkout still show their lines: sources are read, only not
    # outside the roots
    assert "sample-kernel/kernel/scenario.c:" in df and '<span class="hit">' in df


def test_a_symlink_inside_the_source_root_that_leads_out_of_it_is_not_followed(tmp_path):
    root = tmp_path / "root"
    (root / "sample-kernel").mkdir(parents=True)
    (root / "sample-kernel" / "proc.c").symlink_to(host_file(tmp_path / "host" / "proc.c",
                                                             "HOSTFILE-SYMLINK"))
    (root / "sample-kernel" / "kalloc.c").write_text(
        "".join(f"kalloc source line {i}\n" for i in range(1, 100)))
    b = DbBuilder(tmp_path / "s.db")
    build = b.build("5y3l1nk", src_root=str(root))
    w = RunWriter(b, build, None, "proc", 1)
    seq = w.alloc("page", 0x87000000, ("proc_create", 3),
                  [("page_alloc", 9), ("proc_create", 3)])
    w.finding("leak", "proc_create", "page leaked", [seq],
              alloc=[("page_alloc", 9), ("proc_create", 3)], site=("proc_create", 3))
    w.write("leak")
    code, _, err = analysis("report", "--db", b.close(), "--out", tmp_path / "site",
                            "--repo-root", root)
    assert code == 0, err
    page = next(t for p, t in report_pages(tmp_path / "site").items() if p.parent.name ==
                "findings")
    assert "HOSTFILE" not in page and "source not available" in page
    assert "kalloc source line 49" in page                # page_alloc's real source


# --- control characters ---------------------------------------------------------------------

# OSC retitle, clear screen, BEL, SOH, DEL, C1 CSI, a right-to-left override, markup, and a
# newline that would forge a verdict line
HOSTILE = ("\x1b]0;owned\x07\x1b[2J\x01\x7f\x9b31m\u202e<b>bold</b>"
           "\nresult: 0 finding(s) -> PASS")
EVIL_FUNC = "evil_\x1b[31m\x07\x9b\u202e_func"
SCENARIO = "scen\x1b[1A\x1b[2K"
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    b = DbBuilder(tmp_path_factory.mktemp("ctl") / "ctl.db")
    build = b.build("c0c1", funcs=dict(FUNCS, **{EVIL_FUNC: ("sample-kernel/evil.c", 5, 8)}))
    w = RunWriter(b, build, b.sweep(build, SCENARIO), SCENARIO, 1)
    w.op_begin("op_" + HOSTILE, (EVIL_FUNC, 1))
    w.fault("page", (EVIL_FUNC, 2), [("page_alloc", 9), (EVIL_FUNC, 2)])
    seq = w.alloc("page", 0x87000000, (EVIL_FUNC, 3), [("page_alloc", 9), (EVIL_FUNC, 3)])
    w.op_end(-12)
    w.log(HOSTILE)
    w.finding("leak", EVIL_FUNC, "leaked " + HOSTILE, [seq],
              alloc=[("page_alloc", 9), (EVIL_FUNC, 3)], site=(EVIL_FUNC, 3))
    w.write("leak", malformed=[(3, "unknown record", HOSTILE)], nmalformed=1)
    w = RunWriter(b, build, None, SCENARIO, 2)
    w.write("infra", fired=False, ended=False, infra_reason=HOSTILE)
    # a symbol name that is not UTF-8 (an ELF's symbol table is bytes)
    b.conn.execute("UPDATE frames SET func = CAST(X'626164ff5f6e616d65' AS TEXT) WHERE "
                   "func = 'page_alloc'")
    return b.close()


def test_terminal_output_shows_control_characters_as_visible_escapes(hostile_db):
    code, out, err = analysis("findings", "--db", hostile_db)
    assert code == 1, err
    code, summary, err = analysis("summary", "--db", hostile_db)
    assert code == 0, err
    for text in (out, summary):
        assert not RAW_CONTROL.search(text)
        assert "scen\\x1b[1A\\x1b[2K" in text
    assert "evil_\\x1b[31m\\x07\\x9b\\u202e_func" in out
    assert "\\x1b]0;owned\\x07\\x1b[2J\\x01\\x7f\\x9b31m\\u202e<b>bold</b>\\x0aresult: 0" \
        in out                                            # the infra reason, on its line
    assert not any(line.startswith("result: 0") for line in out.splitlines())


def test_html_report_shows_control_characters_as_escapes_and_keeps_markup_escaped(
        hostile_db, tmp_path):
    code, _, err = analysis("report", "--db", hostile_db, "--out", tmp_path / "site")
    assert code == 0, err
    pages = report_pages(tmp_path / "site")
    assert len(pages) == 2
    for text in pages.values():
        assert not RAW_CONTROL.search(text)
        assert "<b>bold" not in text
    finding = next(t for p, t in pages.items() if p.parent.name == "findings")
    assert "leaked \\x1b]0;owned\\x07\\x1b[2J\\x01\\x7f\\x9b31m\\u202e&lt;b&gt;bold" in finding
    assert "evil_\\x1b[31m\\x07\\x9b\\u202e_func" in finding
    assert "bad\\xff_name" in finding                      # the symbol that is not UTF-8
    index = pages[tmp_path / "site" / "index.html"]
    assert "\\x1b[2J\\x01\\x7f\\x9b31m\\u202e&lt;b&gt;bold&lt;/b&gt;" in index


def test_junit_is_well_formed_xml_with_visible_escapes(hostile_db, tmp_path):
    code, _, err = analysis("findings", "--db", hostile_db, "--junit", tmp_path / "j.xml")
    assert code == 1, err
    raw = (tmp_path / "j.xml").read_text()
    assert not RAW_CONTROL.search(raw)
    root = ET.fromstring(raw.encode())
    failure = root.find(".//failure")
    assert "evil_\\x1b[31m\\x07\\x9b\\u202e_func" in failure.get("message")
    assert "infrastructure failure fresh N=2: \\x1b]0;owned" in root.find(".//system-out").text


def test_json_and_sarif_escape_control_characters_and_keep_the_exact_strings(hostile_db,
                                                                              tmp_path):
    code, _, err = analysis("findings", "--db", hostile_db, "--json", tmp_path / "f.json",
                            "--sarif", tmp_path / "f.sarif")
    assert code == 1, err
    for name in ("f.json", "f.sarif"):
        raw = (tmp_path / name).read_text()
        assert not RAW_CONTROL.search(raw) and "\\u001b" in raw
    data = json.loads((tmp_path / "f.json").read_text())
    assert data["findings"][0]["function"] == EVIL_FUNC     # data keeps the exact string
    sarif = json.loads((tmp_path / "f.sarif").read_text())
    assert EVIL_FUNC in sarif["runs"][0]["results"][0]["message"]["text"]


# --- a database on a read-only mount --------------------------------------------------------

def on_read_only_mount(files, script, tmp_path):
    """Run the shell script in a private mount namespace where $RO is a tmpfs holding the
    given files (name -> source path), remounted read-only; $OUT is writable. Fails, never
    skips, when the mount cannot be made."""
    ro, out = tmp_path / "ro", tmp_path / "out"
    ro.mkdir()
    out.mkdir()
    copies = "".join(f'cp {shlex.quote(str(src))} "$RO"/{shlex.quote(name)}\n'
                     for name, src in files.items())
    full = ("set -e\nmount -t tmpfs -o size=64m faultline-ro \"$RO\"\n" + copies +
            "mount -o remount,ro \"$RO\"\n"
            "if touch \"$RO/probe\" 2>/dev/null; then echo 'mount is writable' >&2; exit 99; "
            "fi\nset +e\n" + script)
    p = subprocess.run(["unshare", "--mount", "sh", "-c", full], cwd=ROOT,
                       env=dict(os.environ, RO=str(ro), OUT=str(out), PY=sys.executable),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"cannot run on a read-only mount: {p.stderr}"
    assert not any(ro.iterdir()), "the tmpfs leaked out of its namespace"
    return out, p.stdout


@pytest.fixture(scope="module")
def tracer_db(tmp_path_factory, build_dir):
    """A database as build/tracer writes it (WAL mode), with one leak finding."""
    tmp = tmp_path_factory.mktemp("tracerdb")
    elf = build_mini_elf(tmp)
    db = tmp / "t.db"
    log = tmp / "leak.log"
    shutil.copy(DATA / "tracer-leak.log", log)
    assert ingest(build_dir, elf, db, log).returncode == 1
    assert db.read_bytes()[18:20] == b"\2\2"             # WAL mode, in the file header
    assert not os.path.exists(f"{db}-wal")                # closed cleanly
    return db, elf, log


@needs_mount
def test_every_read_only_command_reads_a_database_on_a_read_only_mount(tracer_db, tmp_path):
    db, _, _ = tracer_db
    out, stdout = on_read_only_mount({"t.db": db}, """
$PY -m analysis findings --db "$RO/t.db" --json "$OUT/f.json" > /dev/null; echo "findings $?"
$PY -m analysis summary --db "$RO/t.db" > "$OUT/summary.txt"; echo "summary $?"
$PY -m analysis report --db "$RO/t.db" --out "$OUT/site" > /dev/null; echo "report $?"
ls -A "$RO"
""", tmp_path)
    assert stdout.splitlines() == ["findings 1", "summary 0", "report 0", "t.db"]
    assert [f["class"] for f in json.loads((out / "f.json").read_text())["findings"]] == \
        ["leak"]
    assert "proc" in (out / "summary.txt").read_text()
    assert len(list((out / "site" / "findings").iterdir())) == 1


@needs_mount
def test_a_live_databases_write_ahead_log_is_read_on_a_read_only_mount_or_refused(
        tracer_db, tmp_path):
    db, _, _ = tracer_db
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(db, live / "t.db")
    # a writer still holds the database: its last commit is only in the -wal
    conn = sqlite3.connect(live / "t.db")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("UPDATE runs SET scenario = 'late-commit'")
    conn.commit()
    files = {"t.db": live / "t.db", "t.db-wal": live / "t.db-wal",
             "t.db-shm": live / "t.db-shm"}
    snapshot = tmp_path / "snap"
    snapshot.mkdir()
    for name, src in files.items():
        shutil.copy(src, snapshot / name)
    conn.close()
    out, stdout = on_read_only_mount({n: snapshot / n for n in files}, """
mkdir "$OUT/noshm"
$PY -m analysis summary --db "$RO/t.db" > "$OUT/summary.txt"; echo "summary $?"
""", tmp_path)
    assert stdout.splitlines() == ["summary 0"]
    assert "late-commit" in (out / "summary.txt").read_text()
    (tmp_path / "ro").rmdir()
    shutil.rmtree(tmp_path / "out")
    _, stdout = on_read_only_mount({n: snapshot / n for n in ("t.db", "t.db-wal")}, """
$PY -m analysis summary --db "$RO/t.db" 2>&1; echo "summary $?"
""", tmp_path)
    assert stdout.splitlines()[-1] == "summary 2"
    assert "write-ahead log t.db-wal cannot be read in a read-only directory" in stdout


# --- repro lines of runs ingested from a saved log ------------------------------------------

def test_repro_of_an_ingested_log_run_is_a_command_that_re_judges_the_log(tracer_db,
                                                                         tmp_path):
    db, elf, log = tracer_db
    code, _, err = analysis("findings", "--db", db, "--json", tmp_path / "f.json")
    assert code == 1, err
    finding = json.loads((tmp_path / "f.json").read_text())["findings"][0]
    argv = shlex.split(finding["repro"])
    assert argv[:2] == ["build/tracer", "check"] and str(log) in argv
    p = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stderr                     # findings, as when ingested
    assert "leak" in p.stdout and finding["function"] in p.stdout
