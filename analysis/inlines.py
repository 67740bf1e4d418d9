"""Inlined functions at a pc, from the build's DWARF via binutils' addr2line.

The tracer symbolizes each pc to its ELF symbol (frames.func) and the DWARF line of the
innermost inlined code (frames.file/line). A function the compiler inlined is therefore
named by its caller's symbol; to blame the function a mistake is in (map_regions inlined
into scen_vm, vm_destroy into kvm_fini) analysis asks addr2line for the inline chain. The
ELF is untrusted input: addr2line runs with an argv list and a timeout, and any failure
(no tool, no ELF, garbage output) leaves a pc with its symbol only.
"""
from __future__ import annotations

import dataclasses
import pathlib
import shutil
import subprocess
from typing import Optional

from .model import Build, Frame

TOOLS = ("riscv64-unknown-elf-addr2line", "llvm-addr2line", "addr2line")
TIMEOUT_S = 20


@dataclasses.dataclass(frozen=True)
class Scope:
    """One function of an inline chain and the line in it (for an outer scope: the line
    that the inner one was inlined at)."""
    func: str
    file: str
    line: int


def _parse(text: str) -> dict[int, list[Scope]]:
    """addr2line -a -f -i output: an address line, then (function, file:line) pairs."""
    out: dict[int, list[Scope]] = {}
    lines = text.splitlines()
    k, addr = 0, None
    while k < len(lines):
        line = lines[k].strip()
        if line.startswith("0x"):
            try:
                addr = int(line, 16)
            except ValueError:
                addr = None
            k += 1
            continue
        if addr is None or k + 1 >= len(lines):
            break
        file, _, num = lines[k + 1].strip().rpartition(":")
        number = num.split(" ")[0]
        if line != "??" and number.isdigit():
            out.setdefault(addr, []).append(Scope(line, file, int(number)))
        k += 2
    return out


class Inlines:
    """Inline chains per (build, pc), cached; one addr2line call per batch of pcs."""

    def __init__(self, builds: dict[int, Build]):
        self.builds = builds
        self.tool = next((t for t in map(shutil.which, TOOLS) if t), None)
        self._chains: dict[tuple[int, int], tuple[Scope, ...]] = {}

    def prefetch(self, build: int, pcs) -> None:
        b = self.builds.get(build)
        missing = sorted({pc for pc in pcs if (build, pc) not in self._chains})
        if not missing:
            return
        found: dict[int, list[Scope]] = {}
        if self.tool and b and b.elf_path and pathlib.Path(b.elf_path).is_file():
            try:
                p = subprocess.run([self.tool, "-a", "-f", "-i", "-e", b.elf_path,
                                    *(f"{pc - 1:x}" for pc in missing)],
                                   capture_output=True, text=True, errors="replace",
                                   timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
                found = _parse(p.stdout) if p.returncode == 0 else {}
            except (OSError, subprocess.SubprocessError):
                found = {}
        for pc in missing:
            self._chains[(build, pc)] = tuple(found.get(pc - 1, ()))

    def innermost(self, build: int, pc: int) -> Optional[Scope]:
        """The innermost function at return address pc and its line, or None when unknown."""
        self.prefetch(build, [pc])
        scopes = self._chains[(build, pc)]
        return scopes[0] if scopes else None

    def chain(self, build: int, frame: Frame) -> list[Frame]:
        """The frame as the functions inlined at its pc, innermost first, by their source
        names (a compiler clone such as exec_build.isra.0 is exec_build); the frame alone
        when nothing is known. The innermost keeps the frame's own file:line."""
        self.prefetch(build, [frame.pc])
        scopes = self._chains[(build, frame.pc)]
        symbol = frame.func or ""
        if not scopes or not (symbol == scopes[-1].func or
                              symbol.startswith(scopes[-1].func + ".")):
            return [frame]      # unknown, or DWARF disagrees with the symbol table
        out = [Frame(frame.pc, scopes[0].func, frame.file, frame.line)]
        for s in scopes[1:]:
            file = frame.file if frame.file and s.file.endswith("/" + frame.file) else s.file
            out.append(Frame(frame.pc, s.func, file, s.line))
        return out

    def common(self, build: int, a: Frame, b: Frame) -> Frame:
        """The innermost inline scope two pcs of one function share (a's view of it)."""
        ca, cb = self.chain(build, a)[::-1], self.chain(build, b)[::-1]
        if a.pc == b.pc:
            return ca[-1]
        t = 0
        while (t + 1 < min(len(ca), len(cb)) and ca[t + 1].func == cb[t + 1].func
               and ca[t].line == cb[t].line):
            t += 1
        return ca[t]

    def expand(self, build: int, frames) -> list[Frame]:
        """A stack with every inlined function as a frame of its own, innermost first."""
        frames = list(frames)
        self.prefetch(build, [f.pc for f in frames])
        return [v for f in frames for v in self.chain(build, f)]
