"""`kokous audit verify` tells a verifier configured for another origin or key from a log that was changed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from audit.notes import Verifier
from audit.verify import EXIT_BROKEN, EXIT_INTACT, EXIT_MISMATCH
from web.cli import main


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KOKOUS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KOKOUS_PASSWORD_PROFILE", "test")
    monkeypatch.setenv("KOKOUS_BASE_URL", "https://kokous.example")
    assert main(["db", "upgrade"]) == 0
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a long enough password\n"))
    assert main(["user", "create", "pekka", "--name", "Pekka", "--role", "auditor", "--password-stdin"]) == 0
    assert main(["audit", "checkpoint"]) == 0
    return tmp_path


def test_only_the_base_url_differs_is_an_origin_mismatch(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["audit", "verify"]) == EXIT_INTACT
    capsys.readouterr()
    monkeypatch.setenv("KOKOUS_BASE_URL", "http://127.0.0.1:8000")  # run without the server's setting
    assert main(["audit", "verify"]) == EXIT_MISMATCH
    said = capsys.readouterr().out
    assert said.startswith("CONFIGURATION MISMATCH (origin mismatch), not a broken log")
    assert "kokous.example/audit" in said
    assert "127.0.0.1:8000/audit" in said
    assert "KOKOUS_BASE_URL" in said
    assert "1 checkpoints verified" in said  # the same key still checks the checkpoint under its origin
    assert "BROKEN" not in said


def test_another_key_is_a_key_mismatch(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = Verifier("kokous.example/audit", bytes(range(32)))
    capsys.readouterr()
    assert main(["audit", "verify", "--vkey", other.vkey]) == EXIT_MISMATCH
    said = capsys.readouterr().out
    assert said.startswith("CONFIGURATION MISMATCH (key mismatch)")
    assert "--vkey" in said
    assert "the log is not verified against them" in said  # another key may also be a forger's


def test_an_edited_row_is_broken_whatever_the_configuration(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = sqlite3.connect(data_dir / "kokous.sqlite3")
    database.execute("DROP TRIGGER audit_entry_no_update")
    database.execute("UPDATE audit_entry SET actor = 'cli:mallory' WHERE seq = 1")
    database.commit()
    capsys.readouterr()
    assert main(["audit", "verify"]) == EXIT_BROKEN
    assert capsys.readouterr().out.startswith("BROKEN: entry 1 was changed")
    monkeypatch.setenv("KOKOUS_BASE_URL", "http://127.0.0.1:8000")
    assert main(["audit", "verify"]) == EXIT_BROKEN
    assert capsys.readouterr().out.startswith("BROKEN: entry 1 was changed")


def test_a_forged_signature_under_the_configured_key_is_broken(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = sqlite3.connect(data_dir / "kokous.sqlite3")
    note = database.execute("SELECT note FROM audit_checkpoint").fetchone()[0]
    origin, size, _root, *rest = note.split("\n")
    forged = "\n".join([origin, size, "A" * 43 + "=", *rest])
    database.execute("DROP TRIGGER IF EXISTS audit_checkpoint_no_update")
    database.execute("UPDATE audit_checkpoint SET note = ?", (forged,))
    database.commit()
    capsys.readouterr()
    assert main(["audit", "verify"]) == EXIT_BROKEN
    assert "is not validly signed" in capsys.readouterr().out
