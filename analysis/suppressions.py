"""Suppressions: known findings that should not fail a build, LeakSanitizer style.

File format, one entry per line:

    # a comment; blank lines are ignored
    leak:proc_create          class:glob, the glob matched against function names
    double-free:vm_*
    *:legacy_driver_*         any class

An entry matches a finding of its class (or any class for `*`) when its glob matches the
finding's site function or any function on the finding's stack (allocator frames dropped),
as LSan's `leak:` matches any frame. The first matching entry wins and is counted: per unique
finding and per run-level occurrence.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import pathlib
from typing import Iterable, Optional

from .model import FindingClass, known_names


class SuppressionError(Exception):
    """The suppressions file cannot be used; the message names the file and line."""


@dataclasses.dataclass
class Rule:
    cls: Optional[FindingClass]    # None: any class
    class_text: str
    glob: str
    source: str
    lineno: int
    findings: int = 0              # unique findings it suppressed
    occurrences: int = 0           # per-run findings behind those

    @property
    def text(self) -> str:
        return f"{self.class_text}:{self.glob}"

    def matches(self, cls: FindingClass, funcs: Iterable[str]) -> bool:
        if self.cls is not None and self.cls is not cls:
            return False
        return any(fnmatch.fnmatchcase(f, self.glob) for f in funcs)


def parse(text: str, source: str = "<suppressions>") -> list[Rule]:
    rules = []
    known = known_names(FindingClass)
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cls_text, sep, glob = line.partition(":")
        cls_text, glob = cls_text.strip(), glob.strip()
        if not sep or not cls_text or not glob:
            raise SuppressionError(f"{source}:{lineno}: expected class:glob, got {line!r}")
        if cls_text != "*" and cls_text not in known:
            raise SuppressionError(
                f"{source}:{lineno}: unknown class {cls_text!r} "
                f"(one of: *, {', '.join(sorted(known))})")
        cls = None if cls_text == "*" else FindingClass(cls_text)
        rules.append(Rule(cls, cls_text, glob, source, lineno))
    return rules


def load(path: str | pathlib.Path) -> list[Rule]:
    p = pathlib.Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SuppressionError(f"{p}: cannot read suppressions: {e}") from e
    return parse(text, str(p))


def first_match(rules: list[Rule], cls: FindingClass, funcs: Iterable[str]) -> Optional[Rule]:
    funcs = list(funcs)
    for rule in rules:
        if rule.matches(cls, funcs):
            return rule
    return None
