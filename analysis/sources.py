"""Kernel source files: paths relative to the repository root, and excerpts around a line.

Frames carry file:line as recorded in DWARF, relative to the build's src_root when the tracer
could make them so, else absolute. Sources may be missing (another machine, a deleted
checkout): that is reported as missing, never raised.

DWARF file names come from the kernel's build and are untrusted: `#line 1 "/etc/passwd"` or a
`../` path would otherwise put a host file into the report. A file is read only when its real
path (symlinks and .. resolved) lies inside one of the source roots.
"""
from __future__ import annotations

import dataclasses
import pathlib
from typing import Optional

from .model import Build

MAX_SOURCE_BYTES = 4 << 20


def find_repo_root(start: Optional[str | pathlib.Path]) -> Optional[pathlib.Path]:
    """The nearest directory at or above start that holds a .git entry."""
    if not start:
        return None
    p = pathlib.Path(start).resolve()
    for d in (p, *p.parents):
        if (d / ".git").exists():
            return d
    return None


@dataclasses.dataclass
class SourceLine:
    number: int
    text: str
    target: bool


@dataclasses.dataclass
class Excerpt:
    path: str                 # repo-relative path, or the file as recorded
    line: Optional[int]
    lines: list[SourceLine]
    missing: Optional[str]    # why there is nothing to show, None when lines are shown


class SourceTree:
    """Resolves recorded source paths for each build; caches file contents."""

    def __init__(self, builds: dict[int, Build], repo_root: Optional[pathlib.Path] = None,
                 src_root: Optional[pathlib.Path] = None):
        self.builds = builds
        self.src_root_override = src_root
        roots = [b.src_root for b in builds.values() if b.src_root]
        # the checkout holding the recorded sources, else the one we run in, else the one
        # this package lives in (the usual layout: analysis/ next to sample-kernel/)
        self.repo_root = (repo_root or find_repo_root(roots[0] if roots else None)
                          or find_repo_root(pathlib.Path.cwd())
                          or find_repo_root(pathlib.Path(__file__).parent)
                          or pathlib.Path.cwd())
        self._cache: dict[pathlib.Path, Optional[list[str]]] = {}

    def roots(self, build: int) -> list[pathlib.Path]:
        """Where a build's sources may be read, in lookup order: --src-root, the build's
        recorded src_root, the repository root."""
        b = self.builds.get(build)
        roots = [self.src_root_override, pathlib.Path(b.src_root) if b and b.src_root
                 else None, self.repo_root]
        return [r for r in roots if r]

    def _inside_roots(self, build: int, file: str) -> list[pathlib.Path]:
        """The file as each root would hold it (an absolute path is the same under every
        root), with symlinks and .. resolved, where that stays inside the root."""
        out = []
        for root in self.roots(build):
            try:
                real_root = root.resolve()
                path = (real_root / file).resolve()
            except (OSError, RuntimeError, ValueError):   # a symlink loop, a NUL byte
                continue
            if path.is_relative_to(real_root):
                out.append(path)
        return out

    def resolve(self, build: int, file: Optional[str]) -> Optional[pathlib.Path]:
        """The real path of a recorded source file that exists inside a source root."""
        if not file:
            return None
        return next((p for p in self._inside_roots(build, file) if p.is_file()), None)

    def relative(self, build: int, file: Optional[str]) -> Optional[str]:
        """The path relative to the repo root when it lies inside it, else as recorded."""
        if not file:
            return None
        resolved = self.resolve(build, file)
        repo_root = self.repo_root.resolve()
        for c in ([resolved] if resolved else []) + self._inside_roots(build, file):
            if c.is_relative_to(repo_root):
                return c.relative_to(repo_root).as_posix()
        return file

    def whole(self, build: int, file: str) -> Optional[list[str]]:
        """Every line of a recorded source file inside a source root, None when there is
        none (missing, outside the roots, unreadable or too large)."""
        path = self.resolve(build, file)
        return self._read(path) if path else None

    def lcov_path(self, build: int, file: str) -> str:
        """The path an lcov tracefile names: the real file when it is inside a source root,
        else the file as recorded."""
        return str(self.resolve(build, file) or file)

    def _read(self, path: pathlib.Path) -> Optional[list[str]]:
        if path not in self._cache:
            try:
                if path.stat().st_size > MAX_SOURCE_BYTES:
                    self._cache[path] = None
                else:
                    text = path.read_bytes().decode("utf-8", "replace")
                    self._cache[path] = text.splitlines()
            except OSError:
                self._cache[path] = None
        return self._cache[path]

    def excerpt(self, build: int, file: Optional[str], line: Optional[int],
                context: int = 3) -> Excerpt:
        rel = self.relative(build, file) or ""
        if not file:
            return Excerpt(rel, line, [], "no source location recorded")
        if not self._inside_roots(build, file):
            return Excerpt(rel, line, [], "source not available: the recorded path leads "
                                          "outside the source roots")
        path = self.resolve(build, file)
        if path is None:
            return Excerpt(rel, line, [], "source file not found")
        lines = self._read(path)
        if lines is None:
            return Excerpt(rel, line, [], "source file unreadable or too large")
        if not line or line < 1 or line > len(lines):
            return Excerpt(rel, line, [], f"line {line} is not in the file "
                                          f"({len(lines)} lines)")
        lo, hi = max(1, line - context), min(len(lines), line + context)
        return Excerpt(rel, line, [SourceLine(i, lines[i - 1].expandtabs(8), i == line)
                                   for i in range(lo, hi + 1)], None)
