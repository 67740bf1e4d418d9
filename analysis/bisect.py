"""Regression bisection: which commit of a kernel's history introduced a finding?

Two ways in, one judge:

- `bisect()` walks the first-parent history from a good to a bad revision. Each revision it
  visits is exported with `git archive` into a work directory (the user's checkout, index and
  refs are never touched), built with the build command, and judged. It names the first bad
  commit, or the range it could not narrow because revisions in it were skipped.
- `predicate()` judges the tree it is given (the checkout `git bisect run` has just moved)
  and returns the exit status git expects: 0 good, 1 bad, 125 skip.

What is judged (a `Target`):

- a finding, by fingerprint: its minimal run in the database it came from says where the
  injected fault was - the allocator's calling function F and the occurrence K of F's
  attempts. N itself shifts from revision to revision, F and K much less, so each revision is
  run with `injector run --site F --fail K`. When that run does not show the fingerprint, a
  sweep of every occurrence of F follows (K may have moved), and only then is the revision
  good. A finding that showed without any injected fault is run with a fault that never fires.
- or a scenario: a sweep (optionally of one site, with a bound on N); bad when it shows any
  unsuppressed error finding.

A revision is skipped when it does not build, when the scenario or the fault's function is
missing from it, or when the kernel does not come up (only infrastructure failures). A probe
with a hang or an infrastructure failure may depend on the host's load, so it is repeated,
up to `repeats` times, and the majority decides (a tie skips).
"""
from __future__ import annotations

import dataclasses
import enum
import json
import os
import pathlib
import shlex
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from typing import Callable, Optional

from .db import Database
from .fingerprint import Normalizer
from .profile import Profile, load_or_default
from .model import Outcome
from .suppressions import Rule
from .unique import Audit, analyze

EXIT_GOOD, EXIT_BAD, EXIT_SKIP, EXIT_ABORT = 0, 1, 125, 128
DEFAULT_BUILD = "make -s build/kernel.elf"
DEFAULT_ELF = "build/kernel.elf"
NEVER = 1_000_000_000          # --fail N that no run reaches: the fault never fires
FALLBACK_MAX_N = 200           # the bound on the site sweep that confirms a good revision


class BisectError(Exception):
    """Bisection cannot start or go on: bad arguments, a repository or database problem."""


class Verdict(enum.Enum):
    GOOD = "good"
    BAD = "bad"
    SKIP = "skip"

    @property
    def exit_code(self) -> int:
        return {Verdict.GOOD: EXIT_GOOD, Verdict.BAD: EXIT_BAD, Verdict.SKIP: EXIT_SKIP}[self]


# --- what is judged --------------------------------------------------------------------------

@dataclasses.dataclass
class Target:
    scenario: str
    fingerprint: Optional[str] = None   # None: any unsuppressed error finding is bad
    title: str = ""
    site: str = ""                      # the function the fault is located in ("" = any)
    occurrence: Optional[int] = None    # K: fail the K-th attempt from site (None: a sweep)
    persist: bool = False
    class_filter: str = ""
    no_fault: bool = False              # the finding shows in a run whose fault never fired
    fault: str = "once"                 # sweeps: once | persist | both
    max_n: Optional[int] = None         # sweeps: bound on N

    def describe(self) -> str:
        if self.fingerprint:
            where = ("without an injected fault" if self.no_fault else
                     f"fault at attempt {self.occurrence} from {self.site}"
                     f"{' (persist)' if self.persist else ''}")
            return f"finding {self.fingerprint} ({self.title}) in {self.scenario}, {where}"
        extra = f" at site {self.site}" if self.site else ""
        bound = f", N <= {self.max_n}" if self.max_n else ""
        return f"any error finding in a {self.fault} sweep of {self.scenario}{extra}{bound}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def attempts_from(db: Database, run, func: str) -> int:
    """How many allocation attempts of `run` came from `func`, up to and including its
    injected fault: the occurrence K that `--site func --fail K` fails."""
    count = 0
    for e in db.events(run, ("alloc", "fault", "oom")):
        if run.fault_event is not None and e.seq > run.fault_event:
            break
        if e.pc is not None and db.symbol_at(run.build, e.pc) == func:
            count += 1
    return count


def target_from_finding(db_path: str | pathlib.Path, fingerprint: str,
                        norm: Optional[Normalizer] = None) -> Target:
    """Locate a finding of a database by name: scenario, fault function and occurrence."""
    try:
        with Database(db_path) as db:
            audit = analyze(db, [], norm)
            u = audit.finding(fingerprint)
            if u is None:
                known = ", ".join(f.fingerprint for f in audit.findings + audit.suppressed)
                raise BisectError(f"{db_path}: no finding {fingerprint!r} "
                                  f"(it has: {known or 'none'})")
            run = u.minimal.run
            t = Target(scenario=run.scenario, fingerprint=u.fingerprint, title=u.title,
                       persist=run.fault_mode == "persist", class_filter=run.class_filter,
                       fault=run.fault_mode if run.fault_mode in ("once", "persist") else "once")
            func = db.symbol_at(run.build, run.fault_pc) if run.fired and run.fault_pc else None
            if func is None:
                t.no_fault = True
                return t
            t.site = func
            t.occurrence = attempts_from(db, run, func)
            if t.occurrence < 1:
                raise BisectError(f"{db_path}: the minimal run of {fingerprint} has no "
                                  f"attempt from {func} (an incomplete run?)")
            return t
    except BisectError:
        raise
    except Exception as e:          # the database's own errors, worded by the library
        raise BisectError(str(e)) from e


# --- running the host tools ------------------------------------------------------------------

@dataclasses.dataclass
class Host:
    """How to run the injector and judge its database."""
    injector: pathlib.Path
    jobs: int = 2
    timeout: Optional[float] = None
    mode: str = "reset"
    rules: list[Rule] = dataclasses.field(default_factory=list)
    profile: Profile = dataclasses.field(default_factory=Profile)   # the kernel's

    @property
    def norm(self) -> Normalizer:
        return Normalizer(self.profile.allocator_globs)

    def command(self, sub: str, elf: pathlib.Path, db: pathlib.Path, *args: str) -> list[str]:
        given = ["--profile", str(self.profile.path)] if self.profile.path else []
        argv = [str(self.injector), sub, *given, "--kernel", str(elf), "--db", str(db),
                "--mode", self.mode, "--quiet", *args]
        if self.timeout:
            argv += ["--timeout", f"{self.timeout:g}"]
        if sub == "sweep":
            argv += ["-j", str(self.jobs), "--no-analysis"]   # judged by audit_of()
        return argv


def default_injector() -> pathlib.Path:
    """The injector built next to this analysis package (FAULTLINE_INJECTOR overrides)."""
    env = os.environ.get("FAULTLINE_INJECTOR")
    if env:
        return pathlib.Path(env)
    return pathlib.Path(__file__).resolve().parent.parent / "build" / "injector"


def sweep_argv(scenario: str, site: str = "", fault: str = "once",
               max_n: Optional[int] = None, class_filter: str = "") -> list[str]:
    """The sweep options for one scenario (as `injector sweep` takes them)."""
    if fault not in ("once", "persist", "both"):
        raise BisectError(f"fault mode is once, persist or both, not {fault!r}")
    argv = ["--scenario", scenario, "--fault", fault]   # said even for once: a profile's
    if site:                                            # [sweep] fault must not apply
        argv += ["--site", site]
    if max_n:
        argv += ["--max-n", str(max_n)]
    if class_filter:
        argv += ["--class", class_filter]
    return argv


@dataclasses.dataclass
class Call:
    argv: list[str]
    code: int
    output: str


def call(argv: list[str], cwd: Optional[pathlib.Path] = None) -> Call:
    p = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, errors="replace")
    return Call(argv, p.returncode, p.stdout)


def audit_of(db_path: pathlib.Path, host: Host) -> Audit:
    with Database(db_path) as db:
        return analyze(db, host.rules, host.norm,
                       profile=host.profile if host.profile.path else None)


def kernel_scenarios(host: Host, elf: pathlib.Path) -> Optional[list[str]]:
    c = call([str(host.injector), "scenarios", "--kernel", str(elf)])
    return c.output.split() if c.code == 0 else None


def elf_has_function(elf: pathlib.Path, func: str) -> bool:
    """Whether the ELF has a function symbol `func` (what `--site` resolves)."""
    nm = shutil.which("riscv64-unknown-elf-nm") or shutil.which("nm")
    if nm is None:
        return True                       # let the injector decide
    c = call([nm, "--defined-only", str(elf)])
    return any(line.split()[-1] == func and line.split()[1] in "tTwW"
               for line in c.output.splitlines() if len(line.split()) == 3)


# --- judging one kernel ----------------------------------------------------------------------

@dataclasses.dataclass
class Attempt:
    """One probe of a kernel: what was run, what it showed, what it says."""
    verdict: Verdict
    reason: str
    commands: list[str]
    outcomes: dict[str, int]
    findings: list[str]                 # "fingerprint class function" of what it showed
    suspect: bool                       # a hang or an infrastructure failure was involved
    seconds: float

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["verdict"] = self.verdict.value
        return d


@dataclasses.dataclass
class Judgement:
    verdict: Verdict
    reason: str
    attempts: list[Attempt]

    def to_dict(self) -> dict:
        return {"verdict": self.verdict.value, "reason": self.reason,
                "attempts": [a.to_dict() for a in self.attempts]}


def _shown(audit: Audit) -> list[str]:
    return [f"{u.fingerprint} {u.class_text} {u.func}" for u in audit.findings]


def probe(host: Host, elf: pathlib.Path, target: Target, work: pathlib.Path) -> Attempt:
    """Run the target's fault(s) once against elf and judge the result."""
    start = time.monotonic()
    scenarios = kernel_scenarios(host, elf)
    if scenarios is None:
        return Attempt(Verdict.SKIP, "the injector cannot read the kernel ELF", [], {}, [],
                       False, time.monotonic() - start)
    if target.scenario not in scenarios:
        return Attempt(Verdict.SKIP, f"the kernel has no scenario {target.scenario!r}", [],
                       {}, [], False, time.monotonic() - start)
    if target.site and not elf_has_function(elf, target.site):
        if target.fingerprint:
            # the fault's function does not exist yet, so neither does the finding
            return Attempt(Verdict.GOOD, f"no function {target.site} in this kernel", [],
                           {}, [], False, time.monotonic() - start)
        return Attempt(Verdict.SKIP, f"no function {target.site} to sweep", [], {}, [],
                       False, time.monotonic() - start)

    work.mkdir(parents=True, exist_ok=True)
    db = work / "probe.db"
    for old in work.glob("probe.db*"):
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    commands: list[Call] = []
    if target.fingerprint and (target.no_fault or target.occurrence):
        args = ["--scenario", target.scenario,
                "--fail", str(NEVER if target.no_fault else target.occurrence)]
        if not target.no_fault:
            args += ["--site", target.site]
            if target.persist:
                args.append("--persist")
        if target.class_filter:
            args += ["--class", target.class_filter]
        commands.append(call(host.command("run", elf, db, *args)))
        first = audit_of(db, host) if commands[-1].code in (0, 1) else None
        if not target.site or (first is not None and target.fingerprint in _fingerprints(first)):
            return _verdict(host, target, db, commands, start)
        # the occurrence may have moved: every attempt from the site
        commands.append(call(host.command(
            "sweep", elf, db, *sweep_argv(target.scenario, target.site,
                                          "persist" if target.persist else "once",
                                          target.max_n or FALLBACK_MAX_N,
                                          target.class_filter))))
    else:
        commands.append(call(host.command(
            "sweep", elf, db, *sweep_argv(target.scenario, target.site, target.fault,
                                          target.max_n, target.class_filter))))
    return _verdict(host, target, db, commands, start)


def _fingerprints(audit: Audit) -> set[str]:
    return {u.fingerprint for u in audit.findings + audit.suppressed}


def _verdict(host: Host, target: Target, db: pathlib.Path, commands: list[Call],
             start: float) -> Attempt:
    shown = [shlex.join(c.argv) for c in commands]
    failed = [c for c in commands if c.code not in (0, 1)]
    if not db.exists():
        detail = failed[-1].output.strip().splitlines()[-1:] if failed else []
        return Attempt(Verdict.SKIP, "the injector wrote no database" +
                       (f": {detail[0]}" if detail else ""), shown, {}, [], True,
                       time.monotonic() - start)
    audit = audit_of(db, host)
    outcomes = dict(Counter(r.outcome_text for r in audit.runs))
    suspect = bool(outcomes.get(Outcome.INFRA.value) or outcomes.get(Outcome.HANG.value))
    real = [r for r in audit.runs if r.outcome is not Outcome.INFRA]
    seconds = time.monotonic() - start
    if not real:
        return Attempt(Verdict.SKIP, "the kernel did not come up (infrastructure failures "
                       "only)", shown, outcomes, [], True, seconds)
    if target.fingerprint:
        hit = target.fingerprint in _fingerprints(audit)
        reason = (f"finding {target.fingerprint} shown" if hit else
                  f"finding {target.fingerprint} not shown in {len(real)} run(s)")
        return Attempt(Verdict.BAD if hit else Verdict.GOOD, reason, shown, outcomes,
                       _shown(audit), suspect, seconds)
    errors = audit.errors
    reason = (f"{len(errors)} error finding(s): " + ", ".join(u.title for u in errors[:3])
              if errors else f"no error finding in {len(real)} run(s)")
    return Attempt(Verdict.BAD if errors else Verdict.GOOD, reason, shown, outcomes,
                   _shown(audit), suspect, seconds)


def judge(host: Host, elf: pathlib.Path, target: Target, work: pathlib.Path,
          repeats: int = 3) -> Judgement:
    """Probe elf; a probe that involved a hang or an infrastructure failure is repeated (up
    to `repeats` probes in all) and the majority of good/bad decides (a tie skips)."""
    attempts = [probe(host, elf, target, work)]
    while attempts[-1].suspect and len(attempts) < max(1, repeats):
        attempts.append(probe(host, elf, target, work))
    votes = Counter(a.verdict for a in attempts if a.verdict is not Verdict.SKIP)
    if len(attempts) == 1:
        return Judgement(attempts[0].verdict, attempts[0].reason, attempts)
    if votes[Verdict.BAD] > votes[Verdict.GOOD]:
        verdict = Verdict.BAD
    elif votes[Verdict.GOOD] > votes[Verdict.BAD]:
        verdict = Verdict.GOOD
    else:
        verdict = Verdict.SKIP
    last = next((a for a in reversed(attempts) if a.verdict is verdict), attempts[-1])
    tally = ", ".join(f"{v.value} {n}" for v, n in sorted(votes.items(), key=lambda x: x[0].value))
    return Judgement(verdict, f"{last.reason} (flaky-looking, {len(attempts)} probes: "
                              f"{tally or 'all skipped'})", attempts)


# --- building a revision ---------------------------------------------------------------------

@dataclasses.dataclass
class Built:
    elf: Optional[pathlib.Path]
    reason: str                 # why there is no ELF, or "built"
    seconds: float
    log: Optional[pathlib.Path]


def build_tree(tree: pathlib.Path, build_cmd: str, elf_rel: str,
               log: Optional[pathlib.Path] = None) -> Built:
    """Run the build command in tree (through sh, as a user types it); the ELF or why not.
    Its output goes to log (default: faultline-build.log next to the tree)."""
    start = time.monotonic()
    log = log or tree.parent / (tree.name + ".build.log")
    with open(log, "w") as out:
        p = subprocess.run(["sh", "-c", build_cmd], cwd=tree, stdin=subprocess.DEVNULL,
                           stdout=out, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - start
    elf = tree / elf_rel
    if p.returncode != 0:
        lines = log.read_text(errors="replace").strip().splitlines() or [""]
        first = next((x for x in lines if "error" in x.lower()), lines[-1])
        return Built(None, f"build failed (exit {p.returncode}): {first.strip()[:200]}",
                     seconds, log)
    if not elf.is_file():
        return Built(None, f"the build made no {elf_rel}", seconds, log)
    return Built(elf, "built", seconds, log)


def git(repo: pathlib.Path, *args: str) -> str:
    p = subprocess.run(["git", "-C", str(repo), *args], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise BisectError(f"git {' '.join(args)}: {p.stderr.strip() or 'failed'}")
    return p.stdout


def export(repo: pathlib.Path, rev: str, dest: pathlib.Path) -> None:
    """The tree of rev, written to dest with `git archive` (the checkout is not touched)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.Popen(["git", "-C", str(repo), "archive", "--format=tar", rev],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout,
                           stderr=subprocess.PIPE)
    archive.stdout.close()
    err = archive.stderr.read().decode(errors="replace")
    archive.stderr.close()
    if archive.wait() != 0 or untar.returncode != 0:
        raise BisectError(f"exporting {rev}: {err.strip() or untar.stderr.decode().strip()}")


# --- the search ------------------------------------------------------------------------------

@dataclasses.dataclass
class Commit:
    sha: str
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:12]


@dataclasses.dataclass
class Step:
    number: int
    commit: Commit
    role: str                   # "bad end", "good end" or "probe"
    verdict: Verdict
    reason: str
    build_s: float
    judge_s: float
    attempts: list[Attempt]
    remaining: int              # revisions still in question after this step

    def to_dict(self) -> dict:
        return {"step": self.number, "commit": self.commit.sha, "subject": self.commit.subject,
                "role": self.role, "verdict": self.verdict.value, "reason": self.reason,
                "build_s": round(self.build_s, 3), "judge_s": round(self.judge_s, 3),
                "remaining": self.remaining, "attempts": [a.to_dict() for a in self.attempts]}


@dataclasses.dataclass
class Result:
    repo: str
    good: Commit
    bad: Commit
    target: Target
    steps: list[Step]
    culprit: Optional[Commit]           # the first bad commit, when it could be named
    candidates: list[Commit]            # otherwise: the commits it is among (skips in it)
    skipped: list[Commit]
    revisions: int                      # commits between good (excluded) and bad (included)
    seconds: float
    build_cmd: str

    @property
    def exit_code(self) -> int:
        return 0 if self.culprit else 1

    def summary(self) -> str:
        if self.culprit:
            return f"first bad commit: {self.culprit.sha} {self.culprit.subject}"
        return ("could not narrow it down (skipped revisions): the first bad commit is one of " +
                ", ".join(c.short for c in self.candidates))

    def to_dict(self) -> dict:
        c = lambda x: {"commit": x.sha, "subject": x.subject}   # noqa: E731
        return {
            "format": "faultline-bisect", "version": 1, "repo": self.repo,
            "good": c(self.good), "bad": c(self.bad), "target": self.target.to_dict(),
            "culprit": c(self.culprit) if self.culprit else None,
            "candidates": [c(x) for x in self.candidates],
            "skipped": [c(x) for x in self.skipped], "revisions": self.revisions,
            "seconds": round(self.seconds, 3), "build_command": self.build_cmd,
            "steps": [s.to_dict() for s in self.steps],
        }


def _commit(repo: pathlib.Path, rev: str) -> Commit:
    line = git(repo, "log", "-1", "--format=%H%x00%s", rev + "^{commit}", "--").rstrip("\n")
    sha, _, subject = line.partition("\0")
    return Commit(sha, subject)


def revisions_between(repo: pathlib.Path, good: str, bad: str) -> tuple[Commit, Commit,
                                                                        list[Commit]]:
    """good, bad and the first-parent commits after good up to bad, oldest first."""
    g, b = _commit(repo, good), _commit(repo, bad)
    ok = subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", g.sha, b.sha])
    if ok.returncode != 0:
        raise BisectError(f"{good} is not an ancestor of {bad}")
    out = git(repo, "log", "--first-parent", "--reverse", "--format=%H%x00%s",
              f"{g.sha}..{b.sha}", "--")
    revs = [Commit(*line.split("\0", 1)) for line in out.splitlines() if line]
    if not revs:
        raise BisectError(f"{good} and {bad} are the same commit")
    return g, b, revs


Progress = Callable[[str], None]


class Bisector:
    def __init__(self, repo: pathlib.Path, target: Target, host: Host, work: pathlib.Path,
                 build_cmd: str = DEFAULT_BUILD, elf: str = DEFAULT_ELF, repeats: int = 3,
                 progress: Optional[Progress] = None):
        self.repo, self.target, self.host, self.work = repo, target, host, work
        self.build_cmd, self.elf, self.repeats = build_cmd, elf, repeats
        self.progress = progress or (lambda _msg: None)
        self.steps: list[Step] = []
        self._trees: dict[str, str] = {}      # commit -> its tree id (builds are per tree)

    def _tree_dir(self, commit: Commit) -> pathlib.Path:
        tree = self._trees.get(commit.sha) or git(self.repo, "rev-parse",
                                                  commit.sha + "^{tree}").strip()
        self._trees[commit.sha] = tree
        return self.work / "trees" / tree[:16]

    def build(self, commit: Commit) -> Built:
        """Build commit's tree once; later steps (and later bisects with the same work
        directory) reuse an ELF built from the same tree."""
        tree = self._tree_dir(commit)
        done = tree.parent / (tree.name + ".built.json")
        if done.exists():
            d = json.loads(done.read_text())
            if d["build_cmd"] == self.build_cmd and d["elf"] == self.elf:
                elf = pathlib.Path(d["path"]) if d["path"] else None
                if elf is None or elf.is_file():
                    return Built(elf, d["reason"] + " (cached)", 0.0, None)
        if tree.exists():
            shutil.rmtree(tree)
        export(self.repo, commit.sha, tree)
        built = build_tree(tree, self.build_cmd, self.elf)
        done.write_text(json.dumps({"build_cmd": self.build_cmd, "elf": self.elf,
                                    "path": str(built.elf) if built.elf else None,
                                    "reason": built.reason}))
        return built

    def visit(self, commit: Commit, role: str, remaining: Callable[[Verdict], int]) -> Step:
        self.progress(f"[{len(self.steps) + 1}] {commit.short} {commit.subject}: building")
        built = self.build(commit)
        if built.elf is None:
            step = Step(len(self.steps) + 1, commit, role, Verdict.SKIP, built.reason,
                        built.seconds, 0.0, [], 0)
        else:
            start = time.monotonic()
            j = judge(self.host, built.elf, self.target,
                      self.work / "probes" / commit.short, self.repeats)
            step = Step(len(self.steps) + 1, commit, role, j.verdict, j.reason,
                        built.seconds, time.monotonic() - start, j.attempts, 0)
        step.remaining = remaining(step.verdict)
        self.steps.append(step)
        self.progress(f"[{step.number}] {commit.short} {step.verdict.value}: {step.reason}")
        return step

    def run(self, good: str, bad: str) -> Result:
        start = time.monotonic()
        g, b, revs = revisions_between(self.repo, good, bad)
        self.progress(f"bisecting {len(revs)} revision(s) after {g.short} up to {b.short}: "
                      f"{self.target.describe()}")
        n = len(revs)
        end = self.visit(b, "bad end", lambda _v: n)
        if end.verdict is not Verdict.BAD:
            raise BisectError(f"the bad revision {b.short} is judged {end.verdict.value}: "
                              f"{end.reason}")
        start_step = self.visit(g, "good end", lambda _v: n)
        if start_step.verdict is not Verdict.GOOD:
            raise BisectError(f"the good revision {g.short} is judged "
                              f"{start_step.verdict.value}: {start_step.reason}")
        lo, hi = -1, n - 1                   # revs[lo] good (-1: g), revs[hi] bad
        skipped: set[int] = set()
        while True:
            open_ = [i for i in range(lo + 1, hi) if i not in skipped]
            if not open_:
                break
            mid = (lo + hi) // 2
            i = min(open_, key=lambda k: (abs(k - mid), -k))

            def left(v: Verdict, i=i) -> int:
                a, z = (i, hi) if v is Verdict.GOOD else (lo, i) if v is Verdict.BAD else (lo, hi)
                return z - a - sum(1 for k in skipped if a < k < z) - (v is Verdict.SKIP)

            step = self.visit(revs[i], "probe", left)
            if step.verdict is Verdict.GOOD:
                lo = i
            elif step.verdict is Verdict.BAD:
                hi = i
            else:
                skipped.add(i)
        between = [revs[k] for k in range(lo + 1, hi)]
        culprit = revs[hi] if not between else None
        result = Result(str(self.repo), g, b, self.target, self.steps, culprit,
                        [] if culprit else between + [revs[hi]],
                        [revs[k] for k in sorted(skipped)], n, time.monotonic() - start,
                        self.build_cmd)
        self.progress(result.summary())
        return result


def bisect(repo: str | pathlib.Path, good: str, bad: str, target: Target, host: Host,
           work: Optional[str | pathlib.Path] = None, build_cmd: str = DEFAULT_BUILD,
           elf: str = DEFAULT_ELF, repeats: int = 3,
           progress: Optional[Progress] = None) -> Result:
    """Find the first bad commit between good and bad. The work directory (a temporary one
    when not given, removed afterwards) holds the exported trees, their builds and probes."""
    repo = pathlib.Path(repo)
    git(repo, "rev-parse", "--git-dir")          # raises when repo is not a git repository
    if work is not None:
        pathlib.Path(work).mkdir(parents=True, exist_ok=True)
        return Bisector(repo, target, host, pathlib.Path(work), build_cmd, elf, repeats,
                        progress).run(good, bad)
    with tempfile.TemporaryDirectory(prefix="faultline-bisect-") as tmp:
        return Bisector(repo, target, host, pathlib.Path(tmp), build_cmd, elf, repeats,
                        progress).run(good, bad)


def predicate(tree: str | pathlib.Path, target: Target, host: Host,
              build_cmd: str = DEFAULT_BUILD, elf: str = DEFAULT_ELF, repeats: int = 3,
              progress: Optional[Progress] = None) -> tuple[Verdict, str]:
    """Build the tree in place and judge it: the verdict `git bisect run` wants."""
    tree = pathlib.Path(tree)
    say = progress or (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="faultline-bisect-run-") as tmp:
        built = build_tree(tree, build_cmd, elf, pathlib.Path(tmp) / "build.log")
        if built.elf is None:
            say(f"skip: {built.reason}")
            return Verdict.SKIP, built.reason
        j = judge(host, built.elf, target, pathlib.Path(tmp), repeats)
    say(f"{j.verdict.value}: {j.reason}")
    return j.verdict, j.reason


# --- outputs ---------------------------------------------------------------------------------

def result_text(r: Result) -> str:
    lines = [f"bisect: {r.target.describe()}",
             f"  good {r.good.short} {r.good.subject}", f"  bad  {r.bad.short} {r.bad.subject}"]
    for s in r.steps:
        lines.append(f"  [{s.number}] {s.commit.short} {s.role:8} {s.verdict.value:4}  "
                     f"{s.reason}  (build {s.build_s:.1f}s, judge {s.judge_s:.1f}s, "
                     f"{s.remaining} left)")
    if r.skipped:
        lines.append("  skipped: " + ", ".join(f"{c.short} {c.subject}" for c in r.skipped))
    lines.append(r.summary())
    return "\n".join(lines) + "\n"


def write_html(r: Result, out_dir: str | pathlib.Path) -> pathlib.Path:
    """The bisect report: the culprit and every step. Returns the index.html path."""
    import datetime
    from .html_report import environment

    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    page = environment().get_template("bisect.html").render(
        r=r, generated=datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"),
        verdict_class={"good": "expected", "bad": "error", "skip": "warning"})
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    (out / "bisect.json").write_text(json.dumps(r.to_dict(), indent=2) + "\n", encoding="utf-8")
    return index


# --- command line (wired into `python3 -m analysis` by cli.py) ------------------------------

def add_parsers(sub) -> None:
    """The `bisect` and `bisect-run` subcommands."""
    b = sub.add_parser("bisect", help="find the commit that introduced a finding")
    b.add_argument("--repo", required=True, metavar="DIR", help="the kernel's git repository")
    b.add_argument("--good", required=True, metavar="REV", help="a revision without the finding")
    b.add_argument("--bad", required=True, metavar="REV", help="a revision with it")
    b.add_argument("--out", metavar="DIR", help="write the HTML report (index.html, bisect.json)")
    b.add_argument("--work", metavar="DIR",
                   help="keep exported trees, builds and probes here (reused by a later bisect)")
    r = sub.add_parser("bisect-run", help="`git bisect run` predicate: build and judge the "
                                          "current tree; exit 0 good, 1 bad, 125 skip")
    r.add_argument("--tree", default=".", metavar="DIR",
                   help="the checkout to build and judge (default: the current directory)")
    for p in (b, r):
        what = p.add_mutually_exclusive_group(required=True)
        what.add_argument("--finding", metavar="FINGERPRINT",
                          help="bad = this finding (of --db) shows")
        what.add_argument("--scenario", metavar="S",
                          help="bad = a sweep of S shows any unsuppressed error finding")
        p.add_argument("--db", metavar="FILE", help="the database the finding comes from")
        p.add_argument("--site", metavar="FUNC",
                       help="--scenario: sweep only the faults of FUNC's allocations; "
                            "--finding: the fault's function (default: from --db)")
        p.add_argument("--fail", type=int, metavar="K",
                       help="--finding: fail the K-th attempt from --site (default: from --db)")
        p.add_argument("--fault", choices=("once", "persist", "both"), default="once",
                       help="--scenario: fault mode of the sweep (default once)")
        p.add_argument("--max-n", type=int, metavar="N", help="--scenario: bound the sweep")
        p.add_argument("--build-cmd", default=DEFAULT_BUILD, metavar="CMD",
                       help=f"how a tree is built, run by sh in it (default: {DEFAULT_BUILD!r})")
        p.add_argument("--elf", default=DEFAULT_ELF, metavar="PATH",
                       help=f"the kernel ELF the build makes, in the tree (default: {DEFAULT_ELF})")
        p.add_argument("--injector", metavar="PATH",
                       help="the injector (default: build/injector next to this analysis)")
        p.add_argument("--mode", choices=("fresh", "reset"), default="reset",
                       help="injector exec mode (default reset)")
        p.add_argument("-j", "--jobs", type=int, default=2, metavar="J", help="sweep workers")
        p.add_argument("--timeout", type=float, metavar="SEC", help="per-run timeout")
        p.add_argument("--repeats", type=int, default=3, metavar="R",
                       help="probes of a flaky-looking revision, majority decides (default 3)")
        p.add_argument("--suppressions", metavar="FILE",
                       help="--scenario: class:glob entries not counted as bad (default: the "
                            "profile's)")
        p.add_argument("--profile", metavar="FILE",
                       help="the kernel profile (docs/profile.md): the machine the injector "
                            "boots, the allocator functions, suppressions")
        p.add_argument("--json", metavar="OUT", help="also write the result as JSON (- = stdout)")


def _target(args, host: Host) -> Target:
    if args.finding:
        if not args.db:
            raise BisectError("--finding needs --db FILE, the database it comes from")
        t = target_from_finding(args.db, args.finding, host.norm)
        if args.site:
            t.site, t.no_fault = args.site, False
        if args.fail:
            t.occurrence = args.fail
        if t.site and not t.occurrence:
            raise BisectError("--site with a finding that showed without a fault needs --fail K")
        return t
    if args.fail:
        raise BisectError("--fail goes with --finding (a scenario is swept)")
    return Target(scenario=args.scenario, site=args.site or "", fault=args.fault,
                  max_n=args.max_n)


def _host(args) -> Host:
    from .suppressions import load
    injector = pathlib.Path(args.injector) if args.injector else default_injector()
    if not os.access(injector, os.X_OK):
        raise BisectError(f"no injector at {injector} (build it, or give --injector)")
    profile = load_or_default(args.profile)
    suppressions = args.suppressions or profile.suppressions
    return Host(injector=injector, jobs=max(1, args.jobs), timeout=args.timeout,
                mode=args.mode, rules=load(suppressions) if suppressions else [],
                profile=profile)


def run_cli(args) -> int:
    """`bisect`: 0 culprit named, 1 not narrowed down, 2 error. `bisect-run`: 0 good, 1 bad,
    125 skip, 128 error (git bisect run stops on 128 and above)."""
    import sys
    predicate_mode = args.command == "bisect-run"
    quiet_stdout = predicate_mode or args.json == "-"     # stdout is for the verdict / JSON
    say = lambda msg: print(msg, file=sys.stderr if quiet_stdout else sys.stdout,  # noqa: E731
                            flush=True)
    host = _host(args)
    target = _target(args, host)
    if predicate_mode:
        verdict, reason = predicate(args.tree, target, host, args.build_cmd, args.elf,
                                    args.repeats, say)
        if args.json:
            _write_json(args.json, {"verdict": verdict.value, "reason": reason,
                                    "target": target.to_dict()})
        return verdict.exit_code
    result = bisect(args.repo, args.good, args.bad, target, host, args.work, args.build_cmd,
                    args.elf, args.repeats, say)
    if args.json != "-":
        print(result_text(result), end="")
    if args.out:
        print(f"report: {write_html(result, args.out)}")
    if args.json:
        _write_json(args.json, result.to_dict())
    return result.exit_code


def _write_json(path: str, data: dict) -> None:
    import sys
    text = json.dumps(data, indent=2) + "\n"
    if path == "-":
        sys.stdout.write(text)
    else:
        pathlib.Path(path).write_text(text, encoding="utf-8")
