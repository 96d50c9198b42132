"""The documents point at tests that exist: a test renamed or moved must take its references with it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(test_\w+)")
DEFINITION = re.compile(r"^(?:async )?def (test_\w+)", re.MULTILINE)


def test_every_test_a_document_names_exists() -> None:
    stale = []
    for document in sorted([*(ROOT / "docs").rglob("*.md"), ROOT / "README.md", ROOT / "SECURITY.md"]):
        for path, name in REFERENCE.findall(document.read_text()):
            module = ROOT / path
            if not module.exists() or name not in DEFINITION.findall(module.read_text()):
                stale.append(f"{document.relative_to(ROOT)}: {path}::{name}")
    assert not stale, "documents name tests that do not exist:\n" + "\n".join(stale)
