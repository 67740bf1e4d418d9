"""The static HTML report: index.html and findings/<fingerprint>.html.

Self-contained: CSS and the optional sorting script are inlined into every page, the chart
is inline SVG, nothing is fetched, pages read the same with JavaScript off. Every string from
the database (guest records, function names, source lines) goes through jinja2 autoescape,
and every value a template prints through the environment's finalize, which shows control
characters as visible escapes (autoescape leaves them raw).
"""
from __future__ import annotations

import dataclasses
import datetime
import pathlib
import re
from collections import Counter
from typing import Optional

import jinja2
import markupsafe

from . import chart, coverage, matrix, status, timeline
from . import fingerprint as fp
from .db import Database
from .model import FindingClass, Frame, Stack
from .sources import Excerpt
from .text import visible_in_document
from .unique import Audit, UniqueFinding

TEMPLATES = pathlib.Path(__file__).resolve().parent / "templates"
_PAGE_NAME = re.compile(r"^[0-9a-f]{12}\.html$")


@dataclasses.dataclass
class FrameView:
    index: int
    func: str
    pc: str
    where: str
    excerpt: Excerpt
    site: bool
    internal: bool


@dataclasses.dataclass
class StackView:
    key: str
    title: str
    note: str
    frames: list[FrameView]


def _printable(value):
    """What a template prints, control characters escaped; markup (already HTML-escaped, or
    the templates' own) stays markup."""
    if isinstance(value, markupsafe.Markup):
        return markupsafe.Markup(visible_in_document(value))
    if value is None or isinstance(value, (int, float, jinja2.Undefined)):
        return value
    return visible_in_document(str(value))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, finalize=_printable)
    env.filters["hex"] = lambda v: "" if v is None else f"{v:x}"
    env.filters["commas"] = lambda xs: ", ".join(str(x) for x in xs)
    env.globals["colour"] = chart.colour
    env.globals["verdict"], env.globals["gaps"] = status.verdict, status.gaps
    return env


def _stack_view(audit: Audit, u: UniqueFinding, key: str, title: str, note: str,
                stack: Stack, site_func: Optional[str]) -> StackView:
    norm = audit.norm
    build = u.minimal.run.build
    frames = []
    seen_site = False
    for i, f in enumerate(stack.frames):
        is_site = not seen_site and f.func == site_func
        seen_site = seen_site or is_site
        frames.append(FrameView(i, f.name, f"{f.pc:x}",
                                _where(audit, build, f),
                                audit.sources.excerpt(build, f.file, f.line),
                                is_site, not seen_site and norm.is_allocator(f.func)))
    return StackView(key, title, note, frames)


def _where(audit: Audit, build: int, f: Frame) -> str:
    rel = audit.sources.relative(build, f.file)
    if not rel:
        return ""
    return f"{rel}:{f.line}" if f.line else rel


def stack_views(audit: Audit, u: UniqueFinding) -> list[StackView]:
    m = u.minimal
    run = m.run
    fault_func = run.fault_frame.func if run.fault_frame else None
    views = []
    if run.fault_stack.frames:
        views.append(_stack_view(audit, u, "fault", "Injected fault",
                                 f"allocation attempt failed by the hook (N={run.n}, "
                                 f"{run.fault_mode})", run.fault_stack, fault_func))
    resource = fp.is_resource(u.kinds.get(m.id))
    if m.alloc_stack.frames:
        views.append(_stack_view(audit, u, "alloc", "Acquired" if resource else "Allocated",
                                 f"where the {u.kinds.get(m.id) if resource else 'object'}"
                                 " came from"
                                 + (f" ({m.size} bytes at {m.addr:x})" if m.addr and m.size
                                    else f" (at {m.addr:x})" if m.addr else ""),
                                 m.alloc_stack, u.func if u.cls in fp.OBJECT_CLASSES + (
                                     FindingClass.REFCOUNT,) else None))
    if m.free_stack.frames:
        title = {FindingClass.DOUBLE_FREE: "First free",
                 FindingClass.DOUBLE_RELEASE: "First release"}.get(u.cls, "Freed")
        note = ("the free that succeeded" if u.cls is FindingClass.DOUBLE_FREE else
                "the release that succeeded" if u.cls is FindingClass.DOUBLE_RELEASE else
                "the free before the use" if u.cls is FindingClass.USE_AFTER_FREE else
                "the free out of order" if u.cls is FindingClass.UNWIND_ORDER else "")
        views.append(_stack_view(audit, u, "free", title, note, m.free_stack,
                                 u.func if u.cls is FindingClass.UNWIND_ORDER else None))
    if m.bad_stack.frames:
        title = {FindingClass.DOUBLE_FREE: "Second free",
                 FindingClass.INVALID_FREE: "Invalid free",
                 FindingClass.MISMATCHED_FREE: "Mismatched free",
                 FindingClass.DOUBLE_RELEASE: "Second release",
                 FindingClass.INVALID_RELEASE: "Invalid release",
                 FindingClass.PANIC: "Panic", FindingClass.CRASH: "Trap",
                 FindingClass.ERROR_SWALLOWED: "Swallowed fault",
                 FindingClass.USE_AFTER_FREE: "Access after free"}.get(u.cls,
                                                                       "Offending call")
        note = ("the trapped access, or where the poison check found the write"
                if u.cls is FindingClass.USE_AFTER_FREE else "refused or fatal")
        views.append(_stack_view(audit, u, "bad", title, note, m.bad_stack, u.func))
    return views


def _page_context(audit: Audit, strict: bool) -> dict:
    return {"audit": audit, "strict": strict,
            "generated": datetime.datetime.now(datetime.timezone.utc)
            .strftime("%Y-%m-%d %H:%M:%S UTC")}


def render_index(audit: Audit, env: jinja2.Environment, strict: bool = False,
                 covs: Optional[list[coverage.Coverage]] = None,
                 out_dir: Optional[str] = None) -> str:
    counts = [Counter(chart.outcome_key(r) for r in g.runs) for g in audit.groups]
    commands = []
    for s in audit.sweeps:
        if s.command not in commands:
            commands.append(s.command)
    return env.get_template("index.html").render(
        **_page_context(audit, strict), chart=chart.build_chart(audit.groups),
        matrix=matrix.build(audit, out_dir), commands=commands,
        outcome_columns=[k for k in chart.outcome_order() if any(c[k] for c in counts)],
        group_counts=counts, coverages=covs or [])


def render_finding(audit: Audit, db: Database, u: UniqueFinding, env: jinja2.Environment,
                   strict: bool = False) -> str:
    m = u.minimal
    marked = {seq for o in u.symptoms for seq in o.events}
    rows = timeline.build(db, m.run, marked, u.blame.evidence)
    path = [(step.text, _where(audit, m.run.build, step.frame) if step.frame else "")
            for step in u.path]
    return env.get_template("finding.html").render(
        **_page_context(audit, strict), f=u, m=m, stacks=stack_views(audit, u), path=path,
        key_rows=timeline.key_rows(rows),
        fault_where=_where(audit, m.run.build, m.run.fault_frame) if m.run.fault_frame
        else "",
        timeline=rows, occurrences=sorted(u.occurrences, key=lambda o: (o.run.n, o.run.id)))


@dataclasses.dataclass
class CoverageFile:
    """One source file of a coverage page: its covered lines and where its page is."""
    page: str
    path: str
    lines: dict[int, coverage.LineHits]
    source: Optional[list[str]]

    @property
    def error_lines(self) -> int:
        return sum(1 for h in self.lines.values() if h.error_path)

    @property
    def never_reached(self) -> int:
        return sum(1 for h in self.lines.values() if h.never_reached)

    @property
    def hit(self) -> int:
        return sum(1 for h in self.lines.values() if h.hits)


def coverage_files(audit: Audit, cov: coverage.Coverage, k: int) -> list[CoverageFile]:
    """The files of one build's coverage; pages are numbered, never named after a path that
    came from DWARF."""
    return [CoverageFile(f"b{k}-f{i}.html", audit.sources.relative(cov.build, file) or file,
                         {h.line: h for h in hits}, audit.sources.whole(cov.build, file))
            for i, (file, hits) in enumerate(cov.files().items())]


def write_coverage(audit: Audit, covs: list[coverage.Coverage], out: pathlib.Path,
                   env: jinja2.Environment, strict: bool) -> None:
    """coverage/index.html (per build: files and never-reached functions) and one page per
    source file with hit counts, like genhtml, error paths never reached highlighted."""
    pages = out / "coverage"
    pages.mkdir(parents=True, exist_ok=True)
    builds = [(cov, coverage_files(audit, cov, k)) for k, cov in enumerate(covs)]
    for cov, files in builds:
        for f in files:
            (pages / f.page).write_text(env.get_template("coverage_file.html").render(
                **_page_context(audit, strict), cov=cov, f=f), encoding="utf-8")
    (pages / "index.html").write_text(env.get_template("coverage.html").render(
        **_page_context(audit, strict), builds=builds), encoding="utf-8")


def write_report(audit: Audit, db: Database, out_dir: str | pathlib.Path,
                 strict: bool = False) -> pathlib.Path:
    """Write the site; returns the path of index.html."""
    out = pathlib.Path(out_dir)
    pages = out / "findings"
    pages.mkdir(parents=True, exist_ok=True)
    env = environment()
    written = set()
    for u in audit.findings + audit.suppressed:
        name = f"{u.fingerprint}.html"
        (pages / name).write_text(render_finding(audit, db, u, env, strict), encoding="utf-8")
        written.add(name)
    for old in pages.iterdir():
        if _PAGE_NAME.match(old.name) and old.name not in written:
            old.unlink()
    covs = coverage.build_coverages(db, audit.runs)
    if covs:
        write_coverage(audit, covs, out, env, strict)
    index = out / "index.html"
    index.write_text(render_index(audit, env, strict, covs, str(out.resolve())),
                     encoding="utf-8")
    return index
