"""The audit: per-run findings grouped into unique findings, with everything reports need.

`analyze()` is the library's front door: it reads a Database, applies suppressions and
returns an Audit, which every output format (text, JSON, SARIF, JUnit, HTML) renders.

Rules decided here:
- A run whose outcome is crash, panic or hang and that carries no finding of that class gets
  one made from the run itself (a missing result counts as a failure, as in kunit_tool).
- A run that ended in an annotated expected panic (runs.expected_panic = 1) is listed as
  expected. Its panic is not a finding, nor are its leak and refcount findings (teardown never
  ran, so the end checkpoint means nothing); bad frees seen before the panic still count.
- Warnings (severity warning, e.g. unwind-order) are reported; they make the exit code 1
  only in strict mode.
"""
from __future__ import annotations

import dataclasses
import pathlib
import shlex
from collections import Counter
from typing import Optional

from . import atomicity
from . import fingerprint as fp
from . import rootcause
from .db import Database
from .inlines import Inlines
from .model import (Build, FindingClass, Outcome, Run, RunFinding, Severity, Stack, Sweep,
                    Malformed)
from .profile import Profile
from .sources import SourceTree
from .suppressions import Rule, first_match

_OUTCOME_CLASS = {Outcome.CRASH: FindingClass.CRASH, Outcome.PANIC: FindingClass.PANIC,
                  Outcome.HANG: FindingClass.HANG}
_NOT_AFTER_EXPECTED_PANIC = {FindingClass.PANIC, FindingClass.LEAK, FindingClass.REFCOUNT,
                             FindingClass.RESOURCE_LEAK}


@dataclasses.dataclass
class UniqueFinding:
    fingerprint: str
    cls: FindingClass
    class_text: str
    severity: Severity
    func: str
    title: str
    located: fp.Located
    occurrences: list[RunFinding]
    minimal: RunFinding
    repro: str
    blame: rootcause.Blame
    symptoms: list[RunFinding]                # the minimal run's symptoms of this cause
    kinds: dict[int, Optional[str]]           # allocator class of each symptom's object
    suppressed_by: Optional[Rule] = None

    @property
    def path(self) -> list[rootcause.Step]:
        """The error path from the fault to the responsible function, then the verdict:
        what it did, and the objects it left with the line in it each came from."""
        text = self.blame.why
        objects = self.objects
        if objects:
            text += ": " + ", ".join(
                f"{len(group)} {kind or 'object'}{'s' if len(group) > 1 else ''} from {site}"
                + (f" ({where})" if where else "") for (kind, site, where), group in
                objects.items())
        return list(self.blame.path) + [rootcause.Step(text, self.blame.frame)]

    @property
    def objects(self) -> dict[tuple[Optional[str], str, str], list[RunFinding]]:
        """The objects the symptoms are about, by (class, allocation site, line in the
        responsible function the allocation came through)."""
        out: dict[tuple[Optional[str], str, str], list[RunFinding]] = {}
        seen: set[int] = set()
        for o in self.symptoms:
            if o.addr is None or o.addr in seen or o.cls not in fp.OBJECT_CLASSES:
                continue
            seen.add(o.addr)
            via = next((fr.where for fr in o.alloc_stack.frames if fr.func == self.func), "")
            out.setdefault((self.kinds.get(o.id), o.func or "??", via), []).append(o)
        return out

    @property
    def runs(self) -> list[Run]:
        seen: dict[int, Run] = {}
        for o in self.occurrences:
            seen.setdefault(o.run.id, o.run)
        return sorted(seen.values(), key=lambda r: r.id)

    @property
    def nruns(self) -> int:
        return len({o.run.id for o in self.occurrences})

    @property
    def first_n(self) -> int:
        return min(self.occurrences, key=lambda o: o.run.id).run.n

    @property
    def min_n(self) -> int:
        return min(o.run.n for o in self.occurrences)

    @property
    def max_n(self) -> int:
        return max(o.run.n for o in self.occurrences)

    @property
    def scenarios(self) -> list[str]:
        return sorted({o.run.scenario for o in self.occurrences})

    @property
    def exec_modes(self) -> list[str]:
        return sorted({o.run.exec_mode for o in self.occurrences})

    @property
    def fault_modes(self) -> list[str]:
        return sorted({o.run.fault_mode for o in self.occurrences})

    @property
    def is_warning(self) -> bool:
        return self.severity is Severity.WARNING


@dataclasses.dataclass
class ExpectedPanic:
    message: str
    func: str
    runs: list[Run]

    @property
    def scenarios(self) -> list[str]:
        return sorted({r.scenario for r in self.runs})


@dataclasses.dataclass
class RunGroup:
    """The runs of one sweep line: one scenario, exec mode, fault mode, filter and build."""
    build: int
    scenario: str
    exec_mode: str
    fault_mode: str
    class_filter: str
    site: str
    runs: list[Run]

    @property
    def label(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in (("class", self.class_filter),
                                                   ("site", self.site)) if v)
        return f"{self.scenario} {self.exec_mode}/{self.fault_mode}{extra}"

    @property
    def outcomes(self) -> Counter:
        return Counter(r.outcome_text for r in self.runs)

    @property
    def max_n(self) -> int:
        return max((r.n for r in self.runs), default=0)

    @property
    def nmalformed(self) -> int:
        return sum(r.nmalformed for r in self.runs)

    @property
    def wall_ms(self) -> float:
        return sum(r.wall_ms or 0.0 for r in self.runs)


@dataclasses.dataclass
class Audit:
    db_path: str
    schema_version: int
    meta: dict[str, str]
    builds: dict[int, Build]
    sweeps: list[Sweep]
    runs: list[Run]
    findings: list[UniqueFinding]            # unsuppressed, worst first
    suppressed: list[UniqueFinding]
    expected_panics: list[ExpectedPanic]
    rules: list[Rule]
    groups: list[RunGroup]
    malformed: list[Malformed]
    malformed_reasons: list[tuple[str, int]]
    sources: SourceTree
    norm: fp.Normalizer
    ignored_in_expected_panics: int = 0

    @property
    def nexpected_panics(self) -> int:
        return sum(len(e.runs) for e in self.expected_panics)

    @property
    def infra_runs(self) -> list[Run]:
        return [r for r in self.runs if r.outcome is Outcome.INFRA]

    @property
    def errors(self) -> list[UniqueFinding]:
        return [f for f in self.findings if not f.is_warning]

    @property
    def warnings(self) -> list[UniqueFinding]:
        return [f for f in self.findings if f.is_warning]

    @property
    def nmalformed(self) -> int:
        return sum(r.nmalformed for r in self.runs)

    @property
    def wall_s(self) -> float:
        swept = [s.wall_s for s in self.sweeps if s.wall_s is not None]
        if swept:
            return sum(swept)
        return sum(r.wall_ms or 0.0 for r in self.runs) / 1000.0

    def failing(self, strict: bool = False) -> list[UniqueFinding]:
        return list(self.findings) if strict else self.errors

    def exit_code(self, strict: bool = False) -> int:
        return 1 if self.failing(strict) else 0

    def finding(self, fingerprint: str) -> Optional[UniqueFinding]:
        for f in self.findings + self.suppressed:
            if f.fingerprint == fingerprint:
                return f
        return None


def display_path(path: str, root: pathlib.Path) -> str:
    """An absolute path relative to root when it lies inside it (for commands a user
    pastes); a relative path is kept as recorded."""
    if not pathlib.Path(path).is_absolute():
        return path
    try:
        return pathlib.Path(path).resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return path


def recorded_profile(command: str) -> Optional[str]:
    """The --profile FILE of a recorded injector command line, if it has one."""
    words = command.split()
    for i, w in enumerate(words):
        if w == "--profile" and i + 1 < len(words):
            return words[i + 1]
        if w.startswith("--profile="):
            return w.removeprefix("--profile=")
    return None


def repro_command(run: Run, elf: str, site_func: Optional[str] = None,
                  profile: Optional[str] = None) -> str:
    """The one-line command that repeats this run (build/injector's `run` subcommand),
    booting the machine of the kernel profile the run was made with (profile).
    A by-site run ("pc:<hex>") is named by the function holding that pc (site_func): the
    injector arms by function range, so N then counts that function's attempts.
    A run ingested from a saved log (exec mode "log") cannot be driven again; its command
    re-judges that log with `build/tracer check` (the run is the log's N-th hello)."""
    if run.exec_mode == "log":
        log = run.raw_log or run.site.removeprefix("log:")
        argv = ["build/tracer", "check"] + (["--kernel", elf] if elf else [])
        return shlex.join(argv + (["--scenario", run.scenario] if run.scenario else [])
                          + [log])
    argv = ["build/injector", "run", *(["--profile", profile] if profile else []),
            "--kernel", elf, "--scenario", run.scenario, "--fail", str(run.n)]
    if run.fault_mode == "persist":
        argv.append("--persist")
    if run.class_filter:
        argv += ["--class", run.class_filter]
    site = site_func if run.site.startswith("pc:") else run.site
    if site:
        argv += ["--site", site]
    if run.exec_mode != "fresh" or profile:         # a profile's [sweep] mode must not apply
        argv += ["--mode", run.exec_mode]
    if run.guard:
        argv.append("--guard")
    argv += ["--print-log", "--db", "repro.db"]
    return shlex.join(argv)


def _minimal_key(o: RunFinding):
    r = o.run
    return (r.site.startswith("pc:"), r.n, r.fault_mode != "once", r.exec_mode != "fresh",
            r.id, o.id)


def _site_func(db: Database, run: Run) -> Optional[str]:
    if not run.site.startswith("pc:"):
        return None
    try:
        return db.symbol_at(run.build, int(run.site[3:], 16))
    except ValueError:
        return None


def _synthesize(db: Database, run: Run, next_id: int) -> Optional[RunFinding]:
    cls = _OUTCOME_CLASS[run.outcome]
    ev = db.panic_event(run) if cls is not FindingClass.HANG else None
    if ev is not None:
        stack = db.stack(ev.stack)
        message = (ev.text or ev.name or ev.kind).strip()
        func, pc = ev.func, ev.pc
    else:
        stack = Stack(None, ())
        message = "the run did not finish before the timeout" \
            if cls is FindingClass.HANG else f"run ended with outcome {run.outcome_text}"
        func, pc = None, None
    return RunFinding(id=next_id, run=run, cls=cls, class_text=cls.value,
                      severity=Severity.ERROR, func=func, pc=pc, addr=None, size=None,
                      alloc_stack=Stack(None, ()), free_stack=Stack(None, ()),
                      bad_stack=stack, op_name=None, message=message,
                      events=(ev.seq,) if ev else (), synthesized=True)


def _expected_panics(db: Database, runs: list[Run]) -> list[ExpectedPanic]:
    groups: dict[tuple[str, str], ExpectedPanic] = {}
    for run in runs:
        if not run.expected_panic:
            continue
        ev = db.panic_event(run)
        message = ((ev.text or "").strip() if ev else "") or "(no panic record)"
        func = (ev.func if ev else None) or "??"
        groups.setdefault((func, message), ExpectedPanic(message, func, [])).runs.append(run)
    return sorted(groups.values(), key=lambda g: (-len(g.runs), g.func, g.message))


def _groups(runs: list[Run]) -> list[RunGroup]:
    groups: dict[tuple, RunGroup] = {}
    for r in runs:
        key = (r.build, r.scenario, r.exec_mode, r.fault_mode, r.class_filter, r.site)
        groups.setdefault(key, RunGroup(*key, [])).runs.append(r)
    for g in groups.values():
        g.runs.sort(key=lambda r: (r.n, r.id))
    return sorted(groups.values(), key=lambda g: (g.scenario, g.exec_mode, g.fault_mode,
                                                   g.class_filter, g.site, g.build))


def _group_by_cause(blamed: list[tuple[RunFinding, rootcause.Blame]]
                    ) -> dict[str, list[RunFinding]]:
    """Symptoms by root cause: class family, responsible function and the call in it that
    failed. A symptom no fault path leads to (a leak seen without any failure) joins the
    cause of the same family and function that a fault did reach, when there is one: one
    mistake, seen with and without a failure."""
    causes: dict[tuple[str, str, str], list[RunFinding]] = {}
    for f, b in blamed:
        causes.setdefault((fp.family(f.cls, f.class_text), b.func, b.failed_call),
                          []).append(f)
    for (family, func, failed) in [k for k in causes if not k[2]]:
        reached = [k for k in causes if k[:2] == (family, func) and k[2]]
        if reached:
            best = max(reached, key=lambda k: len(causes[k]))
            causes[best] += causes.pop((family, func, failed))
    return {fp.root_fingerprint(*key): members for key, members in causes.items()}


def analyze(db: Database, rules: Optional[list[Rule]] = None,
            norm: Optional[fp.Normalizer] = None,
            repo_root: Optional[pathlib.Path] = None,
            src_root: Optional[pathlib.Path] = None,
            profile: Optional[Profile] = None) -> Audit:
    rules = rules if rules is not None else []
    norm = norm or fp.Normalizer()
    builds = db.builds()
    sources = SourceTree(builds, repo_root, src_root)
    runs = db.runs()
    sweeps = db.sweeps()
    profiles = {sw.id: display_path(p, sources.repo_root) for sw in sweeps
                if (p := recorded_profile(sw.command))}
    by_id = {r.id: r for r in runs}
    rows = atomicity.judge(db.findings(by_id), atomicity.declarations(db, sources, profile))

    kept: list[RunFinding] = []
    ignored = 0
    for f in rows:
        if f.run.expected_panic and f.cls in _NOT_AFTER_EXPECTED_PANIC:
            ignored += 1
            continue
        kept.append(f)
    have = {(f.run.id, f.cls) for f in kept}
    next_id = -1
    for run in runs:
        cls = _OUTCOME_CLASS.get(run.outcome)
        if cls is None or run.expected_panic or (run.id, cls) in have or \
                (run.id, FindingClass.USE_AFTER_FREE) in have:   # a trap in freed memory
            continue
        made = _synthesize(db, run, next_id)
        next_id -= 1
        if made is not None:
            kept.append(made)

    by_run: dict[int, list[RunFinding]] = {}
    for f in kept:
        by_run.setdefault(f.run.id, []).append(f)
    found: dict[int, rootcause.Attribution] = {}
    inlines = Inlines(builds)
    for run_id, members in by_run.items():
        found[run_id] = rootcause.attribute(db, members[0].run, members, norm, inlines)
    grouped = _group_by_cause([(f, found[f.run.id].blames[f.id]) for f in kept])

    unique: list[UniqueFinding] = []
    for key, occurrences in grouped.items():
        first = min(occurrences, key=_minimal_key)
        attribution = found[first.run.id]
        symptoms = sorted((o for o in occurrences if o.run.id == first.run.id),
                          key=lambda o: (fp.PRIORITY.index(o.cls), o.id))
        minimal = symptoms[0]
        blame = attribution.blames[minimal.id]
        loc = fp.locate(minimal, norm)
        severity = (Severity.ERROR if any(o.severity is Severity.ERROR for o in occurrences)
                    else Severity.WARNING)
        build = builds.get(minimal.run.build)
        elf = display_path(build.elf_path, sources.repo_root) if build else "build/kernel.elf"
        u = UniqueFinding(
            fingerprint=key, cls=minimal.cls, class_text=minimal.class_text,
            severity=severity, func=blame.func,
            title=fp.root_title(minimal, blame, symptoms, attribution.kinds),
            located=loc, occurrences=occurrences, minimal=minimal,
            repro=repro_command(minimal.run, elf, _site_func(db, minimal.run),
                                profiles.get(minimal.run.sweep)),
            blame=blame, symptoms=symptoms, kinds=attribution.kinds)
        funcs = [u.func, loc.func] + [o.func or "??" for o in symptoms] + \
            [fr.name for fr in loc.frames]
        rule = next((r for c in dict.fromkeys(o.cls for o in symptoms)
                     if (r := first_match(rules, c, funcs)) is not None), None)
        if rule is not None:
            u.suppressed_by = rule
            rule.findings += 1
            rule.occurrences += len(occurrences)
        unique.append(u)

    unique.sort(key=lambda u: (u.is_warning, list(FindingClass).index(u.cls), -u.nruns,
                               u.title, u.fingerprint))
    return Audit(
        db_path=str(db.path), schema_version=db.schema_version, meta=db.meta(),
        builds=builds, sweeps=sweeps, runs=runs,
        findings=[u for u in unique if u.suppressed_by is None],
        suppressed=[u for u in unique if u.suppressed_by is not None],
        expected_panics=_expected_panics(db, runs), rules=rules, groups=_groups(runs),
        malformed=db.malformed(),
        malformed_reasons=db.malformed_reasons(), sources=sources, norm=norm, ignored_in_expected_panics=ignored)
