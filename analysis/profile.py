"""The kernel profile: one INI file per kernel (docs/profile.md).

Read with configparser, set to read what libinih reads in the injector (injector/profile.c):
case-sensitive names, `#`/`;` comment lines and ` ;` comments after a value, no interpolation, no DEFAULT section. The
analysis keeps what it uses (the ELF, the sweep defaults, the allocator and internal
functions, the atomicity promise, suppressions, the pytest plugin's defaults); the [qemu] and
[timeouts] values are the injector's, which checks them when it is given the same file.
Every error names FILE:LINE.
"""
from __future__ import annotations

import configparser
import dataclasses
import pathlib
from typing import Callable, Iterator, Optional

LONGEST_LINE = 196                      # libinih's fixed line buffer
FILE_NAME = "faultline.ini"

# The allocators' function names a kernel without a profile is assumed to have (the common
# kernel and libc names, and the sample kernel's).
DEFAULT_ALLOCATORS: tuple[str, ...] = (
    "page_alloc", "page_free", "obj_alloc", "obj_free", "kalloc", "kfree", "kmalloc",
    "kzalloc", "kcalloc", "krealloc", "vmalloc", "vfree", "malloc", "calloc", "realloc",
    "free",
)
DEFAULT_INTERNAL: tuple[str, ...] = ("page_take_internal", "page_give_internal")


class ProfileError(Exception):
    """The profile cannot be used; the message names the file and line."""


@dataclasses.dataclass(frozen=True)
class Profile:
    path: Optional[pathlib.Path] = None          # None: no profile, every default
    elf: Optional[pathlib.Path] = None
    scenarios: tuple[str, ...] = ()
    mode: Optional[str] = None
    fault: Optional[str] = None
    allocators: tuple[str, ...] = DEFAULT_ALLOCATORS
    internal: tuple[str, ...] = DEFAULT_INTERNAL
    atomic: tuple[str, ...] = ("*",)
    not_atomic: tuple[str, ...] = ()
    suppressions: Optional[pathlib.Path] = None
    min_error_coverage: Optional[float] = None

    @property
    def allocator_globs(self) -> tuple[str, ...]:
        """The functions whose frames leave fingerprints: allocators and their internals."""
        return self.allocators + self.internal

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "no kernel profile"


@dataclasses.dataclass(frozen=True)
class _Value:
    text: str
    where: str                                  # FILE:LINE: [section] key

    def fail(self, what: str) -> ProfileError:
        return ProfileError(f"{self.where} {what}, not {self.text!r}")


def _path(v: _Value, base: pathlib.Path) -> pathlib.Path:
    words = v.text.split()
    if len(words) != 1:
        raise v.fail("wants one path")
    return base / words[0]


def _words(v: _Value, base: pathlib.Path) -> tuple[str, ...]:
    return tuple(v.text.split())


def _word(v: _Value, base: pathlib.Path) -> str:
    words = v.text.split()
    if len(words) != 1:
        raise v.fail("wants one word")
    return words[0]


def _percent(v: _Value, base: pathlib.Path) -> float:
    try:
        p = float(v.text)
    except ValueError:
        p = -1.0
    if not 0 <= p <= 100:
        raise v.fail("wants a percentage from 0 to 100")
    return p


def _injector(v: _Value, base: pathlib.Path) -> None:
    """A value the injector reads and checks (docs/profile.md)."""
    return None


Reader = Callable[[_Value, pathlib.Path], object]
# section -> key -> (Profile field or None, reader): the whole format, as docs/profile.md
# lists it; injector/profile.c holds the same names.
KEYS: dict[str, dict[str, tuple[Optional[str], Reader]]] = {
    "kernel": {"elf": ("elf", _path)},
    "qemu": {k: (None, _injector) for k in ("binary", "machine", "memory", "smp", "bios",
                                             "virtio", "drives", "args")},
    "timeouts": {"boot": (None, _injector), "run": (None, _injector)},
    "sweep": {"scenarios": ("scenarios", _words), "mode": ("mode", _word),
              "fault": ("fault", _word)},
    "analysis": {"allocators": ("allocators", _words), "internal": ("internal", _words),
                 "atomic": ("atomic", _words), "not_atomic": ("not_atomic", _words),
                 "suppressions": ("suppressions", _path)},
    "pytest": {"min_error_coverage": ("min_error_coverage", _percent)},
}


class _Lines:
    """A file's lines, counted as configparser takes them one at a time."""

    def __init__(self, text: str):
        self.lines = text.splitlines(keepends=True)
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        for self.number, line in enumerate(self.lines, 1):
            yield line


def _located_dict(lines: _Lines, seen: dict[tuple[str, ...], int]) -> type:
    """A dict type for configparser that notes the line each section and key was first
    stored on: configparser stores them as it reads their lines."""
    class Located(dict):
        name: Optional[str] = None

        def __setitem__(self, key, value):
            if isinstance(value, Located):          # a section being registered
                value.name = key
                seen.setdefault((key,), lines.number)
            elif self.name is not None:             # a key in that section
                seen.setdefault((self.name, key), lines.number)
            super().__setitem__(key, value)
    return Located


def _not_ini(source: str, line: int, text: str) -> ProfileError:
    return ProfileError(f"{source}:{line}: not a [section], key = value, or an indented "
                        f"continuation: {text}")


def _read(text: str, source: str) -> tuple[configparser.RawConfigParser,
                                            dict[tuple[str, ...], int]]:
    for n, line in enumerate(text.splitlines(), 1):
        if len(line) > LONGEST_LINE:
            raise ProfileError(f"{source}:{n}: line longer than {LONGEST_LINE} characters")
    lines, seen = _Lines(text), {}
    cp = configparser.RawConfigParser(dict_type=_located_dict(lines, seen), strict=True,
                                      default_section="\n", interpolation=None,
                                      inline_comment_prefixes=(";",))
    cp.optionxform = str                            # names are case-sensitive, as in C
    try:
        cp.read_file(lines, source)
    except configparser.MissingSectionHeaderError as e:
        if not e.line.lstrip().startswith("["):
            raise ProfileError(f"{source}:{e.lineno}: a key before any [section]") from e
        raise _not_ini(source, e.lineno, repr(e.line)) from e
    except configparser.ParsingError as e:
        raise _not_ini(source, *e.errors[0]) from e
    except configparser.DuplicateOptionError as e:
        raise ProfileError(f"{source}:{e.lineno}: {e.option!r} given twice in "
                           f"[{e.section}]") from e
    except configparser.DuplicateSectionError as e:
        raise ProfileError(f"{source}:{e.lineno}: [{e.section}] given twice") from e
    return cp, seen


def parse(text: str, source: str, base: pathlib.Path) -> Profile:
    """The profile in text (read from source, relative paths from base)."""
    cp, seen = _read(text, source)
    fields = {}
    for section in cp.sections():
        keys = KEYS.get(section)
        if keys is None:
            raise ProfileError(f"{source}:{seen[(section,)]}: unknown section [{section}] "
                               f"(known: {', '.join(KEYS)})")
        for key, text_value in cp.items(section, raw=True):
            line = f"{source}:{seen[(section, key)]}"
            if key not in keys:
                raise ProfileError(f"{line}: unknown key {key!r} in [{section}] "
                                   f"(known: {', '.join(keys)})")
            field, reader = keys[key]
            value = reader(_Value(text_value, f"{line}: [{section}] {key}"), base)
            if field is not None:
                fields[field] = value
    return Profile(path=pathlib.Path(source), **fields)


def load(path: str | pathlib.Path) -> Profile:
    p = pathlib.Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ProfileError(f"{p}: cannot read the kernel profile: {e}") from e
    return parse(text, str(p), p.parent)


def load_or_default(path: Optional[str | pathlib.Path]) -> Profile:
    return load(path) if path is not None else Profile()
