"""The `kokous` command on a fresh data directory: migrate, demo, users, audit verify and export."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from core.clock import system_clock
from web.cli import main


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KOKOUS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KOKOUS_PASSWORD_PROFILE", "test")
    monkeypatch.setenv("KOKOUS_BASE_URL", "https://kokous.example")
    assert main(["db", "upgrade"]) == 0
    return tmp_path


def test_demo_seeds_once_and_prints_logins(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--if-empty"]) == 0
    first = capsys.readouterr().out
    for username in ("admin", "auditor", "chair", "secretary", "member"):
        assert f" {username} " in first
    assert (data_dir / "demo-logins.txt").stat().st_mode & 0o777 == 0o600
    assert main(["demo", "--if-empty"]) == 0
    assert capsys.readouterr().out.strip() in first
    assert main(["demo"]) == 1  # never seeds into a database that has users
    database = sqlite3.connect(data_dir / "kokous.sqlite3")
    assert database.execute("SELECT slug FROM body ORDER BY slug").fetchall() == [
        ("kh",),
        ("sivla",),
        ("valtuusto",),
    ]
    assert database.execute("SELECT status, is_public FROM meeting ORDER BY id").fetchall() == [
        ("called", 0),
        ("called", 1),
        ("called", 1),  # the executive board's meeting today (web.demo.live)
        ("closed", 1),  # the board's past meetings, with their minutes (web/demo/minutes.py); the first
        ("closed", 0),  # public and recorded
    ]
    # The public meeting's public items have a generated recording each, offered to the public; the
    # confidential item none (R-EMEET-6).
    [(past,)] = database.execute("SELECT id FROM meeting WHERE status = 'closed' AND is_public = 1")
    clips = sorted((data_dir / "recordings" / str(past)).iterdir())
    public = database.execute(
        "SELECT section FROM agenda_item WHERE meeting_id = ? AND publicity = 'public' ORDER BY section",
        (past,),
    ).fetchall()
    assert len(public) == 2
    assert [re.sub(r"_.*", "", c.name) for c in clips] == [f"item-{section}" for (section,) in public]
    assert all(c.suffix == ".webm" and 10_000 < c.stat().st_size < 200_000 for c in clips)
    offered = database.execute("SELECT data FROM audit_entry WHERE action = 'media.recordings_public_set'")
    assert offered.fetchall() == [('{"on":true}',)]
    kinds = database.execute("SELECT publicity, decision_mode FROM agenda_item ORDER BY id").fetchall()
    assert ("confidential", "meeting") in kinds
    assert ("public", "decision_procedure") in kinds
    # The board's second item in the procedure is decided and waits for the demo member's check (R-CHECK-5).
    assert database.execute("SELECT state FROM procedure_item ORDER BY id").fetchall() == [
        ("open",),
        ("decided",),
    ]
    [(state, checkers)] = database.execute("SELECT state, checkers FROM procedure_check").fetchall()
    member = database.execute("SELECT id FROM user_account WHERE username = 'member'").fetchone()[0]
    assert (state, member in json.loads(checkers)) == ("checking", True)
    assert database.execute("SELECT count(*) FROM outbox_message").fetchone()[0] > 0
    attachment = database.execute("SELECT is_public, sha256 FROM attachment").fetchall()
    assert len(attachment) == 1
    assert attachment[0][0] == 0
    assert (data_dir / "attachments" / attachment[0][1][:2] / attachment[0][1][2:]).exists()


def test_keys_are_created_owner_only(data_dir: Path) -> None:
    for name in ("audit-ed25519.pem", "token-es256.pem", "secretbox.key"):
        assert (data_dir / "keys" / name).stat().st_mode & 0o777 == 0o600


def test_user_commands(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert (
        main(["user", "create", "Pekka", "--name", "Pekka P", "--role", "auditor", "--password-stdin"]) == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "set-password", "pekka", "--password-stdin"]) == 1
    assert "at least 10 characters" in capsys.readouterr().err
    assert main(["user", "reset-totp", "nobody"]) == 1
    assert main(["user", "grant", "pekka", "admin"]) == 0
    actions = [
        row[0]
        for row in sqlite3.connect(data_dir / "kokous.sqlite3").execute(
            "SELECT action FROM audit_entry ORDER BY seq"
        )
    ]
    assert actions == ["user.created", "role.granted", "role.granted"]


def test_audit_verify_export_and_tamper(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["demo"])
    capsys.readouterr()
    assert main(["audit", "checkpoint"]) == 0
    assert capsys.readouterr().out.startswith("kokous.example/audit\n")
    assert main(["audit", "verify"]) == 0
    # The demo's signed minutes wrote checkpoints of their own (web/demo/minutes.py).
    assert re.match(r"intact: \d+ entries, \d+ checkpoints verified", capsys.readouterr().out)
    export, notes = data_dir / "audit.jsonl", data_dir / "checkpoints.txt"
    assert main(["audit", "export", "--out", str(export), "--checkpoints", str(notes)]) == 0
    vkey = capsys.readouterr().err.split("verifier key: ")[1].strip()
    assert main(["audit", "verify", "--file", str(export), "--checkpoints", str(notes), "--vkey", vkey]) == 0
    database = sqlite3.connect(data_dir / "kokous.sqlite3")
    database.execute("DROP TRIGGER audit_entry_no_update")
    database.execute("UPDATE audit_entry SET actor = 'cli:mallory' WHERE seq = 4")
    database.commit()
    capsys.readouterr()
    assert main(["audit", "verify"]) == 2
    assert capsys.readouterr().out.startswith("BROKEN: entry 4 was changed")


def test_mail_purge_deletes_old_delivered_mail_only(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KOKOUS_OUTBOX_DAYS", "7")
    database = sqlite3.connect(data_dir / "kokous.sqlite3")
    old = "2026-01-01 09:00:00.000000"
    for sent_at, attempts in ((old, 1), (None, 0)):
        database.execute(
            "INSERT INTO outbox_message (kind, reference, recipient, subject, body, created_at, sent_at,"
            " attempts, last_attempt_at, last_error) VALUES ('meeting.call', 'meeting:1',"
            " 'aino@example.test', 'Kokouskutsu', 'KOKOUSKUTSU', ?, ?, ?, ?, '')",
            (old, sent_at, attempts, sent_at),
        )
    database.commit()

    assert main(["mail", "purge"]) == 0

    assert "Deleted 1 delivered or given-up e-mail messages older than 7 days." in capsys.readouterr().out
    assert database.execute("SELECT sent_at FROM outbox_message").fetchall() == [(None,)]
    [(actor, data)] = database.execute("SELECT actor, data FROM audit_entry WHERE action = 'mail.purged'")
    assert actor.startswith("cli:")
    assert '"count":1' in data


def test_recordings_prune_removes_expired_recordings_only_when_a_retention_is_set(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """R-PUBLIC-4: without KOKOUS_RECORDINGS_KEEP_DAYS nothing is removed; with it, the recordings started
    that long ago are, each with its audit entry (the command runs on the system clock)."""
    place = data_dir / "recordings" / "7"
    place.mkdir(parents=True)
    now = system_clock()
    old, young = (f"item-{n}_{now - timedelta(days=d):%Y%m%dT%H%M%SZ}.webm" for n, d in ((1, 31), (2, 29)))
    for name in (old, young):
        (place / name).write_bytes(b"webm")

    assert main(["recordings", "prune"]) == 0
    assert "KOKOUS_RECORDINGS_KEEP_DAYS is not set" in capsys.readouterr().out
    assert sorted(p.name for p in place.iterdir()) == sorted([old, young])

    monkeypatch.setenv("KOKOUS_RECORDINGS_KEEP_DAYS", "30")
    assert main(["recordings", "prune"]) == 0
    out = capsys.readouterr().out
    assert f"Removed meeting 7: {old} (4 bytes)" in out
    assert "Removed 1 recordings kept 30 days or longer." in out
    assert [p.name for p in place.iterdir()] == [young]
    database = sqlite3.connect(data_dir / "kokous.sqlite3")
    [(actor, subject, data)] = database.execute(
        "SELECT actor, subject, data FROM audit_entry WHERE action = 'media.recording_removed'"
    )
    assert actor.startswith("cli:")
    assert subject == "meeting:7"
    assert f'"file":"{old}"' in data
