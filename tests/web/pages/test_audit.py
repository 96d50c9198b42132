"""The auditor's pages: names beside ids, actions in the reader's language, Finnish times with their offset,
bookmarkable filters, export of the view, and verification that tells a configuration from tampering."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from audit.actions import write_checkpoint
from audit.models import AuditAction
from audit.notes import Signer
from auth.models import Role
from core.clock import LOCAL, FixedClock
from core.errors import ValidationFailed
from tests.audit.test_log import tamperable, unprotected
from tests.factories import enrol_totp, make_body, make_user
from tests.web.pages.test_admin import browser_login
from web.audit_filters import local_moment
from web.context import AppContext
from web.pages.audit import ACTION_LABELS, shown_time

__all__ = ["tamperable"]  # a fixture, used by name


@pytest.fixture
async def auditor(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> int:
    user = await make_user(context, "tapio", roles=(Role.AUDITOR,))
    secret = await enrol_totp(context, "tapio")
    await browser_login(client, "tapio", secret, clock)
    client.cookies.set("kokous_lang", "en")
    return user.id


def test_every_action_has_a_label() -> None:
    assert set(ACTION_LABELS) == {str(a) for a in AuditAction}


def test_times_are_shown_in_helsinki_with_their_offset() -> None:
    assert shown_time("2026-11-28T09:00:05.123456Z") == "28.11.2026 11.00.05 +02:00"
    assert shown_time("2026-07-01T09:00:05.000000Z") == "1.7.2026 12.00.05 +03:00"
    since = local_moment("28.11.2026", "since")
    assert since is not None
    assert since.utcoffset() is not None
    assert since.isoformat() == "2026-11-28T00:00:00+02:00"
    until = local_moment("28.11.2026", "until", end_of_day=True)
    assert until is not None
    assert until.day == 29


@pytest.mark.parametrize("typed", ["31.12.9999", "9999-12-31", "1.1.0001", "31.12.9999 23.59"])
def test_a_typed_time_at_the_calendars_ends_is_refused_in_words(typed: str) -> None:
    with pytest.raises(ValidationFailed, match="2000 and 2999"):
        local_moment(typed, "until", end_of_day=True)


async def test_the_log_shows_names_labels_and_local_times(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, auditor: int
) -> None:
    page = await client.get("/audit")
    assert page.status_code == 200
    assert f'Tapio <span class="id">(user:{auditor})</span>' in page.text
    assert 'Signed in <span class="id">(session.started)</span>' in page.text
    local = clock().astimezone(LOCAL)
    assert f"{local.day}.{local.month}.{local.year} {local.hour}." in page.text
    assert local.strftime("%z")[:3] + ":" in page.text
    client.cookies.set("kokous_lang", "fi")
    finnish = await client.get("/audit")
    assert 'Kirjautui sisään <span class="id">(session.started)</span>' in finnish.text


async def test_filters_are_bookmarkable_and_exported_alike(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, auditor: int
) -> None:
    body_id = await make_body(context)
    day = clock().astimezone(LOCAL).date()
    query = {
        "actor": "system:test",
        "action": "body",
        "subject": f"body:{body_id}",
        "since": f"{day.day}.{day.month}.{day.year}",
    }
    page = await client.get("/audit", params=query)
    assert page.status_code == 200
    assert 'Kunnanhallitus <span class="id">(body:' in page.text
    assert "Body created" in page.text
    assert "Signed in" not in page.text.split("<table")[1]  # only the body's entries
    assert 'value="system:test"' in page.text  # the form keeps the bookmark's filters
    link = page.text.split('href="/api/audit/export?')[1].split('"')[0].replace("&amp;", "&")
    exported = parse_qs(link)
    assert exported["subject"] == [f"body:{body_id}"]
    assert exported["since"][0].endswith(("+02:00", "+03:00"))
    lines = await client.get("/api/audit/export", params={k: v[0] for k, v in exported.items()})
    assert lines.status_code == 200
    assert lines.text.count("\n") == 1
    assert '"action": "body.created"' in lines.text
    bad = await client.get("/audit", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert "Write the time as 28.11.2026" in bad.text
    assert urlsplit(str(bad.url)).query


async def test_an_over_long_filter_is_refused_and_kept_whole(client: httpx.AsyncClient, auditor: int) -> None:
    """Bounded input (issue 9): a filter longer than it can be is refused with the field named, never cut
    to a shorter one that would silently show other entries."""
    typed = "user:" + "9" * 300
    page = await client.get("/audit", params={"subject": typed})
    assert page.status_code == 422
    assert "At most 200 characters fit here." in page.text
    assert f'value="{typed}"' in page.text  # the form gives back what was typed, whole


async def test_verify_from_the_page(client: httpx.AsyncClient, context: AppContext, auditor: int) -> None:
    async with context.db.write() as session:
        await write_checkpoint(session, reason="test")
    page = await client.get("/audit/verify")
    assert page.status_code == 200
    assert "The log is intact" in page.text
    assert "Signed checkpoints" in page.text
    assert context.signer.verifier.vkey in page.text


async def test_only_the_base_url_differs_reports_an_origin_mismatch(
    client: httpx.AsyncClient, context: AppContext, auditor: int
) -> None:
    """Checkpoints signed by this server's key under an earlier address: a configuration, not tampering."""
    earlier = Signer("kokous.earlier.example/audit", context.signer._key)  # the same key
    async with context.db.write() as session:
        await write_checkpoint(session, reason="test", signer=earlier)
    page = await client.get("/audit/verify")
    assert page.status_code == 200
    assert "Origin mismatch" in page.text
    assert "origin mismatch" in page.text
    assert "BROKEN" not in page.text


async def test_an_edited_row_is_reported_broken(
    client: httpx.AsyncClient, tamperable: AppContext, auditor: int
) -> None:
    async with tamperable.db.write() as session:
        await write_checkpoint(session, reason="test")
        await unprotected(session, "UPDATE audit_entry SET actor = 'user:999' WHERE seq = 1")
    page = await client.get("/audit/verify")
    assert page.status_code == 200
    assert "The log is BROKEN" in page.text
    assert "entry 1 was changed" in page.text


@pytest.mark.parametrize("role", [None, Role.MEMBER, Role.SECRETARY, Role.ADMIN])
async def test_only_an_auditor_sees_the_audit_pages(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, role: Role | None
) -> None:
    if role is not None:
        await make_user(context, "someone", roles=(role,))
        secret = await enrol_totp(context, "someone")
        await browser_login(client, "someone", secret, clock)
    for path in ("/audit", "/audit/verify"):
        response = await client.get(path)
        assert response.status_code == (401 if role is None else 403), path


async def test_the_api_tells_a_mismatch_too(
    client: httpx.AsyncClient, context: AppContext, auditor: int
) -> None:
    earlier = Signer("kokous.earlier.example/audit", context.signer._key)  # the same key
    async with context.db.write() as session:
        await write_checkpoint(session, reason="test", signer=earlier)
    headers = {"x-csrf-token": client.cookies.get("kokous_csrf") or ""}
    answer = (await client.get("/api/audit/verify", headers=headers)).json()
    assert answer["status"] == "mismatch"
    assert answer["intact"] is False
    assert "origin mismatch" in answer["summary"]
