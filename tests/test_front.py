"""The front door: one version string for every tool, one entry point that works from any
directory, and the CI recipe in docs/ci/ whose commands really build, sweep and report."""
import subprocess
import sys

from conftest import BUILD, ROOT


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
