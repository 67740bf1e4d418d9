"""Regression bisection (analysis/bisect.py): in a temporary git history of the sample kernel
where one commit applies a seeded bug among unrelated commits and one commit does not build,
`python3 -m analysis bisect` names the bug's commit and reports the skip, by scenario and by
finding fingerprint; `bisect-run` answers git bisect run with 0 / 1 / 125 (128 on misuse) and
git bisect run with it finds the same commit. The search itself (skips, flaky repeats) is
also checked with a scripted judge, without building anything."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
from analysis import bisect as B
from conftest import BUILD, ROOT

BUG = "kvm-panics"          # one panic when the first vm_create of boot fails: a tiny probe


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def commit_all(repo, message):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def init_repo(path):
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "dev")
    return path


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """base (good) - README - broken build - fix - the bug - README (bad)."""
    repo = init_repo(tmp_path_factory.mktemp("hist") / "kernel")
    shutil.copy(ROOT / "Makefile", repo / "Makefile")
    shutil.copytree(ROOT / "sample-kernel", repo / "sample-kernel",
                    ignore=shutil.ignore_patterns("bugs"))
    c = {"base": commit_all(repo, "kernel: the clean base")}
    (repo / "README").write_text("a small kernel\n")
    c["readme"] = commit_all(repo, "README: say what this is")
    string_c = repo / "sample-kernel" / "kernel" / "string.c"
    clean = string_c.read_text()
    string_c.write_text(clean + "int half_written(void) { return }\n")
    c["broken"] = commit_all(repo, "string: start a helper")
    string_c.write_text(clean)
    c["fixed"] = commit_all(repo, "string: drop the unfinished helper")
    subprocess.run(["git", "apply", str(ROOT / "sample-kernel" / "bugs" / f"{BUG}.patch")],
                   cwd=repo, check=True)
    c["bug"] = commit_all(repo, "vm: panic when the kernel page table cannot be allocated")
    (repo / "README").write_text("a small kernel for fault injection\n")
    c["head"] = commit_all(repo, "README: more words")
    return repo, c


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("bisect-work")


def analysis(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})))


def test_bisect_by_scenario_names_the_bug_commit_and_reports_the_skip(history, work,
                                                                      tmp_path):
    repo, c = history
    p = analysis("bisect", "--repo", repo, "--good", c["base"], "--bad", c["head"],
                 "--scenario", "boot", "--site", "vm_create", "--work", work,
                 "--out", tmp_path / "report", "--json", tmp_path / "b.json")
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"first bad commit: {c['bug']}" in p.stdout
    r = json.loads((tmp_path / "b.json").read_text())
    assert r["culprit"]["commit"] == c["bug"]
    assert [s["commit"] for s in r["skipped"]] == [c["broken"]]
    verdicts = {s["commit"]: s["verdict"] for s in r["steps"]}
    assert verdicts[c["head"]] == "bad" and verdicts[c["base"]] == "good"
    assert verdicts[c["broken"]] == "skip" and verdicts[c["bug"]] == "bad"
    assert "build failed" in next(s["reason"] for s in r["steps"] if s["commit"] == c["broken"])
    html = (tmp_path / "report" / "index.html").read_text()
    assert c["bug"] in html and "vm: panic when the kernel page table" in html
    assert html.count('class="step ') == len(r["steps"])


def test_bisect_by_fingerprint_locates_the_fault_by_name_and_finds_the_same_commit(
        history, work, tmp_path):
    repo, c = history
    elf = subprocess.run([str(ROOT / "sample-kernel" / "bugs" / "build.sh"), BUG], cwd=ROOT,
                         env=dict(os.environ, BUILD=str(BUILD), BUGS_OUT=str(tmp_path)),
                         capture_output=True, text=True, check=True).stdout.split()[-1]
    db = tmp_path / "found.db"
    subprocess.run([str(BUILD / "injector"), "sweep", "--kernel", elf, "--scenario", "boot",
                    "--mode", "reset", "-j", "2", "--quiet", "--db", str(db)],
                   capture_output=True)
    f = json.loads(analysis("findings", "--db", db, "--json", "-").stdout)["findings"]
    assert [x["class"] for x in f] == ["panic"]
    t = B.target_from_finding(db, f[0]["fingerprint"])
    assert (t.scenario, t.site, t.occurrence) == ("boot", "vm_create", 1)
    p = analysis("bisect", "--repo", repo, "--good", c["base"], "--bad", c["head"],
                 "--finding", f[0]["fingerprint"], "--db", db, "--work", work, "--json", "-")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["culprit"]["commit"] == c["bug"]
    assert r["target"]["fingerprint"] == f[0]["fingerprint"]


def test_bisect_run_predicate_exit_codes_and_git_bisect_run(history, tmp_path):
    repo, c = history
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    pred = ["bisect-run", "--scenario", "boot", "--site", "vm_create",
            "--injector", BUILD / "injector"]
    for rev, code in ((c["broken"], 125), (c["base"], 0), (c["bug"], 1)):
        git(clone, "checkout", "-q", rev)
        p = analysis(*pred, cwd=clone)
        assert p.returncode == code, (rev, p.stdout, p.stderr)
    assert analysis("bisect-run", cwd=clone).returncode == 128          # misuse stops git
    assert analysis("bisect-run", "--scenario", "boot", "--injector", tmp_path / "none",
                    cwd=clone).returncode == 128
    git(clone, "checkout", "-q", "main")
    git(clone, "bisect", "start", c["head"], c["base"])
    run = subprocess.run(["git", "bisect", "run", sys.executable, "-m", "analysis",
                          *map(str, pred)], cwd=clone, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=600)
    assert f"{c['bug']} is the first bad commit" in run.stdout, run.stdout + run.stderr


# --- the search, with a scripted judge ----------------------------------------------------

def scripted(monkeypatch, verdicts):
    """Bisector without builds: a commit's subject names its verdict."""
    def build(self, commit):
        return B.Built(pathlib.Path(commit.subject), "built", 0.0, None)

    def judge(host, elf, target, work, repeats=3):
        return B.Judgement(verdicts[elf.name], "scripted", [])

    monkeypatch.setattr(B.Bisector, "build", build)
    monkeypatch.setattr(B, "judge", judge)


def linear_repo(tmp_path, subjects):
    repo = init_repo(tmp_path / "r")
    shas = []
    for s in subjects:
        (repo / "f").write_text(s)
        shas.append(commit_all(repo, s))
    return repo, shas


def test_only_skipped_commits_left_gives_the_candidates_and_exit_1(tmp_path, monkeypatch):
    G, Bd, S = B.Verdict.GOOD, B.Verdict.BAD, B.Verdict.SKIP
    subjects = ["g0", "g1", "s2", "b3", "b4"]
    repo, shas = linear_repo(tmp_path, subjects)
    scripted(monkeypatch, {"g0": G, "g1": G, "s2": S, "b3": Bd, "b4": Bd})
    host = B.Host(injector=tmp_path / "unused")
    r = B.bisect(repo, shas[0], shas[-1], B.Target(scenario="x"), host, tmp_path / "w")
    assert r.culprit is None and r.exit_code == 1
    assert [x.subject for x in r.candidates] == ["s2", "b3"]
    assert [x.subject for x in r.skipped] == ["s2"]
    assert "could not narrow it down" in B.result_text(r)


def test_a_good_end_that_is_bad_stops_the_bisection(tmp_path, monkeypatch):
    repo, shas = linear_repo(tmp_path, ["b0", "b1"])
    scripted(monkeypatch, {"b0": B.Verdict.BAD, "b1": B.Verdict.BAD})
    with pytest.raises(B.BisectError, match="good revision .* is judged bad"):
        B.bisect(repo, shas[0], shas[-1], B.Target(scenario="x"),
                 B.Host(injector=tmp_path / "unused"), tmp_path / "w")


def attempt(verdict, suspect):
    return B.Attempt(verdict, verdict.value, [], {}, [], suspect, 0.0)


@pytest.mark.parametrize("probes, want, n", [
    (["bad"], "bad", 1),                                  # clean probe: decided at once
    (["bad?", "good", ], "skip", 2),                      # 1:1 after a clean probe: a tie
    (["bad?", "bad?", "good?"], "bad", 3),                # majority of three
    (["good?", "bad?", "good?"], "good", 3),
    (["skip?", "skip?", "skip?"], "skip", 3),             # never came up
])
def test_a_flaky_looking_probe_is_repeated_and_the_majority_decides(monkeypatch, probes,
                                                                   want, n):
    seq = iter(probes)

    def probe(host, elf, target, work):
        p = next(seq)
        return attempt(B.Verdict(p.rstrip("?")), p.endswith("?"))

    monkeypatch.setattr(B, "probe", probe)
    j = B.judge(None, None, None, None, repeats=3)
    assert j.verdict.value == want and len(j.attempts) == n
