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

from . import chart, status, timeline
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
    env.globals["colours"] = chart.COLOURS
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
    if m.alloc_stack.frames:
        views.append(_stack_view(audit, u, "alloc", "Allocated", "where the object came from"
                                 + (f" ({m.size} bytes at {m.addr:x})" if m.addr and m.size
                                    else f" (at {m.addr:x})" if m.addr else ""),
                                 m.alloc_stack, u.func if u.cls in (
                                     FindingClass.LEAK, FindingClass.UNBALANCED_UNWIND,
                                     FindingClass.REFCOUNT) else None))
    if m.free_stack.frames:
        title = "First free" if u.cls is FindingClass.DOUBLE_FREE else "Freed"
        note = ("the free that succeeded" if u.cls is FindingClass.DOUBLE_FREE else
                "the free before the use" if u.cls is FindingClass.USE_AFTER_FREE else
                "the free out of order" if u.cls is FindingClass.UNWIND_ORDER else "")
        views.append(_stack_view(audit, u, "free", title, note, m.free_stack,
                                 u.func if u.cls is FindingClass.UNWIND_ORDER else None))
    if m.bad_stack.frames:
        title = {FindingClass.DOUBLE_FREE: "Second free",
                 FindingClass.INVALID_FREE: "Invalid free",
                 FindingClass.MISMATCHED_FREE: "Mismatched free",
                 FindingClass.PANIC: "Panic", FindingClass.CRASH: "Trap",
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


def render_index(audit: Audit, env: jinja2.Environment, strict: bool = False) -> str:
    counts = [Counter(chart.outcome_key(r) for r in g.runs) for g in audit.groups]
    commands = []
    for s in audit.sweeps:
        if s.command not in commands:
            commands.append(s.command)
    return env.get_template("index.html").render(
        **_page_context(audit, strict), chart=chart.build_chart(audit.groups),
        commands=commands, outcome_columns=[k for k in chart.COLOURS
                                            if any(c[k] for c in counts)],
        group_counts=counts)


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
    index = out / "index.html"
    index.write_text(render_index(audit, env, strict), encoding="utf-8")
    return index
