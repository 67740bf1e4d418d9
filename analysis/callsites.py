"""The allocation call sites of a kernel build, from its ELF: every direct call into an
allocation entry point, found by disassembling the ELF with binutils' objdump.

A site is named by its return address, the pc the allocator's records and the injected
fault carry (the kernel reports its caller's return address), so a site from the ELF and a
site a run failed compare equal. Indirect calls (through a register, unresolved by objdump)
and tail calls (no return address in the caller) are not sites. Calls from inside the
allocators themselves are internal, neither recorded nor injectable, and are left out.

The ELF is untrusted input: objdump and readelf run with an argv list and a timeout, and any
failure (no tool, no ELF, another build's ELF, garbage output) yields no sites, never an
exception.
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
import shutil
import subprocess
from typing import Callable, Iterable, Optional

OBJDUMP = ("riscv64-unknown-elf-objdump", "llvm-objdump", "objdump")
READELF = ("riscv64-unknown-elf-readelf", "llvm-readelf", "readelf")
TIMEOUT_S = 60

# The allocation entry points of the sample kernel and the usual names elsewhere. A call into
# any other function that a run failed as an allocation (the fault's pc is its return
# address) makes that function an entry point too.
ENTRY_POINTS = frozenset({"page_alloc", "obj_alloc", "kalloc", "kmalloc", "kzalloc",
                          "kcalloc", "krealloc", "vmalloc", "vzalloc", "malloc", "calloc",
                          "realloc"})

_FUNC = re.compile(r"^[0-9a-fA-F]+ <(.+)>:$")
_INSN = re.compile(r"^\s*([0-9a-fA-F]+):\s+(\S+)\s*(.*)$")
_TARGET = re.compile(r"<([^<>+]+)>\s*$")
_CALLS = {"jal", "jalr", "call", "bl", "blr"}
_BUILD_ID = re.compile(r"^\s*Build ID:\s*([0-9a-fA-F]+)\s*$", re.M)


@dataclasses.dataclass(frozen=True)
class Call:
    caller: str    # the symbol the call instruction lies in
    ret: int       # its return address
    callee: str


def parse(text: str) -> list[Call]:
    """Direct calls in `objdump -d --no-show-raw-insn` output; each call's return address is
    the address of the instruction after it."""
    calls: list[Call] = []
    caller: Optional[str] = None
    pending: Optional[tuple[str, str]] = None
    for line in text.splitlines():
        func = _FUNC.match(line)
        if func:
            caller, pending = func.group(1), None
            continue
        insn = _INSN.match(line)
        if not insn or caller is None:
            continue
        addr = int(insn.group(1), 16)
        if pending:
            calls.append(Call(pending[0], addr, pending[1]))
            pending = None
        target = _TARGET.search(insn.group(3))
        if (insn.group(2) in _CALLS and target and
                not insn.group(3).startswith(("zero,", "x0,"))):
            pending = (caller, target.group(1))
    return calls


def _run(tools: tuple[str, ...], args: list[str], elf_path: Optional[str]) -> str:
    """The first available tool's output on the ELF, "" when anything goes wrong."""
    tool = next((t for t in map(shutil.which, tools) if t), None)
    if not tool or not elf_path or not pathlib.Path(elf_path).is_file():
        return ""
    try:
        p = subprocess.run([tool, *args, elf_path], capture_output=True, text=True,
                           errors="replace", timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    return p.stdout if p.returncode == 0 else ""


def disassemble(elf_path: Optional[str], build_id: str) -> list[Call]:
    """The direct calls of an ELF; none when it cannot be read or is another build than
    build_id (a rebuilt kernel at the same path)."""
    note = _BUILD_ID.search(_run(READELF, ["-n"], elf_path))
    if not note or note.group(1).lower() != build_id.lower():
        return []
    return parse(_run(OBJDUMP, ["-d", "--no-show-raw-insn"], elf_path))


def allocation_sites(calls: Iterable[Call], failed: Iterable[int],
                     is_allocator: Callable[[Optional[str]], bool]) -> set[int]:
    """Return addresses of the calls into an allocation entry point: a known one, or a
    callee some run failed (a pc in `failed`). Calls made by allocator functions are not
    sites."""
    calls = list(calls)
    failed = set(failed)
    entries = ENTRY_POINTS | {c.callee for c in calls if c.ret in failed}
    return {c.ret for c in calls if c.callee in entries and not is_allocator(c.caller)}
