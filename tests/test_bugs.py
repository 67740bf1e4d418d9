"""The seeded-bug catalogue (sample-kernel/bugs/, docs/bugs.md): each bug, built alone into a
copy of the kernel, is found as exactly one unique finding (two where its .expect says the
patch makes two independent mistakes) named for the function its patch changes (`root`,
written by hand from the patch), with the symptom classes its .expect lists under it; the
clean kernel shows no finding at all in the same sweeps. The last test prints the catalogue.

Sweeps are the small ones each .expect names (one scenario, usually one fault site, reset
mode, two workers), so the whole file takes seconds, not minutes."""
import dataclasses
import json
import os
import subprocess
import time

import pytest
from analysis.bisect import Host, audit_of, call, sweep_argv
from analysis.model import FindingClass, Outcome
from conftest import BUILD, ROOT

BUGS = ROOT / "sample-kernel" / "bugs"
NAMES = sorted(p.stem for p in BUGS.glob("*.patch"))
# every class the tracer reports for a kernel bug (accounting is the kernel's own books
# disagreeing with its records: a broken port, not a bug a patch to the kernel seeds)
CLASSES = {"leak", "double-free", "invalid-free", "mismatched-free", "unbalanced-unwind",
           "unwind-order", "refcount", "panic", "crash", "hang", "error-swallowed",
           "not-atomic", "resource-leak", "use-after-free"}


def expect(name):
    return json.loads((BUGS / f"{name}.expect").read_text())


def sweep_specs(e):
    """The injector sweep options of an .expect's sweeps, and the timeout of each."""
    return [(sweep_argv(s["scenario"], s.get("site", ""), s.get("fault", "once"),
                        s.get("max_n")) + (["--guard"] if s.get("guard") else []),
             s.get("timeout")) for s in e["sweeps"]]


@dataclasses.dataclass
class Outcome_:
    root: set                   # the functions the patch changes
    mistakes: int               # unique findings the patch must give
    symptoms: set               # the symptom classes expected under them
    findings: list              # (function, title, symptom classes) of each unique finding
    infra: int
    seconds: float

    @property
    def named(self):
        return sum(1 for func, _, _ in self.findings if func in self.root)

    @property
    def found_symptoms(self):
        return {c for _, _, classes in self.findings for c in classes}


def sweep_and_audit(elf, specs, db):
    """Guard-mode sweeps go to a database of their own: a run's key does not say whether
    guard mode was on, so one database would take a guard sweep's runs as done."""
    guarded = [(a, t) for a, t in specs if "--guard" in a]
    plain = [(a, t) for a, t in specs if "--guard" not in a]
    found, infra = [], 0
    for part, path in ((plain, db), (guarded, db.with_suffix(".guard.db"))):
        if part:
            f, i = sweep_and_audit_one(elf, part, path)
            found += f
            infra += i
    return found, infra


def sweep_and_audit_one(elf, specs, db):
    host = Host(injector=BUILD / "injector", jobs=2)
    for argv, timeout in specs:
        run = host.command("sweep", elf, db, *argv)
        if timeout:
            run += ["--timeout", str(timeout)]
        c = call(run)
        assert c.code in (0, 1), f"{' '.join(run)}\n{c.output[-2000:]}"
    audit = audit_of(db, host)
    found = [(u.func, u.title, {o.class_text for o in u.symptoms}) for u in audit.findings]
    return found, sum(1 for r in audit.runs if r.outcome is Outcome.INFRA)


_results = {}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("bugs")


def build_bug(names, work):
    env = dict(os.environ, BUILD=str(BUILD), BUGS_OUT=str(work / "kernels"))
    p = subprocess.run([str(BUGS / "build.sh"), names], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout.strip().splitlines()[-1]


def check(name, work):
    if name not in _results:
        start = time.monotonic()
        e = expect(name)
        elf = build_bug(name, work)
        found, infra = sweep_and_audit(elf, sweep_specs(e), work / f"{name}.db")
        _results[name] = Outcome_(set(e["root"]), e.get("mistakes", 1), set(e["symptoms"]),
                                  found, infra, time.monotonic() - start)
    return _results[name]


def test_catalogue_has_ten_bugs_covering_every_finding_class(work):
    assert len(NAMES) >= 10, NAMES
    covered = {c for n in NAMES for c in expect(n)["symptoms"]}
    assert CLASSES <= covered, f"no seeded bug produces {sorted(CLASSES - covered)}"
    for n in NAMES:
        e = expect(n)
        assert e["sweeps"] and e["root"] and e["symptoms"], n
        for c in e["symptoms"]:
            assert FindingClass.parse(c) is not FindingClass.UNKNOWN, (n, c)


@pytest.mark.parametrize("name", NAMES)
def test_seeded_bug_is_one_finding_named_for_the_function_its_patch_changes(name, work):
    r = check(name, work)
    assert r.infra == 0
    assert len(r.findings) == r.mistakes, f"{name}: {[t for _, t, _ in r.findings]}"
    assert r.named == r.mistakes, \
        f"{name}: named {[f for f, _, _ in r.findings]}, the patch changes {sorted(r.root)}"
    assert r.found_symptoms == r.symptoms, f"{name}: symptoms {sorted(r.found_symptoms)}"


def test_clean_kernel_has_no_finding_in_any_catalogue_sweep(kernel_elf, work):
    specs = {}
    for n in NAMES:
        for argv, timeout in sweep_specs(expect(n)):
            specs.setdefault(tuple(argv), timeout)
    found, infra = sweep_and_audit(kernel_elf, [(list(a), t) for a, t in specs.items()],
                                   work / "clean.db")
    assert infra == 0
    assert not found, f"the clean kernel shows {[t for _, t, _ in found]}"


def test_two_bugs_build_into_one_kernel_and_both_are_found(work):
    a, b = "kvm-panics", "copy-keeps-frame"
    elf = build_bug(f"{a},{b}", work)
    specs = sweep_specs(expect(a)) + sweep_specs(expect(b))
    found, _ = sweep_and_audit(elf, specs, work / "pair.db")
    assert sorted(func for func, _, _ in found) == sorted(
        [*expect(a)["root"], *expect(b)["root"]])


def test_build_refuses_an_unknown_bug_and_leaves_the_clean_sources_alone(work):
    before = subprocess.run(["git", "status", "--porcelain", "--", "sample-kernel/kernel"],
                            cwd=ROOT, capture_output=True, text=True).stdout
    env = dict(os.environ, BUILD=str(BUILD), BUGS_OUT=str(work / "kernels"))
    p = subprocess.run([str(BUGS / "build.sh"), "no-such-bug"], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    assert p.returncode == 2 and "no seeded bug 'no-such-bug'" in p.stderr
    build_bug(NAMES[0], work)
    after = subprocess.run(["git", "status", "--porcelain", "--", "sample-kernel/kernel"],
                           cwd=ROOT, capture_output=True, text=True).stdout
    assert after == before


def test_catalogue_summary_one_finding_per_bug_named_for_its_root(work, capsys):
    """Per bug: its unique findings, whether they name the function the patch changes, and
    the symptom classes listed under them (expected / found)."""
    rows = [(n, check(n, work)) for n in NAMES]
    lines = ["", "seeded-bug catalogue:",
             f"  {'bug':26} {'findings':>8} {'root named':>10} {'symptoms':>8} {'time s':>7}"
             "  function named"]
    for n, r in rows:
        lines.append(f"  {n:26} {len(r.findings):8} {f'{r.named}/{r.mistakes}':>10} "
                     f"{f'{len(r.found_symptoms & r.symptoms)}/{len(r.symptoms)}':>8} "
                     f"{r.seconds:7.1f}  {', '.join(f for f, _, _ in r.findings)}")
    named = sum(1 for _, r in rows if r.named == r.mistakes == len(r.findings))
    lines.append(f"  root named {named}/{len(rows)} bugs, findings "
                 f"{sum(len(r.findings) for _, r in rows)} for "
                 f"{sum(r.mistakes for _, r in rows)} mistakes")
    with capsys.disabled():
        print("\n".join(lines))
    assert named == len(rows)
