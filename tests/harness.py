"""Drive the sample kernel in QEMU over its virtio console (docs/protocol.md).

A small helper for the end-to-end tests that talk to the kernel line by line: it starts the
machine through `build/injector boot` (so tests boot QEMU exactly as sweeps do) with the
console on one end of a socketpair, sends commands, collects records until `end`, enforces
timeouts, and always kills and reaps QEMU.
"""
import collections
import dataclasses
import functools
import pathlib
import re
import select
import socket
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
INJECTOR = ROOT / "build" / "injector"
RECORDS_DEF = ROOT / "tracer" / "records.def"


class KernelTimeout(Exception):
    """The kernel did not produce the expected line in time."""


class KernelExited(Exception):
    """The console closed (QEMU exited) before the expected line."""


def boot_argv(elf, console_fd, serial="null"):
    """Start the machine the way every sweep does: `injector boot` becomes QEMU with the
    injector's own command line (reset allowed), the console on console_fd."""
    return [str(INJECTOR), "boot", "--kernel", str(elf), "--console-fd", str(console_fd),
            "--serial", serial, "--mode", "reset"]


class Kernel:
    """One QEMU process running the kernel; use as a context manager."""

    def __init__(self, elf, timeout=10.0, serial="null"):
        self.timeout = timeout
        self.lines = collections.deque(maxlen=4096)   # the latest lines, for diagnostics
        self._buf = b""          # a partial line
        self._pending = []       # complete lines not yet read
        host, guest = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = host
        try:
            self.proc = subprocess.Popen(
                boot_argv(elf, guest.fileno(), serial), pass_fds=(guest.fileno(),),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except BaseException:
            host.close()
            raise
        finally:
            guest.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stderr.close()
        self.sock.close()

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def readline(self, timeout=None):
        """The next line (without the newline); raises KernelTimeout / KernelExited."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise KernelTimeout(f"no line within timeout; partial {self._buf[:80]!r}")
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                continue
            data = self.sock.recv(1 << 18)
            if not data:
                raise KernelExited(f"console closed; partial {self._buf[:80]!r}")
            *complete, self._buf = (self._buf + data).split(b"\n")
            self._pending = [ln.decode("ascii") for ln in reversed(complete)]
        text = self._pending.pop()
        self.lines.append(text)
        return text

    def expect(self, first_word, timeout=None):
        """Read lines until one starts with first_word; returns it split into tokens."""
        while True:
            toks = self.readline(timeout).split(" ")
            if toks[0] == first_word:
                return toks

    def hello(self, timeout=None):
        """Wait for the handshake; returns (version, build_id)."""
        toks = self.expect("hello", timeout)
        return int(toks[2]), toks[3]

    def command(self, line):
        """Send a command and return its answer: ("ok", word) or ("err", word, reason)."""
        self.send(line)
        while True:
            toks = self.readline().split(" ")
            if toks[0] in ("ok", "err"):
                return tuple(toks)

    def run(self, scenario, arm=None, timeout=None):
        """Arm (optional) and run a scenario; returns the run's records up to `end`."""
        if arm is not None:
            ans = self.command("arm " + arm)
            if ans[0] != "ok":
                raise ValueError(f"arm {arm!r} refused: {ans}")
        ans = self.command("run " + scenario)
        if ans[0] != "ok":
            raise ValueError(f"run {scenario!r} refused: {ans}")
        records = []
        while True:
            line = self.readline(timeout)
            records.append(line)
            if line.startswith("end "):
                return records

    def reset(self):
        """Reset the machine and wait for its fresh hello; returns (version, build_id)."""
        ans = self.command("reset")
        if ans != ("ok", "reset"):
            raise ValueError(f"reset refused: {ans}")
        return self.hello()

    def restart(self):
        """Warm-restart the kernel (no machine reset) and wait for its fresh hello."""
        ans = self.command("restart")
        if ans != ("ok", "restart"):
            raise ValueError(f"restart refused: {ans}")
        return self.hello()

    def quit(self):
        """Ask the kernel to power off; returns QEMU's exit status."""
        self.send("quit")
        try:
            return self.proc.wait(self.timeout)
        except subprocess.TimeoutExpired:
            raise KernelTimeout("QEMU did not exit after quit") from None


@dataclasses.dataclass(frozen=True)
class Layout:
    """One record type as tracer/records.def declares it (the tracer's parser reads it)."""
    name: str
    nfields: int          # tokens in the line, the name included
    rest: bool            # the last field takes the rest of the line verbatim
    fields: tuple         # the field names after the record's name


_ROW = re.compile(r'^FT_RECORD\(\w+,\s*"([^"]+)",\s*(\d+),\s*([01]),\s*\w+,\s*"([^"]*)"\)$',
                  re.M)


@functools.cache
def record_layouts():
    """{name: Layout} of every record type, from tracer/records.def."""
    text = RECORDS_DEF.read_text()
    rows = [Layout(m[1], int(m[2]), m[3] == "1", tuple(m[4].split()))
            for m in _ROW.finditer(text)]
    if len(rows) != len(re.findall(r"^FT_RECORD\(", text, re.M)):
        raise ValueError(f"{RECORDS_DEF}: a row this reader does not understand")
    for lay in rows:
        if len(lay.fields) + 1 != lay.nfields:
            raise ValueError(f"{RECORDS_DEF}: {lay.name} names {len(lay.fields)} fields "
                             f"but has {lay.nfields - 1}")
    return {lay.name: lay for lay in rows}


def record(name, *fields):
    """One record line (without its newline), its fields checked against its layout."""
    lay = record_layouts()[name]
    toks = [str(f) for f in fields]
    fixed = toks[:-1] if lay.rest else toks
    if len(toks) != lay.nfields - 1 or not all(t and " " not in t for t in fixed):
        raise ValueError(f"{name} takes {' '.join(lay.fields)}, not {toks!r}")
    return " ".join([name, *toks])


def fields_of(line):
    """(name, {field: value}) of one record line, by its layout; ValueError if it has
    another shape."""
    name = line.split(" ", 1)[0]
    lay = record_layouts().get(name)
    if lay is None:
        raise ValueError(f"not a record: {line!r}")
    toks = line.split(" ", lay.nfields - 1 if lay.rest else -1)
    if lay.rest and len(toks) == lay.nfields - 1:
        toks.append("")   # the free text may be empty
    if len(toks) != lay.nfields:
        raise ValueError(f"{name} takes {lay.nfields - 1} fields: {line!r}")
    return name, dict(zip(lay.fields, toks[1:]))


def records_of(lines, kind):
    """The records of one type, each split into tokens."""
    if kind not in record_layouts():
        raise ValueError(f"no record type {kind!r}")
    return [ln.split(" ") for ln in lines if ln.split(" ", 1)[0] == kind]


def elf_build_id(elf):
    """The GNU build-id of an ELF file, read from its notes, as lowercase hex."""
    out = subprocess.run(["riscv64-unknown-elf-readelf", "-n", str(elf)], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split("Build ID:")[1].strip()
    raise ValueError(f"{elf} has no build id")


def function_range(elf, name):
    """[lo, hi) of a function symbol in the ELF, for `arm ... lo= hi=`."""
    out = subprocess.run(["riscv64-unknown-elf-nm", "-S", str(elf)], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] == name and parts[2] in "tT":
            lo = int(parts[0], 16)
            return lo, lo + int(parts[1], 16)
    raise ValueError(f"{name} not in {elf}")
