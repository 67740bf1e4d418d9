"""Records and enums shared by the analysis modules. No behaviour beyond small helpers."""
from __future__ import annotations

import dataclasses
import enum
from typing import Optional


class Outcome(enum.Enum):
    """Outcome of one run, worst first (docs/protocol.md section 7)."""
    CRASH = "crash"
    PANIC = "panic"
    HANG = "hang"
    CORRUPT = "corrupt"
    LEAK = "leak"
    UNBALANCED = "unbalanced"
    SWALLOWED = "swallowed"
    HANDLED = "handled"
    COMPLETED = "completed"
    INFRA = "infra"
    UNKNOWN = "unknown"   # a value this analysis does not know; shown, never hidden

    @classmethod
    def parse(cls, text: str) -> "Outcome":
        try:
            return cls(text)
        except ValueError:
            return cls.UNKNOWN

    @property
    def rank(self) -> int:
        return list(Outcome).index(self)


class FindingClass(enum.Enum):
    LEAK = "leak"
    DOUBLE_FREE = "double-free"
    INVALID_FREE = "invalid-free"
    MISMATCHED_FREE = "mismatched-free"
    UNBALANCED_UNWIND = "unbalanced-unwind"
    UNWIND_ORDER = "unwind-order"
    REFCOUNT = "refcount"
    ACCOUNTING = "accounting"
    PANIC = "panic"
    CRASH = "crash"
    HANG = "hang"
    ERROR_SWALLOWED = "error-swallowed"
    NOT_ATOMIC = "not-atomic"
    RESOURCE_LEAK = "resource-leak"
    DOUBLE_RELEASE = "double-release"
    INVALID_RELEASE = "invalid-release"
    USE_AFTER_FREE = "use-after-free"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, text: str) -> "FindingClass":
        try:
            return cls(text)
        except ValueError:
            return cls.UNKNOWN

    @property
    def label(self) -> str:
        """How the class reads at the start of a title."""
        return _CLASS_LABELS[self]

    @property
    def description(self) -> str:
        return _CLASS_DESCRIPTIONS[self]


_CLASS_LABELS = {
    FindingClass.LEAK: "leak",
    FindingClass.DOUBLE_FREE: "double-free",
    FindingClass.INVALID_FREE: "invalid-free",
    FindingClass.MISMATCHED_FREE: "mismatched-free",
    FindingClass.UNBALANCED_UNWIND: "unbalanced unwind",
    FindingClass.UNWIND_ORDER: "unwind out of order",
    FindingClass.REFCOUNT: "refcount imbalance",
    FindingClass.ACCOUNTING: "accounting mismatch",
    FindingClass.PANIC: "panic",
    FindingClass.CRASH: "crash",
    FindingClass.HANG: "hang",
    FindingClass.ERROR_SWALLOWED: "error swallowed",
    FindingClass.NOT_ATOMIC: "not atomic",
    FindingClass.RESOURCE_LEAK: "resource leak",
    FindingClass.DOUBLE_RELEASE: "double release",
    FindingClass.INVALID_RELEASE: "invalid release",
    FindingClass.USE_AFTER_FREE: "use-after-free",
    FindingClass.UNKNOWN: "finding",
}

_CLASS_DESCRIPTIONS = {
    FindingClass.LEAK: "An object allocated during the run was still live at the end "
                       "checkpoint, after full teardown.",
    FindingClass.DOUBLE_FREE: "An object was freed twice; the allocator refused the second "
                              "free.",
    FindingClass.INVALID_FREE: "A free of an address the allocator never handed out.",
    FindingClass.MISMATCHED_FREE: "An object was freed through the other allocator than the "
                                  "one that allocated it.",
    FindingClass.UNBALANCED_UNWIND: "An operation returned an error but left objects it "
                                    "allocated still live (not failure-atomic).",
    FindingClass.UNWIND_ORDER: "An error path freed what it acquired in an order other "
                               "than the reverse of acquisition.",
    FindingClass.REFCOUNT: "A reference count was not back to its baseline at the end "
                           "checkpoint.",
    FindingClass.ACCOUNTING: "The kernel's own count of live objects at the end checkpoint "
                             "disagrees with what its alloc/free records account for.",
    FindingClass.PANIC: "The kernel panicked at a site not annotated as an expected panic.",
    FindingClass.CRASH: "The kernel took an unexpected trap in supervisor mode.",
    FindingClass.HANG: "The run did not finish before the host's timeout.",
    FindingClass.ERROR_SWALLOWED: "An injected allocation failure was eaten: no operation on "
                                  "its path returned an error, no recovery was marked, and "
                                  "the scenario reported success.",
    FindingClass.NOT_ATOMIC: "A function that promised to leave a named state unchanged "
                             "when it fails returned an error with that state's digest "
                             "changed.",
    FindingClass.RESOURCE_LEAK: "A resource that is not memory (a table slot, an id, a "
                                "device descriptor) acquired during the run was still held "
                                "at the end checkpoint.",
    FindingClass.DOUBLE_RELEASE: "A resource was released twice.",
    FindingClass.INVALID_RELEASE: "A resource was released that was never acquired.",
    FindingClass.USE_AFTER_FREE: "Freed memory was written (the allocator's poison check "
                                 "found it changed) or accessed (in guard mode the access "
                                 "trapped in a freed block).",
    FindingClass.UNKNOWN: "A finding class this version of the analysis does not know.",
}


def known_names(kind: type[Outcome] | type[FindingClass]) -> set[str]:
    """The names the tracer may write for an outcome or a finding class: every member but
    UNKNOWN, which stands for a name outside the list."""
    return {m.value for m in kind if m.name != "UNKNOWN"}


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"

    @classmethod
    def parse(cls, text: str) -> "Severity":
        return cls.WARNING if text == "warning" else cls.ERROR


@dataclasses.dataclass(frozen=True)
class Frame:
    pc: int
    func: Optional[str]
    file: Optional[str]
    line: Optional[int]

    @property
    def where(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""

    @property
    def name(self) -> str:
        return self.func or "??"


@dataclasses.dataclass(frozen=True)
class Stack:
    id: Optional[int]
    frames: tuple[Frame, ...]

    @property
    def funcs(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.frames)


EMPTY_STACK = Stack(None, ())


@dataclasses.dataclass
class Build:
    id: int
    build_id: str
    elf_path: str
    src_root: Optional[str]
    added_at: str


@dataclasses.dataclass
class Sweep:
    id: int
    build: int
    scenario: str
    exec_mode: str
    fault_mode: str
    class_filter: str
    site: str
    command: str
    started_at: str
    finished_at: Optional[str]
    wall_s: Optional[float]


@dataclasses.dataclass
class Run:
    id: int
    sweep: Optional[int]
    build: int
    scenario: str
    exec_mode: str
    fault_mode: str
    class_filter: str
    site: str
    n: int
    outcome: Outcome
    outcome_text: str
    fired: bool
    ended: bool
    attempts: Optional[int]
    result_rc: Optional[int]
    expected_panic: bool
    fault_event: Optional[int]
    fault_pc: Optional[int]
    fault_stack: Stack
    fault_frame: Optional[Frame]     # the symbolized fault_pc (the allocator's caller)
    fault_class: Optional[str]       # allocator class of the first injected fault
    infra_reason: Optional[str]
    exit_status: Optional[int]
    wall_ms: Optional[float]
    raw_log: Optional[str]
    nevents: int
    nmalformed: int
    finished_at: str
    guard: bool = False              # the kernel accepted `guard on` (freed memory unmapped)
    in_full: bool = True             # its events, ops and findings are stored (schema v5)

    @property
    def group(self) -> tuple[str, str, str]:
        """The sweep line this run belongs to in charts and JUnit."""
        return (self.scenario, self.exec_mode, self.fault_mode)


@dataclasses.dataclass
class RunFinding:
    """One row of the tracer's findings table, with its stacks resolved."""
    id: int
    run: Run
    cls: FindingClass
    class_text: str
    severity: Severity
    func: Optional[str]
    pc: Optional[int]
    addr: Optional[int]
    size: Optional[int]
    alloc_stack: Stack
    free_stack: Stack
    bad_stack: Stack
    op_name: Optional[str]
    message: str
    events: tuple[int, ...]
    synthesized: bool = False   # made from the run's outcome, no row in findings


@dataclasses.dataclass
class Event:
    seq: int
    kind: str
    kseq: Optional[int]
    cls: Optional[str]
    addr: Optional[int]
    size: Optional[int]
    pc: Optional[int]
    func: Optional[str]
    stack: Optional[int]
    op: Optional[int]
    rc: Optional[int]
    name: Optional[str]
    text: Optional[str]


@dataclasses.dataclass
class Malformed:
    run: int
    lineno: int
    reason: str
    text: str
