"""The front door: one version string for every tool, one entry point that works from any
directory, and the CI recipe in docs/ci/ whose commands really build, sweep and report."""
import json
import os
import shutil
import subprocess
import sys

from conftest import BUILD, DATA, ROOT
from test_analysis_fixtures import sample_db


def out_of(argv, cwd=None, **kw):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, **kw)


def test_tracer_and_analysis_print_the_same_version_from_the_version_file():
    number = (ROOT / "VERSION").read_text().strip()
    head = out_of(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"]).stdout.strip()
    tracer = out_of([str(BUILD / "tracer"), "--version"])
    analysis = out_of([sys.executable, "-m", "analysis", "--version"], cwd=ROOT)
    assert tracer.returncode == 0 and analysis.returncode == 0
    assert tracer.stdout.startswith(f"tracer {number} (git {head}")
    assert analysis.stdout.startswith(f"analysis {number} (git {head}")


def test_faultline_help_lists_the_commands_of_every_tool(tmp_path):
    p = out_of([str(BUILD / "faultline"), "--help"], cwd=tmp_path)
    assert p.returncode == 0
    for command in ("sweep", "run", "scenarios", "findings", "report", "summary", "bisect",
                    "trace"):
        assert f"\n  {command} " in p.stdout


def test_faultline_refuses_an_unknown_command_with_its_help(tmp_path):
    p = out_of([str(BUILD / "faultline"), "sweeep"], cwd=tmp_path)
    assert p.returncode == 2
    assert "unknown command 'sweeep'" in p.stderr and "commands:" in p.stderr


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
