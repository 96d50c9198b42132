"""Helpers for the minutes tests: the Debian tools that check PDFs independently."""

from __future__ import annotations

import shutil
import subprocess


def require_tool(name: str) -> str:
    """The path of a Debian tool the checks need; `make install` installs it (scripts/install-pdf-deps.sh)."""
    path = shutil.which(name)
    assert path, f"{name} is missing: run `make install` (scripts/install-pdf-deps.sh installs it)"
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)  # noqa: S603
