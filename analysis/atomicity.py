"""Which operations a kernel promises to be failure-atomic, and the severity that follows.

A kernel declares it in its profile (docs/profile.md; the sample kernel's is
sample-kernel/faultline.ini):

    [analysis]
    atomic = *                 ; globs over op names (the name in the op+ record)
    not_atomic = vm_map        ; these keep objects after a failure; teardown frees them

An op promises atomicity when a glob of `atomic` matches its name and none of `not_atomic`
does; `atomic` defaults to *. A kernel without a declaration promises it for every op.

Severity: an unbalanced unwind (a failed op left objects it allocated live) is an error
when the op promises atomicity. When it does not, and the run shows teardown freed those
objects later (the run reached its end checkpoint and no leak finding names the same
allocation), the finding is a warning: the kernel keeps the objects by design and gives
them back. A leak at the end checkpoint is always an error.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import pathlib
from typing import Iterable, Optional

from . import profile as kernel_profile
from .db import Database
from .model import Build, FindingClass, Outcome, RunFinding, Severity
from .profile import FILE_NAME, Profile
from .sources import SourceTree

# runs whose teardown ran and whose end checkpoint was judged
_TORN_DOWN = {Outcome.LEAK, Outcome.UNBALANCED, Outcome.SWALLOWED, Outcome.HANDLED,
              Outcome.COMPLETED}


@dataclasses.dataclass(frozen=True)
class Atomicity:
    atomic: tuple[str, ...] = ("*",)
    not_atomic: tuple[str, ...] = ()
    source: str = f"no {FILE_NAME}: every op atomic"

    def promises(self, op: Optional[str]) -> bool:
        if not op:
            return True
        return (any(fnmatch.fnmatchcase(op, g) for g in self.atomic)
                and not any(fnmatch.fnmatchcase(op, g) for g in self.not_atomic))


def of(profile: Profile) -> Atomicity:
    return Atomicity(profile.atomic, profile.not_atomic, profile.source)


def _inside(path: pathlib.Path, roots: Iterable[pathlib.Path]) -> Optional[pathlib.Path]:
    for root in roots:
        if path == root or root in path.parents:
            return root
    return None


def find(build: Build, source_file: Optional[str], sources: SourceTree) -> Optional[pathlib.Path]:
    """The build's profile: next to its ELF, else in the nearest directory at or
    above one of its source files (the top of the kernel's tree). Only directories under
    the source roots are searched: a path from DWARF is untrusted."""
    if build.elf_path:
        beside = pathlib.Path(build.elf_path).parent / FILE_NAME
        if beside.is_file():
            return beside
    found = sources.resolve(build.id, source_file)
    if found is None:
        return None
    roots = [pathlib.Path(r).resolve() for r in
             (sources.src_root_override, build.src_root, sources.repo_root) if r]
    root = _inside(found, roots)
    if root is None:
        return None
    for d in found.parents:
        if (d / FILE_NAME).is_file():
            return d / FILE_NAME
        if d == root:
            break
    return None


def declarations(db: Database, sources: SourceTree,
                 given: Optional[Profile] = None) -> dict[int, Atomicity]:
    """Each build's declaration: the given profile's for all, else the one found per
    build."""
    builds = db.builds()
    if given is not None:
        decl = of(given)
        return {b: decl for b in builds}
    out = {}
    for b, build in builds.items():
        path = find(build, db.source_file(b), sources)
        out[b] = (dataclasses.replace(of(kernel_profile.load(path)),
                                      source=_shown(path, sources.repo_root))
                  if path else Atomicity())
    return out


def _shown(path: pathlib.Path, root: pathlib.Path) -> str:
    """The path relative to the repository root when it lies inside it (for messages)."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def judge(findings: list[RunFinding], decl: dict[int, Atomicity]) -> list[RunFinding]:
    """The findings with each unbalanced unwind of an op its kernel does not declare
    atomic made a warning, where teardown freed the objects later (see the module doc)."""
    # a leak shares its proving alloc record with the unbalanced unwind of the same object
    leaked = {(f.run.id, f.addr, seq) for f in findings
              if f.cls in (FindingClass.LEAK, FindingClass.RESOURCE_LEAK) for seq in f.events}
    out = []
    for f in findings:
        d = decl.get(f.run.build, Atomicity())
        if (f.cls is FindingClass.UNBALANCED_UNWIND and f.severity is Severity.ERROR
                and not d.promises(f.op_name) and f.run.outcome in _TORN_DOWN
                and not f.run.expected_panic
                and not any((f.run.id, f.addr, seq) in leaked for seq in f.events)):
            f = dataclasses.replace(
                f, severity=Severity.WARNING,
                message=f"{f.message}; teardown freed it later and {f.op_name} is not "
                        f"declared atomic ({d.source})")
        out.append(f)
    return out
