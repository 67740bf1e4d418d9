"""`python3 -m analysis`: argument parsing only; the work is done by the library.

Exit codes: 0 nothing failing (findings) / output written (report, summary); 1 unsuppressed
findings (warnings only with --strict); 2 usage error, unreadable or too new database,
unusable suppressions file or kernel profile, output that cannot be written. An incomplete
sweep is said (verdict INCOMPLETE), not an exit code of its own. `bisect`: 0 first bad
commit named, 1 not narrowed down, 2 error; `bisect-run` speaks git bisect run's language
(analysis/bisect.py).
"""
from __future__ import annotations

import argparse
import pathlib
import sys
from typing import Optional, Sequence

from . import bisect, coverage, html_report, json_report, junit, sarif, summary
from .db import Database, DatabaseError
from .fingerprint import DEFAULT_DEPTH, Normalizer
from .profile import ProfileError, load_or_default
from .suppressions import SuppressionError, load
from .text import visible
from .unique import Audit, analyze
from .version import version

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    pass


class PrintVersion(argparse.Action):
    """--version: the version string is made only when asked for (it runs git)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"analysis {version()}")
        parser.exit()


def _common(p: argparse.ArgumentParser, suppress: bool = True) -> None:
    p.add_argument("--db", required=True, help="the faultline database (sqlite) to read")
    p.add_argument("--json", metavar="OUT", help="also write the result as JSON (- = stdout)")
    if suppress:
        p.add_argument("--suppressions", metavar="FILE",
                       help="class:glob entries (leak:proc_*, *:legacy_*) of known findings "
                            "(default: the profile's)")
    p.add_argument("--strict", action="store_true",
                   help="warnings (e.g. unwind-order) fail like errors")
    p.add_argument("--stack-depth", type=int, default=DEFAULT_DEPTH, metavar="N",
                   help="frames of a symptom's normalized site stack in the reports "
                        f"(default {DEFAULT_DEPTH})")
    p.add_argument("--allocator", action="append", default=[], metavar="GLOB",
                   help="a function of the kernel's allocators, left out of fingerprints "
                        "(repeatable; added to the profile's allocators and internal "
                        "functions, or to page_alloc, obj_alloc, kmalloc, ...)")
    p.add_argument("--profile", metavar="FILE",
                   help="the kernel profile (docs/profile.md): allocator functions, which "
                        "ops promise failure atomicity, suppressions (default: the "
                        "faultline.ini beside the kernel ELF or at the top of its source "
                        "tree, for the atomicity promise)")
    p.add_argument("--repo-root", metavar="DIR",
                   help="root for relative source paths (default: the git checkout holding "
                        "the build's sources)")
    p.add_argument("--src-root", metavar="DIR",
                   help="where the kernel sources are now, if not at the recorded src_root")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m analysis",
                                description="Report faultline sweeps: unique findings, "
                                            "HTML report, JSON, SARIF, JUnit.")
    p.add_argument("--version", action=PrintVersion)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    f = sub.add_parser("findings", help="print unique findings; exit 1 if any fail the run")
    _common(f)
    f.add_argument("--sarif", metavar="OUT", help="write SARIF 2.1.0")
    f.add_argument("--junit", metavar="OUT", help="write JUnit XML")
    f.add_argument("--lcov", metavar="OUT", help="write the runs' line coverage as an lcov "
                                                  "tracefile (genhtml reads it)")
    f.add_argument("--min-error-coverage", type=float, metavar="P",
                   help="exit 1 unless at least P%% of the error-path lines were reached")
    r = sub.add_parser("report", help="write the static HTML report")
    _common(r)
    r.add_argument("--out", required=True, metavar="DIR", help="directory for the site")
    s = sub.add_parser("summary", help="outcome counts per scenario and mode")
    _common(s, suppress=False)
    bisect.add_parsers(sub)
    return p


def _write(path: str, data: str | bytes) -> None:
    if path == "-":
        sys.stdout.write(data if isinstance(data, str) else data.decode())
        return
    p = pathlib.Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data, encoding="utf-8")


def _audit(args, db: Database) -> Audit:
    profile = load_or_default(args.profile)
    suppressions = (args.suppressions or profile.suppressions
                    if hasattr(args, "suppressions") else None)
    rules = load(suppressions) if suppressions else []
    if args.stack_depth < 1:
        raise UsageError("--stack-depth must be at least 1")
    norm = Normalizer(profile.allocator_globs + tuple(args.allocator), args.stack_depth)
    return analyze(db, rules, norm,
                   pathlib.Path(args.repo_root) if args.repo_root else None,
                   pathlib.Path(args.src_root) if args.src_root else None,
                   profile if args.profile else None)


def run(args: argparse.Namespace) -> int:
    with Database(args.db) as db:
        audit = _audit(args, db)
        covs = coverage.build_coverages(db, audit.runs)
        to_stdout = args.json == "-"
        if args.command == "findings":
            if args.sarif:
                _write(args.sarif, json_report.dumps(sarif.sarif_log(audit)))
            if args.junit:
                _write(args.junit, junit.junit_xml(audit, args.strict))
            if args.lcov:
                _write(args.lcov, "".join(coverage.lcov(c, audit.sources.lcov_path)
                                          for c in covs))
            below = coverage.shortfalls(covs, args.min_error_coverage)
            if not to_stdout:
                sys.stdout.write(summary.findings_text(
                    audit, args.strict, summary.coverage_lines(covs) + below))
            code = audit.exit_code(args.strict)
            if below and code == EXIT_OK:
                code = EXIT_FINDINGS
        elif args.command == "report":
            index = html_report.write_report(audit, db, args.out, args.strict)
            if not to_stdout:
                sys.stdout.write(summary.findings_text(audit, args.strict))
                sys.stdout.write(summary.terminal_text([f"report: {index}"]))
            code = EXIT_OK
        else:
            if not to_stdout:
                sys.stdout.write(summary.summary_text(audit))
                sys.stdout.write(summary.terminal_text(summary.coverage_lines(covs)))
            code = EXIT_OK
        if args.json:
            _write(args.json, json_report.dumps(json_report.audit_dict(audit, args.strict)))
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    predicate = bool(argv) and argv[0] == "bisect-run"
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:
        # git bisect run takes 1..127 (but 125) as "bad": a usage error must stop it instead
        if predicate and e.code:
            return bisect.EXIT_ABORT
        raise
    try:
        if args.command in ("bisect", "bisect-run"):
            return bisect.run_cli(args)
        return run(args)
    except (DatabaseError, SuppressionError, ProfileError, UsageError,
            bisect.BisectError, OSError) as e:
        print(f"analysis: error: {visible(str(e))}", file=sys.stderr)
    return bisect.EXIT_ABORT if predicate else EXIT_ERROR
