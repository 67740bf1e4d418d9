"""The tracer's libFuzzer targets (ASan + UBSan builds from mk/fuzz.mk) on real console logs:
a short fuzzing run per target finds nothing, and every input that once crashed a target
(tests/data/fuzz-regressions/) runs clean through both."""
import re
import subprocess
import sys

import pytest

from conftest import DATA, ROOT

FUZZ = ROOT / "tracer" / "fuzz" / "fuzz.py"
REGRESSIONS = sorted((DATA / "fuzz-regressions").glob("*"))  # named for the bug
# the targets `make test` fuzzes
IN_SUITE = ("parser", "pipeline")
SECONDS = 10  # `make fuzz` fuzzes for longer


def fuzz_py(build_dir, *args):
    return subprocess.run([sys.executable, str(FUZZ), *args, "--build", str(build_dir)],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def seeds(build_dir, tmp_path_factory):
    """Console logs of real runs of the sample kernel (and tests/data's saved logs)."""
    out = tmp_path_factory.mktemp("seeds")
    p = fuzz_py(build_dir, "seeds", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert any(out.glob("test-leak.*.log")) and any(out.glob("mmap.*.log"))
    return out


@pytest.mark.parametrize("target", IN_SUITE)
def test_fuzzing_real_console_logs_finds_no_crash(build_dir, seeds, tmp_path, target):
    p = fuzz_py(build_dir, "run", "--target", target, "--seconds", str(SECONDS),
                "--seeds", str(seeds), "--work", str(tmp_path))
    assert p.returncode == 0, (
        f"fuzz-{target} crashed; fix it and keep the input in tests/data/fuzz-regressions/:"
        f"\n{p.stdout}\n{p.stderr}")
    executions = re.search(rf"^fuzz-{target}: (\d+) executions", p.stdout, re.M)
    assert executions and int(executions.group(1)) > 0, p.stdout + p.stderr


def test_past_crashers_and_saved_logs_run_clean_under_sanitizers(build_dir):
    """Every input that once crashed a target (tests/data/fuzz-regressions/, the bug named
    in its file name) and every saved console log, once through each sanitizer build."""
    inputs = [*REGRESSIONS, *sorted(DATA.glob("tracer-*.log"))]
    p = fuzz_py(build_dir, "replay", *map(str, inputs))
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count(f"{len(inputs)} input(s) replayed clean") == 2
