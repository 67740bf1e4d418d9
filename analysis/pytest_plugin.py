"""faultline as a pytest plugin: a kernel project's own pytest suite gates on its sweeps.

Load it with `-p analysis.pytest_plugin` (the faultline checkout on PYTHONPATH) or from a
conftest.py with `pytest_plugins = ["analysis.pytest_plugin"]`; docs/pytest.md shows both.

- Given a kernel (`--faultline-kernel`, or `[kernel] elf` of the kernel profile given with
  `--faultline-profile`, docs/profile.md), the session holds one test item per
  (scenario, fault mode), `faultline::<scenario>[<fault mode>]`. Each sweeps its scenario
  into a database of its own in pytest's cache directory, so a re-run resumes where the last
  stopped and runs nothing it already ran, and no two items (nor two pytest-xdist workers)
  ever share a database. An item fails with the unique findings (title, function, file:line,
  repro) or with the reason its sweep is incomplete; it is skipped only when the kernel
  does not offer its scenario.
- At the end of the session the databases of the items that ran are merged into one and
  the HTML report is written from it (under xdist, by the controller).
- The `faultline` fixture runs one fault or sweeps one scenario for a test written by hand
  and returns typed results (analysis/gate.py).

Everything is library (analysis.gate, analysis.merge); this module only speaks pytest.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
import re
from typing import Optional

import pytest

from . import html_report
from .bisect import audit_of
from .db import Database, DatabaseError
from .gate import FAULTS, MODES, Gate, GateError, RunResult, SweepResult, sweepable
from .merge import MergeError, merge
from .profile import Profile, ProfileError, load_or_default
from .suppressions import SuppressionError, load
from .text import visible

FAULT_CHOICES = (*FAULTS, "both")
DB_PROPERTY = "faultline_db"


@dataclasses.dataclass
class Settings:
    gate: Gate
    scenarios: list[str]                # ["all"] = what the kernel offers
    faults: tuple[str, ...]
    cache: pathlib.Path                 # databases of this kernel build
    report: pathlib.Path                # the session's merged database and HTML report


_SETTINGS = pytest.StashKey[Settings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("faultline", "faultline fault-injection sweeps")
    g.addoption("--faultline-profile", metavar="FILE",
                help="the kernel profile (docs/profile.md): its kernel, sweep, analysis and "
                     "pytest sections give defaults for the options below; the file goes to "
                     "the injector and the analysis as --profile")
    g.addoption("--faultline-kernel", metavar="ELF", help="the kernel to sweep")
    g.addoption("--faultline-scenarios", metavar="S[,S...]",
                help="scenarios to sweep, one item per scenario and fault mode; 'all' (the "
                     "default) = every scenario the kernel offers but its test-* ones, "
                     "'none' = no sweep items (the faultline fixture only)")
    g.addoption("--faultline-mode", choices=MODES,
                help="how runs are executed (injector --mode; default warm)")
    g.addoption("--faultline-fault", choices=FAULT_CHOICES,
                help="fault modes to sweep, one item each (default both)")
    g.addoption("--faultline-suppressions", metavar="FILE",
                help="known findings that do not fail an item (class:glob entries)")
    g.addoption("--faultline-jobs", type=int, metavar="J",
                help="QEMUs per sweep (default: cores / pytest-xdist workers)")
    g.addoption("--faultline-min-error-coverage", type=float, metavar="P",
                help="an item fails unless its sweep reached P%% of its error-path lines "
                     "(a kernel built with coverage: docs/analysis.md)")


def _profile(path: Optional[str]) -> Profile:
    try:
        return load_or_default(path)
    except ProfileError as e:
        raise pytest.UsageError(f"--faultline-profile {e}") from e


def _choice(name: str, value: str, allowed: tuple[str, ...], source: str) -> str:
    if value not in allowed:
        raise pytest.UsageError(f"{source}: {name} is one of {', '.join(allowed)}, "
                                f"not {value!r}")
    return value


def _kernel_digest(elf: pathlib.Path) -> str:
    try:
        return hashlib.sha256(elf.read_bytes()).hexdigest()[:16]
    except OSError as e:
        raise pytest.UsageError(f"--faultline-kernel {elf}: {e.strerror}") from e


def _workers() -> int:
    try:
        return max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    except ValueError:
        return 1


def _scenarios(names: list[str]) -> list[str]:
    """The scenarios asked for: `all` or `none` alone, or names (none empty)."""
    if any(not s for s in names) or (len(names) > 1 and {"all", "none"} & set(names)):
        raise pytest.UsageError(f"faultline scenarios: names with none empty, or 'all' or "
                                f"'none' alone, not {','.join(names)!r}")
    return [] if names == ["none"] else names


def _jobs(given: Optional[int]) -> int:
    if given is None:
        return max(1, (os.cpu_count() or 1) // _workers())
    if given < 1:
        raise pytest.UsageError(f"--faultline-jobs must be at least 1, not {given}")
    return given


def _gate(config: pytest.Config, profile: Profile, source: str) -> Optional[Gate]:
    """The kernel's gate as the options and the profile set it up (an option wins); None
    when neither names a kernel."""
    opt = config.getoption
    mode = _choice("mode", opt("faultline_mode") or profile.mode or "warm", MODES, source)
    suppressions = opt("faultline_suppressions") or profile.suppressions
    if suppressions:
        try:
            load(suppressions)
        except SuppressionError as e:
            raise pytest.UsageError(f"--faultline-suppressions {e}") from e
    kernel = opt("faultline_kernel") or profile.elf
    if not kernel:
        return None
    coverage = opt("faultline_min_error_coverage")
    gate = Gate(pathlib.Path(kernel).resolve(), mode,
                pathlib.Path(suppressions) if suppressions else None,
                profile.path, _jobs(opt("faultline_jobs")),
                min_error_coverage=profile.min_error_coverage if coverage is None else coverage)
    try:
        gate.offered()                      # refuses what is not a kernel before any test
    except GateError as e:
        raise pytest.UsageError(f"--faultline-kernel {gate.kernel}: {e}") from e
    return gate


def _settings(config: pytest.Config) -> Optional[Settings]:
    """What the options and the profile ask for; None when they name no kernel."""
    opt = config.getoption
    profile = _profile(opt("faultline_profile"))
    given = opt("faultline_scenarios")
    scenarios = _scenarios(given.split(",") if given else list(profile.scenarios) or ["all"])
    source = f"--faultline-profile {profile.path}" if profile.path else "faultline"
    fault = _choice("fault", opt("faultline_fault") or profile.fault or "both",
                    FAULT_CHOICES, source)
    gate = _gate(config, profile, source)
    if gate is None:
        return None
    cache = getattr(config, "cache", None)
    if cache is None:
        raise pytest.UsageError("the faultline plugin keeps its databases in pytest's cache "
                                "directory: do not disable the cacheprovider plugin")
    root = cache.mkdir("faultline")
    return Settings(gate, scenarios, FAULTS if fault == "both" else (fault,),
                    root / _kernel_digest(gate.kernel), root / "session")


def pytest_configure(config: pytest.Config) -> None:
    settings = _settings(config)
    if settings is None:
        return                              # no kernel: no items, and the fixture says so
    config.stash[_SETTINGS] = settings
    if not hasattr(config, "workerinput"):  # the xdist controller, or no xdist
        config.pluginmanager.register(SessionReport(settings.report), "faultline-report")


# --- the sweep items ---------------------------------------------------------------------

def _file_name(scenario: str) -> str:
    """A scenario name (from the kernel ELF: untrusted) as a safe file name."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", scenario)
    if safe != scenario or not safe:
        safe += "-" + hashlib.sha256(scenario.encode()).hexdigest()[:8]
    return safe


class SweepFailed(Exception):
    def __init__(self, result: SweepResult):
        super().__init__(result.verdict)
        self.result = result


class SweepItem(pytest.Item):
    def __init__(self, *, scenario: str, fault: str, offered: list[str], **kw):
        super().__init__(**kw)
        self.scenario, self.fault = scenario, fault
        if scenario not in offered:
            self.add_marker(pytest.mark.skip(reason=visible(
                f"the kernel offers no scenario {scenario!r} (it offers: "
                f"{', '.join(offered)})")))

    def runtest(self) -> None:
        settings = self.config.stash[_SETTINGS]
        gate = settings.gate
        settings.cache.mkdir(parents=True, exist_ok=True)
        db = settings.cache / f"{_file_name(self.scenario)}.{self.fault}.{gate.mode}.db"
        result = gate.sweep(self.scenario, db, self.fault)
        self.user_properties += [(DB_PROPERTY, str(db)),
                                 ("faultline_verdict", result.verdict),
                                 ("faultline_runs", result.runs),
                                 ("faultline_runs_executed", result.executed)]
        if not result.passed:
            raise SweepFailed(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, SweepFailed):
            report = self.config.stash[_SETTINGS].report / "index.html"
            return (excinfo.value.result.explain() +
                    f"\n  report: {visible(str(report))} (written when the session ends)")
        if isinstance(excinfo.value, (GateError, MergeError)):
            return visible(str(excinfo.value))
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, 0, f"faultline {self.scenario} [{self.fault}]"


class Sweeps(pytest.Collector):
    """The session's sweep items: one per (scenario, fault mode)."""

    def collect(self):
        settings = self.config.stash[_SETTINGS]
        offered = settings.gate.offered()
        names = sweepable(offered) if settings.scenarios == ["all"] else settings.scenarios
        for scenario in names:
            for fault in settings.faults:
                # a name from the ELF is untrusted: shown with its controls escaped
                yield SweepItem.from_parent(self, name=visible(f"{scenario}[{fault}]"),
                                            path=settings.gate.kernel, scenario=scenario,
                                            fault=fault, offered=offered)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    settings = collector.config.stash.get(_SETTINGS, None)
    if isinstance(collector, pytest.Session) and settings and settings.scenarios:
        report = outcome.get_result()
        report.result.append(Sweeps.from_parent(collector, name="faultline",
                                                nodeid="faultline"))


# --- the session's report ----------------------------------------------------------------

class SessionReport:
    """Merges the databases of the items that ran (on any xdist worker) and writes the
    HTML report from the merged one."""

    def __init__(self, out: pathlib.Path):
        self.out = out
        self.dbs: dict[str, None] = {}
        self.written: Optional[pathlib.Path] = None
        self.error: Optional[str] = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == DB_PROPERTY and pathlib.Path(value).exists():
                self.dbs[value] = None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.dbs:
            return
        settings = session.config.stash[_SETTINGS]
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            merged = merge(sorted(self.dbs), self.out / "faultline.db")
            audit = audit_of(merged, settings.gate.host())
            with Database(merged) as db:
                self.written = html_report.write_report(audit, db, self.out)
        except (MergeError, DatabaseError, OSError) as e:
            self.error = str(e)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.written:
            terminalreporter.write_line(
                f"faultline: {len(self.dbs)} sweep(s) merged into "
                f"{visible(str(self.out / 'faultline.db'))}; report: "
                f"{visible(str(self.written))}")
        elif self.error:
            terminalreporter.write_line(f"faultline: no report: {visible(self.error)}",
                                        red=True)


# --- the fixture -------------------------------------------------------------------------

@dataclasses.dataclass
class Faultline:
    """What the `faultline` fixture gives a test: the kernel's gate, with a fresh database
    in the test's temporary directory for each call."""
    gate: Gate
    work: pathlib.Path
    calls: int = 0

    def _db(self, what: str) -> pathlib.Path:
        self.calls += 1
        return self.work / f"{self.calls}.{what}.db"

    def run(self, scenario: str, fail: int, site: str = "", persist: bool = False
            ) -> RunResult:
        """One run of scenario with its fail-th allocation (from site, if given) failing."""
        return self.gate.run(scenario, fail, self._db("run"), site, persist)

    def sweep(self, scenario: str, fault: str = "once", site: str = "",
              max_n: Optional[int] = None) -> SweepResult:
        """Sweep one scenario in one fault mode (optionally only the allocations from
        site, and only up to N = max_n)."""
        return self.gate.sweep(scenario, self._db("sweep"), fault, site, max_n)


@pytest.fixture
def faultline(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Faultline:
    settings = request.config.stash.get(_SETTINGS, None)
    if settings is None:
        pytest.fail("the faultline fixture needs a kernel: --faultline-kernel ELF, or "
                    "--faultline-profile FILE whose [kernel] names its elf",
                    pytrace=False)
    return Faultline(settings.gate, tmp_path)
