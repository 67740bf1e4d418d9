"""Fingerprints and titles of findings.

A fingerprint names a bug, not a run: it is made of the finding class, the function of the
site (allocation site for leaks, offending free for bad frees, panic site ...) and the
function names of the site's stack after dropping allocator-internal frames and keeping the
innermost `depth` frames. Addresses, N, the scenario and the modes never enter it, so the same
bug found at many N, in both fault modes, or in a rebuilt kernel (other addresses) is one
finding. A rebuild that renames or inlines a function on the stack does change it: the bug's
context changed.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
from typing import Optional, Sequence

from .model import EMPTY_STACK, FindingClass, Frame, RunFinding, Stack

FINGERPRINT_VERSION = "1"

# Frames of the allocators themselves: they say nothing about the bug. The sample kernel's
# backtraces start at the allocator's caller, so these matter for kernels whose do not. Used
# only when the finding's own site function is not on the stack (otherwise everything
# innermost of the site is dropped, which needs no list).
DEFAULT_ALLOCATOR_GLOBS: tuple[str, ...] = (
    "page_alloc", "page_free", "obj_alloc", "obj_free", "page_take_internal",
    "page_give_internal", "kalloc", "kfree", "kmalloc", "kzalloc", "kcalloc", "krealloc",
    "vmalloc", "vfree", "malloc", "calloc", "realloc", "free",
)

# How many frames of the normalized stack enter the fingerprint: the site and its caller.
# Deeper frames are the scenario's driver code, which differs between running a scenario
# alone and inside `all` and would split one bug into several; the caller stays in, so the
# same helper failing under two different owners is two findings.
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
    if cls in (FindingClass.LEAK, FindingClass.UNBALANCED_UNWIND, FindingClass.REFCOUNT):
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
    key_funcs: tuple[str, ...]       # stripped and cut to depth (what the fingerprint sees)


def locate(finding: RunFinding, norm: Normalizer) -> Located:
    stack = primary_stack(finding)
    frames = norm.strip(stack, finding.func)
    func = finding.func or (frames[0].func if frames and frames[0].func else None)
    if func is None and finding.cls is FindingClass.HANG:
        func = fault_site(finding, norm)[1]
    func = func or "??"
    site = frames[0] if frames else None
    return Located(func, site, frames, tuple(f.name for f in frames[:norm.depth]))


def fingerprint(cls: FindingClass, class_text: str, located: Located) -> str:
    """A stable 12-hex-digit id of (class, site function, normalized stack)."""
    parts = [FINGERPRINT_VERSION, cls.value if cls is not FindingClass.UNKNOWN else class_text,
             located.func, *located.key_funcs]
    return hashlib.sha1("\0".join(parts).encode("utf-8", "replace")).hexdigest()[:12]


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


def title(finding: RunFinding, located: Located, norm: Normalizer) -> str:
    """A syzbot-style one-line title, e.g.
    "leak in proc_create after failed page_alloc in map_trapframe". The allocator is named
    from the fault's stack when it holds allocator frames, else by the fault's class."""
    cls = finding.cls
    label = cls.label if cls is not FindingClass.UNKNOWN else finding.class_text
    entry, caller = fault_site(finding, norm)
    if located.func == "??" or (cls is FindingClass.HANG and located.func == caller):
        head = label
    else:
        head = f"{label} in {located.func}"
    if caller is None:
        return head
    what = entry or (f"{finding.run.fault_class} allocation" if finding.run.fault_class
                     else "allocation")
    return f"{head} after failed {what} in {caller}"
