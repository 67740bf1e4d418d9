"""scripts/bench.py's block selection and its side-by-side block where history is missing
(a shallow clone): a clear line, not a failure, and nothing else is run."""
import subprocess
import sys


def bench(root, build_dir, *args):
    return subprocess.run([sys.executable, str(root / "scripts" / "bench.py"), "--build",
                           str(build_dir), *args], capture_output=True, text=True, timeout=60)


def test_old_block_says_why_it_is_skipped_when_the_commit_is_not_in_history(root, build_dir):
    absent = "0123456789abcdef" * 2
    r = bench(root, build_dir, "--only", "old", "--old-commit", absent)
    assert r.returncode == 0, r.stderr
    assert f"skipped: commit {absent} is not in this checkout's git history" in r.stdout
    assert "target" not in r.stdout


def test_an_unknown_block_is_refused_with_the_list_of_blocks(root, build_dir):
    r = bench(root, build_dir, "--only", "norec,speed")
    assert r.returncode != 0
    assert "no block speed; blocks: modes, tracer, checks, coverage, slow, norec, old" in r.stderr
