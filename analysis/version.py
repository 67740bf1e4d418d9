"""faultline's version string, as scripts/version.sh makes it for every tool (VERSION plus the
git commit of a checkout); the number alone when the script cannot run."""
from __future__ import annotations

import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent


def version() -> str:
    try:
        out = subprocess.run([str(ROOT / "scripts" / "version.sh")], capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    return out or (ROOT / "VERSION").read_text(encoding="utf-8").strip()
