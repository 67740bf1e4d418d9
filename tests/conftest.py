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
