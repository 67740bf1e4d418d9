"""Shared pytest fixtures: where the built artifacts are. `make test` builds them first."""
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = pathlib.Path(os.environ.get("FAULTLINE_BUILD", ROOT / "build"))
DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def build_dir():
    return BUILD


@pytest.fixture(scope="session")
def data_dir():
    return DATA


@pytest.fixture(scope="session")
def kernel_elf():
    p = BUILD / "kernel.elf"
    assert p.exists(), f"{p} missing: run `make` first"
    return p


def may_mount() -> bool:
    """Whether this process holds CAP_SYS_ADMIN, which mounting a tmpfs needs."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> 21 & 1)
    return False


# Tests that build a real read-only or full filesystem with mount(8). Where the process may
# not mount at all (an unprivileged container), they cannot run; a mount that fails where it
# is allowed still fails the test.
needs_mount = pytest.mark.skipif(not may_mount(), reason="mounting a tmpfs needs CAP_SYS_ADMIN")
