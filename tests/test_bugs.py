"""The seeded-bug catalogue (sample-kernel/bugs/, docs/bugs.md): each bug, built alone into a
copy of the kernel, is found with exactly the (class, function) findings its .expect file
lists - nothing missing, nothing more - and the clean kernel shows no finding at all in the
same sweeps. The last test prints the catalogue's recall and false positives.

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
           "unwind-order", "refcount", "panic", "crash", "hang"}


def expect(name):
    return json.loads((BUGS / f"{name}.expect").read_text())


def sweep_specs(e):
    """The injector sweep options of an .expect's sweeps, and the timeout of each."""
    return [(sweep_argv(s["scenario"], s.get("site", ""), s.get("fault", "once"),
                        s.get("max_n")), s.get("timeout")) for s in e["sweeps"]]


@dataclasses.dataclass
class Outcome_:
    expected: set
    found: set
    infra: int
    seconds: float

    @property
    def missed(self):
        return self.expected - self.found

    @property
    def extra(self):
        return self.found - self.expected


def sweep_and_audit(elf, specs, db):
    host = Host(injector=BUILD / "injector", jobs=2)
    for argv, timeout in specs:
        run = host.command("sweep", elf, db, *argv)
        if timeout:
            run += ["--timeout", str(timeout)]
        c = call(run)
        assert c.code in (0, 1), f"{' '.join(run)}\n{c.output[-2000:]}"
    audit = audit_of(db, host)
    found = {(u.class_text, u.func) for u in audit.findings}
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
        _results[name] = Outcome_({(f["class"], f["function"]) for f in e["findings"]},
                                  found, infra, time.monotonic() - start)
    return _results[name]


def test_catalogue_has_ten_bugs_covering_every_finding_class():
    assert len(NAMES) >= 10, NAMES
    covered = {f["class"] for n in NAMES for f in expect(n)["findings"]}
    assert CLASSES <= covered, f"no seeded bug produces {sorted(CLASSES - covered)}"
    for n in NAMES:
        e = expect(n)
        assert e["sweeps"] and e["findings"], n
        for f in e["findings"]:
            assert FindingClass.parse(f["class"]) is not FindingClass.UNKNOWN, (n, f)


@pytest.mark.parametrize("name", NAMES)
def test_seeded_bug_alone_gives_exactly_its_expected_findings(name, work):
    r = check(name, work)
    assert r.infra == 0
    assert not r.missed, f"{name}: not found: {sorted(r.missed)}; found {sorted(r.found)}"
    assert not r.extra, f"{name}: more than its .expect lists: {sorted(r.extra)}"


def test_clean_kernel_has_no_finding_in_any_catalogue_sweep(kernel_elf, work):
    specs = {}
    for n in NAMES:
        for argv, timeout in sweep_specs(expect(n)):
            specs.setdefault(tuple(argv), timeout)
    found, infra = sweep_and_audit(kernel_elf, [(list(a), t) for a, t in specs.items()],
                                   work / "clean.db")
    assert infra == 0
    assert not found, f"the clean kernel shows {sorted(found)}"


def test_two_bugs_build_into_one_kernel_and_both_are_found(work):
    a, b = "kvm-panics", "copy-keeps-frame"
    elf = build_bug(f"{a},{b}", work)
    specs = sweep_specs(expect(a)) + sweep_specs(expect(b))
    found, _ = sweep_and_audit(elf, specs, work / "pair.db")
    want = {(f["class"], f["function"]) for n in (a, b) for f in expect(n)["findings"]}
    assert want <= found


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


def test_catalogue_summary_recall_and_false_positives(work, capsys):
    """Recall = expected (class, function) findings found / expected; false positives =
    findings reported beyond a bug's .expect, plus any finding on the clean kernel."""
    rows = [(n, check(n, work)) for n in NAMES]
    want = sum(len(r.expected) for _, r in rows)
    hit = sum(len(r.expected & r.found) for _, r in rows)
    fp = sum(len(r.extra) for _, r in rows)
    lines = ["", "seeded-bug catalogue:",
             f"  {'bug':24} {'expected':>8} {'found':>6} {'missed':>6} {'extra':>6} {'time s':>7}"]
    for n, r in rows:
        lines.append(f"  {n:24} {len(r.expected):8} {len(r.expected & r.found):6} "
                     f"{len(r.missed):6} {len(r.extra):6} {r.seconds:7.1f}")
    lines.append(f"  recall {hit}/{want} = {100.0 * hit / max(want, 1):.0f}%, "
                 f"false positives {fp}, bugs fully found "
                 f"{sum(1 for _, r in rows if not r.missed)}/{len(rows)}")
    with capsys.disabled():
        print("\n".join(lines))
    assert hit == want and fp == 0
