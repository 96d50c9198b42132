"""The auditor's API and page: only auditors, every refusal recorded, export and verification work."""

from __future__ import annotations

import json

import httpx
import pytest

from audit.actions import write_checkpoint
from auth.models import Role
from core.clock import FixedClock
from tests.factories import api_login, audit_entries, enrol_totp, make_user
from web.context import AppContext


@pytest.fixture
async def auditor(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> dict[str, str]:
    await make_user(context, "tapio", roles=(Role.AUDITOR,))
    secret = await enrol_totp(context, "tapio")
    return await api_login(client, "tapio", secret=secret, clock=clock)


async def test_auditor_lists_newest_first_and_filters(
    client: httpx.AsyncClient, context: AppContext, auditor: dict[str, str], clock: FixedClock
) -> None:
    await client.post("/api/auth/login", json={"username": "ghost", "password": "wrong password!"})
    everything = (await client.get("/api/audit/entries", headers=auditor)).json()
    seqs = [e["seq"] for e in everything["entries"]]
    assert seqs == sorted(seqs, reverse=True)
    failed = (
        await client.get("/api/audit/entries", headers=auditor, params={"action": "login.failed"})
    ).json()
    assert [e["subject"] for e in failed["entries"]] == ["username:ghost"]
    logins = (await client.get("/api/audit/entries", headers=auditor, params={"action": "login"})).json()
    assert {e["action"] for e in logins["entries"]} == {"login.failed"}
    sessions = (await client.get("/api/audit/entries", headers=auditor, params={"action": "session"})).json()
    assert {e["action"] for e in sessions["entries"]} == {"session.started"}
    by_user = (await client.get("/api/audit/entries", headers=auditor, params={"actor": "tapio"})).json()
    assert by_user["total"] >= 1
    assert all(e["actor"].startswith("user:") for e in by_user["entries"])
    later = (
        await client.get("/api/audit/entries", headers=auditor, params={"since": "2027-01-01T00:00Z"})
    ).json()
    assert later["total"] == 0


async def test_pagination_walks_the_whole_log(client: httpx.AsyncClient, auditor: dict[str, str]) -> None:
    seen: list[int] = []
    before = None
    while True:
        params = {"limit": 2} | ({"before": before} if before else {})
        page = (await client.get("/api/audit/entries", headers=auditor, params=params)).json()
        seen += [e["seq"] for e in page["entries"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == sorted(set(seen), reverse=True)
    assert len(seen) == page["total"]


async def test_bad_filter_gets_a_clear_message(client: httpx.AsyncClient, auditor: dict[str, str]) -> None:
    response = await client.get("/api/audit/entries", headers=auditor, params={"since": "yesterday"})
    assert response.status_code == 422
    assert response.json()["field"] == "since"
    naive = await client.get("/api/audit/entries", headers=auditor, params={"since": "2026-11-28T09:00"})
    assert "time zone" in naive.json()["error"]


@pytest.mark.parametrize("path", ["/api/audit/entries", "/api/audit/export", "/audit"])
@pytest.mark.parametrize("moment", ["0001-01-01T00:00+14:00", "9999-12-31T23:59-12:00"])
async def test_a_time_at_the_ends_of_the_calendar_gets_a_clear_message(
    client: httpx.AsyncClient, auditor: dict[str, str], path: str, moment: str
) -> None:
    """Found by the fuzzer (docs/security.md, "Fuzzing"): converting it to UTC overflowed, a 500 (and the
    export broke off after its first byte)."""
    response = await client.get(path, headers=auditor, params={"since": moment})
    assert response.status_code == 422, response.text
    assert "2000" in response.text


@pytest.mark.parametrize("path", ["/api/audit/entries", "/api/audit/export"])
async def test_a_nul_in_a_filter_is_refused_before_the_export_starts(
    client: httpx.AsyncClient, auditor: dict[str, str], path: str
) -> None:
    """Found by the fuzzer (docs/security.md, "Fuzzing"): the export broke off after its first byte."""
    response = await client.get(path, headers=auditor, params={"subject": "user:\x001"})
    assert response.status_code == 422, response.text
    assert response.json() == {
        "error": "Text cannot contain the NUL character.",
        "status": 422,
        "field": "subject",
    }


async def test_export_is_json_lines_and_is_itself_recorded(
    client: httpx.AsyncClient, context: AppContext, auditor: dict[str, str]
) -> None:
    response = await client.get("/api/audit/export", headers=auditor)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert lines[-1]["action"] == "audit.exported"
    assert len(await audit_entries(context, "audit.exported")) == 1


async def test_verify_endpoint_reports_an_intact_log(
    client: httpx.AsyncClient, context: AppContext, auditor: dict[str, str]
) -> None:
    async with context.db.write() as session:
        await write_checkpoint(session, reason="test")
    body = (await client.get("/api/audit/verify", headers=auditor)).json()
    assert body["intact"] is True
    assert body["checkpoints"] == 1
    assert body["verifier_key"].startswith("kokous.test/audit+")
    checkpoints = (await client.get("/api/audit/checkpoints", headers=auditor)).json()
    assert checkpoints[0]["note"].startswith("kokous.test/audit\n")


@pytest.mark.parametrize(
    "path", ["/api/audit/entries", "/api/audit/export", "/api/audit/checkpoints", "/api/audit/verify"]
)
async def test_member_and_admin_are_refused_and_the_refusal_is_recorded(
    client: httpx.AsyncClient, context: AppContext, path: str
) -> None:
    member = await make_user(context, "liisa")
    headers = await api_login(client, "liisa")
    response = await client.get(path, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == "You do not have the right to do this."
    denied = await audit_entries(context, "access.denied")
    assert denied[-1].actor == f"user:{member.id}"
    assert denied[-1].subject == f"route:GET {path}"


async def test_anonymous_is_asked_to_sign_in(client: httpx.AsyncClient, context: AppContext) -> None:
    response = await client.get("/api/audit/entries")
    assert response.status_code == 401
    assert [e.actor for e in await audit_entries(context, "access.denied")] == ["anonymous"]
    page = await client.get("/audit", headers={"accept": "text/html"})
    assert page.status_code == 303


async def test_audit_page_shows_entries_and_the_verifier_key(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    from tests.web.pages.test_signin import csrf_from

    await make_user(context, "tapio", roles=(Role.AUDITOR,))
    secret = await enrol_totp(context, "tapio")
    page = await client.get("/login")
    await client.post(
        "/login",
        data={"username": "tapio", "password": "correct horse battery", "csrf_token": csrf_from(page.text)},
    )
    from tests.factories import next_code

    code_page = await client.get("/login/code")
    done = await client.post(
        "/login/code", data={"code": next_code(secret, clock), "csrf_token": csrf_from(code_page.text)}
    )
    assert done.status_code == 303
    audit = await client.get("/audit", params={"action": "session.started"})
    assert audit.status_code == 200
    assert "session.started" in audit.text
    assert "kokous.test/audit+" in audit.text


@pytest.mark.parametrize("path", ["/api/audit/entries", "/audit"])
@pytest.mark.parametrize("before", ["-7492367959757877673984", "0", str(2**63)])
async def test_a_page_number_beyond_the_log_gets_a_clear_message(
    client: httpx.AsyncClient, auditor: dict[str, str], path: str, before: str
) -> None:
    """Found by the fuzzer (docs/security.md, "Fuzzing"): Litestar dropped the bounds of an optional query
    parameter's type, and a number beyond 64 bits reached the database (a 500)."""
    response = await client.get(path, headers=auditor, params={"before": before})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "before"
