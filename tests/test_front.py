"""The front door: one version string for every tool, one entry point that works from any
directory, and the CI recipe in docs/ci/ whose commands really build, sweep and report."""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import jsonschema
import yaml

from conftest import BUILD, DATA, ROOT
from test_analysis_fixtures import sample_db

from analysis import sarif, suppressions
from analysis.db import Database
from analysis.unique import analyze


def out_of(argv, cwd=None, **kw):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, **kw)


def test_tracer_analysis_and_faultline_print_the_version_file_and_the_commit():
    number = (ROOT / "VERSION").read_text().strip()
    head = out_of(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"]).stdout.strip()
    tracer = out_of([str(BUILD / "tracer"), "--version"])
    analysis = out_of([sys.executable, "-m", "analysis", "--version"], cwd=ROOT)
    faultline = out_of([str(BUILD / "faultline"), "--version"])
    assert tracer.returncode == analysis.returncode == faultline.returncode == 0
    assert tracer.stdout.startswith(f"tracer {number} (git {head}")
    assert analysis.stdout.startswith(f"analysis {number} (git {head}")
    assert faultline.stdout == analysis.stdout.replace("analysis", "faultline", 1)


def test_faultline_help_lists_the_commands_of_every_tool(tmp_path):
    p = out_of([str(BUILD / "faultline"), "--help"], cwd=tmp_path)
    assert p.returncode == 0
    for command in ("sweep", "run", "scenarios", "findings", "report", "summary", "bisect",
                    "trace"):
        assert f"\n  {command} " in p.stdout


def test_faultline_refuses_a_missing_or_unknown_command_with_its_help(tmp_path):
    for argv, why in (([], "missing command"), (["sweeep"], "unknown command 'sweeep'")):
        p = out_of([str(BUILD / "faultline")] + argv, cwd=tmp_path)
        assert p.returncode == 2 and not p.stdout
        assert why in p.stderr and "commands:" in p.stderr


def test_faultline_names_a_tool_that_is_not_built(tmp_path):
    env = dict(os.environ, FAULTLINE_BUILD=str(tmp_path))
    p = out_of([str(ROOT / "scripts" / "faultline"), "sweep", "--help"], cwd=tmp_path, env=env)
    assert p.returncode == 2
    assert p.stderr == f"faultline: {tmp_path}/injector is missing: run `make` in {ROOT}\n"


def test_faultline_reaches_injector_tracer_and_analysis_from_another_directory(tmp_path):
    """Relative paths are the caller's: nothing assumes the checkout as working directory."""
    shutil.copy(DATA / "tracer-leak.log", tmp_path / "leak.log")
    sample_db(tmp_path / "s.db")
    faultline = str(BUILD / "faultline")
    scenarios = out_of([faultline, "scenarios", "--kernel", str(BUILD / "kernel.elf")],
                       cwd=tmp_path)
    assert scenarios.returncode == 0 and "vm" in scenarios.stdout.split()
    trace = out_of([faultline, "trace", "check", "leak.log"], cwd=tmp_path)
    assert trace.returncode == 1 and trace.stdout.startswith("leak.log run 1: scenario proc: leak")
    findings = out_of([faultline, "findings", "--db", "s.db", "--json", "f.json"], cwd=tmp_path)
    assert findings.returncode == 1
    assert json.loads((tmp_path / "f.json").read_text())["findings"]
    usage = out_of([faultline, "findings", "--help"], cwd=tmp_path)
    assert usage.stdout.startswith("usage: faultline findings")


def test_python_m_analysis_runs_from_any_directory_with_the_checkout_on_pythonpath(tmp_path):
    sample_db(tmp_path / "s.db")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = out_of([sys.executable, "-m", "analysis", "summary", "--db", "s.db"], cwd=tmp_path,
               env=env)
    assert p.returncode == 0 and "proc" in p.stdout


CI = ROOT / "docs" / "ci"
GITHUB_OUT = "${{ env.OUT }}"
# SARIF 2.1.0's object definitions for what faultline writes (the specification's property
# names, required properties and value constraints), as a JSON Schema
SARIF_SCHEMA = jsonschema.Draft202012Validator(
    json.loads((DATA / "sarif-2.1.0.schema.json").read_text()))


def test_sarif_of_every_finding_shape_passes_the_schema_and_a_broken_one_does_not(tmp_path):
    """Suppressions, code flows, stacks and related locations from the sample database."""
    with Database(sample_db(tmp_path / "s.db")) as db:
        log = sarif.sarif_log(analyze(db, suppressions.parse("leak:proc_create\n")))
    SARIF_SCHEMA.validate(log)
    result = log["runs"][0]["results"][0]
    result["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    result["levle"] = "error"
    errors = sorted(e.message for e in SARIF_SCHEMA.iter_errors(log))
    assert errors == ["0 is less than the minimum of 1",
                      "Additional properties are not allowed ('levle' was unexpected)"]


def github_recipe():
    """The sweep job of docs/ci/github.yml: its env, its shell commands (one per `run` step)
    and the files its upload steps take."""
    job = yaml.safe_load((CI / "github.yml").read_text())["jobs"]["sweep"]
    steps = job["steps"]
    uploads = [path for s in steps if s.get("uses", "").split("@")[0] in
               ("github/codeql-action/upload-sarif", "actions/upload-artifact")
               for path in (s["with"].get("sarif_file") or s["with"]["path"]).splitlines()]
    assert all(s.get("if") == "always()" for s in steps if "with" in s), \
        "results must be uploaded when the findings step fails the job"
    return job["env"], [s["run"] for s in steps if "run" in s], uploads


def gitlab_recipe():
    job = yaml.safe_load((CI / "gitlab-ci.yml").read_text())["faultline"]
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"]["junit"] in artifacts["paths"]
    return job["variables"], job["script"], artifacts["paths"]


def test_github_and_gitlab_recipes_run_the_same_commands_and_keep_the_same_files():
    gh_env, gh_commands, gh_uploads = github_recipe()
    gl_env, gl_commands, gl_uploads = gitlab_recipe()
    assert gh_env == gl_env
    assert [c.strip() for c in gh_commands] == [c.strip() for c in gl_commands]
    assert {p.replace(GITHUB_OUT, "$OUT") for p in gh_uploads} == set(gl_uploads)
    assert {"$OUT/faultline.sarif", "$OUT/junit.xml"} <= set(gl_uploads)


def test_ci_recipe_builds_sweeps_and_leaves_valid_sarif_and_junit_when_findings_fail_it(
        tmp_path):
    """The recipe's commands as CI runs them (bash -eo pipefail, the recipe's env), on the
    sample kernel's seeded leak: the findings step fails the job, the outputs are there."""
    env, commands, uploads = github_recipe()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))} | env
    env |= {"SCENARIOS": "test-leak", "OUT": str(tmp_path / "out")}
    steps = [subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", c],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
             for c in commands]
    assert [p.returncode for p in steps] == [0] * (len(commands) - 1) + [1], \
        [p.stdout[-2000:] + p.stderr[-2000:] for p in steps]
    files = {pathlib.Path(p.replace(GITHUB_OUT, env["OUT"])) for p in uploads}
    assert all(f.is_file() for f in files)
    sarif = json.loads((tmp_path / "out" / "faultline.sarif").read_text())
    SARIF_SCHEMA.validate(sarif)
    assert [r["locations"][0]["logicalLocations"][0]["name"]
            for r in sarif["runs"][0]["results"]] == ["scen_test_leak"]
    junit = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    cases = list(junit.iter("testcase"))
    assert junit.tag == "testsuites" and cases
    assert all(c.find("failure") is not None for c in cases), "test-leak leaks in every mode"
