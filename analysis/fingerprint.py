"""Fingerprints and titles of findings.

A fingerprint names a root cause, not a run nor a symptom: it is made of the class family
(memory lifetime: leak, unbalanced unwind, refcount, bad frees, unwind order; or the class
itself: crash, panic, hang, ...), the responsible function (analysis/rootcause.py) and the
call in it whose failure the fault made (the fault's context, "" when there is none).
Addresses, N, the scenario and the modes never enter it, so the same bug found at many N, in
both fault modes, or in a rebuilt kernel (other addresses) is one finding. A rebuild that
renames or inlines a function on the path does change it: the bug's context changed.

The normalized site stack (`locate`) still names where each symptom was seen: suppressions
match it and the finding page highlights it.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
from typing import Optional, Sequence

from .model import EMPTY_STACK, FindingClass, Frame, RunFinding, Stack
from .profile import Profile

FINGERPRINT_VERSION = "2"

# Which symptom of a root cause leads its title: the most specific first.
PRIORITY = (FindingClass.CRASH, FindingClass.PANIC, FindingClass.HANG,
            FindingClass.USE_AFTER_FREE, FindingClass.ERROR_SWALLOWED,
            FindingClass.DOUBLE_FREE, FindingClass.MISMATCHED_FREE, FindingClass.INVALID_FREE,
            FindingClass.DOUBLE_RELEASE, FindingClass.INVALID_RELEASE,
            FindingClass.REFCOUNT, FindingClass.LEAK, FindingClass.RESOURCE_LEAK,
            FindingClass.UNBALANCED_UNWIND, FindingClass.NOT_ATOMIC,
            FindingClass.UNWIND_ORDER, FindingClass.ACCOUNTING, FindingClass.UNKNOWN)
MEMORY_FAMILY = frozenset({FindingClass.LEAK, FindingClass.UNBALANCED_UNWIND,
                           FindingClass.REFCOUNT, FindingClass.DOUBLE_FREE,
                           FindingClass.INVALID_FREE, FindingClass.MISMATCHED_FREE,
                           FindingClass.UNWIND_ORDER, FindingClass.RESOURCE_LEAK,
                           FindingClass.DOUBLE_RELEASE, FindingClass.INVALID_RELEASE})
OBJECT_CLASSES = (FindingClass.LEAK, FindingClass.UNBALANCED_UNWIND,
                  FindingClass.RESOURCE_LEAK)
LEAK_CLASSES = (FindingClass.LEAK, FindingClass.RESOURCE_LEAK)

# Frames of the allocators themselves say nothing about the bug: a kernel's profile names its
# allocator and internal functions (docs/profile.md; analysis/profile.py holds the defaults
# for a kernel without one). The sample kernel's backtraces start at the allocator's caller,
# so these matter for kernels whose do not. Used only when the finding's own site function
# is not on the stack (otherwise everything innermost of the site is dropped).
DEFAULT_ALLOCATOR_GLOBS: tuple[str, ...] = Profile().allocator_globs

# How many frames of a symptom's normalized site stack are shown with it (JSON
# normalized_stack, the finding page): the site and its caller. Deeper frames are the
# scenario's driver code.
DEFAULT_DEPTH = 2


@dataclasses.dataclass(frozen=True)
class Normalizer:
    allocator_globs: tuple[str, ...] = DEFAULT_ALLOCATOR_GLOBS
    depth: int = DEFAULT_DEPTH

    def is_allocator(self, func: Optional[str]) -> bool:
        return func is not None and any(fnmatch.fnmatchcase(func, g)
                                        for g in self.allocator_globs)

    def strip(self, stack: Stack, site: Optional[str] = None) -> tuple[Frame, ...]:
        """The stack from the site outward: allocator-internal inner frames dropped."""
        frames = stack.frames
        if site is not None:
            for i, f in enumerate(frames):
                if f.func == site:
                    return frames[i:]
        i = 0
        while i < len(frames) and self.is_allocator(frames[i].func):
            i += 1
        return frames[i:]

    def allocator_entry(self, stack: Stack, site: Optional[str]) -> Optional[str]:
        """The allocator function the site called (outermost allocator-internal frame)."""
        frames = stack.frames
        inner: Sequence[Frame] = ()
        if site is not None:
            for i, f in enumerate(frames):
                if f.func == site:
                    inner = frames[:i]
                    break
        if not inner:
            i = 0
            while i < len(frames) and self.is_allocator(frames[i].func):
                i += 1
            inner = frames[:i]
        names = [f.func for f in inner if f.func]
        return names[-1] if names else None


def primary_stack(finding: RunFinding) -> Stack:
    """The stack that locates a finding of this class."""
    cls = finding.cls
    if cls in OBJECT_CLASSES + (FindingClass.REFCOUNT,):
        order = (finding.alloc_stack, finding.bad_stack, finding.free_stack)
    elif cls is FindingClass.UNWIND_ORDER:
        order = (finding.free_stack, finding.bad_stack, finding.alloc_stack)
    elif cls is FindingClass.HANG:
        order = (finding.bad_stack, finding.run.fault_stack)
    else:
        order = (finding.bad_stack, finding.free_stack, finding.alloc_stack)
    for stack in order:
        if stack.frames:
            return stack
    return EMPTY_STACK


@dataclasses.dataclass(frozen=True)
class Located:
    """Where a finding is: its site function, its site frame and its normalized stack."""
    func: str
    site: Optional[Frame]
    frames: tuple[Frame, ...]        # stripped, full depth (what suppressions see)
    key_funcs: tuple[str, ...]       # stripped and cut to depth (what the reports show)


def locate(finding: RunFinding, norm: Normalizer) -> Located:
    stack = primary_stack(finding)
    frames = norm.strip(stack, finding.func)
    func = finding.func or (frames[0].func if frames and frames[0].func else None)
    if func is None and finding.cls is FindingClass.HANG:
        func = fault_site(finding, norm)[1]
    func = func or "??"
    site = frames[0] if frames else None
    return Located(func, site, frames, tuple(f.name for f in frames[:norm.depth]))


def family(cls: FindingClass, class_text: str) -> str:
    if cls in MEMORY_FAMILY:
        return "memory"
    return cls.value if cls is not FindingClass.UNKNOWN else class_text


def root_fingerprint(family_name: str, func: str, failed_call: str) -> str:
    """A stable 12-hex-digit id of (class family, responsible function, failed call)."""
    parts = [FINGERPRINT_VERSION, family_name, func, failed_call]
    return hashlib.sha1("\0".join(parts).encode("utf-8", "replace")).hexdigest()[:12]


def is_resource(kind: Optional[str]) -> bool:
    """Whether an object kind (rootcause.RunRecords.object_kind) names a resource that is
    not memory: the kind of its acq record rather than an allocator class."""
    return kind not in (None, "page", "obj")


def _count(n: int, kind: Optional[str]) -> str:
    noun = kind if is_resource(kind) else "page" if kind == "page" else "object"
    return f"{n} {noun}{'' if n == 1 else 's'}"


def objects_phrase(symptoms: Sequence[RunFinding], kinds: dict[int, Optional[str]]) -> str:
    """ "2 pages (vm_create, vm_walk_level)" for the objects the symptoms are about."""
    seen: dict[int, RunFinding] = {}
    for s in symptoms:
        if s.cls in OBJECT_CLASSES and s.addr is not None:
            seen.setdefault(s.addr, s)
    if not seen:
        return ""
    objs = list(seen.values())
    kind_set = {kinds.get(o.id) for o in objs}
    kind = kind_set.pop() if len(kind_set) == 1 else None
    sites = list(dict.fromkeys(o.func or "??" for o in objs))
    return f"{_count(len(objs), kind)} ({', '.join(sites)})"


def root_title(minimal: RunFinding, blame, symptoms: Sequence[RunFinding],
               kinds: dict[int, Optional[str]]) -> str:
    """A syzbot-style title naming the function to fix, e.g. "leak in proc_pagetable:
    3 pages (vm_create, vm_walk_level) not freed after vm_map failed"."""
    cls = minimal.cls
    label = cls.label if cls is not FindingClass.UNKNOWN else minimal.class_text
    head = label if blame.func == "??" else f"{label} in {blame.func}"
    objects = objects_phrase(symptoms, kinds)
    if objects:
        leaked = any(s.cls in LEAK_CLASSES for s in symptoms)
        held = any(is_resource(kinds.get(s.id)) for s in symptoms)
        verb = ("not released" if held else "not freed") if leaked else \
            ("still held" if held else "left live")
        head += f": {objects} {verb}" if cls in OBJECT_CLASSES else f"; {objects} {verb}"
    return f"{head} after {blame.failed_call} failed" if blame.failed_call else head


def fault_site(finding: RunFinding, norm: Normalizer) -> tuple[Optional[str], Optional[str]]:
    """(allocator called, function that called it) for the run's injected fault."""
    run = finding.run
    if not run.fired:
        return None, None
    caller = run.fault_frame.func if run.fault_frame else None
    if caller is None:
        stripped = norm.strip(run.fault_stack)
        caller = stripped[0].func if stripped and stripped[0].func else None
    return norm.allocator_entry(run.fault_stack, caller), caller
