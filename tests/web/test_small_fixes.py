"""Small things a person stumbled on: attachments' headers, the recovery codes page when signed in."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import httpx

from auth import totp
from auth.models import Role
from core.clock import FixedClock
from tests.factories import PASSWORD, make_user
from tests.web import public_world
from tests.web.pages.test_signin import csrf_from
from web.api import attachments
from web.context import AppContext


def headers_for(content_type: str) -> dict[str, str]:
    attachment: Any = SimpleNamespace(
        filename="liite", content_type=content_type, sha256="0" * 64, is_public=True, removed_at=None
    )
    item: Any = SimpleNamespace(publicity="public")
    meeting: Any = SimpleNamespace(is_public=True, status="called", body_id=1, call_sent_at=1)
    return attachments.download_headers(attachment, item, meeting)


def test_only_pdfs_open_inline_and_every_file_is_sandboxed() -> None:
    pdf = headers_for("application/pdf")
    assert pdf["content-disposition"].startswith("inline;")
    for other in (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "image/png",
        "text/html",
    ):
        assert headers_for(other)["content-disposition"].startswith("attachment;"), other
    for shown in (pdf, headers_for("image/png")):
        assert shown["x-content-type-options"] == "nosniff"
        assert shown["content-security-policy"].startswith("sandbox;")
        assert "default-src 'none'" in shown["content-security-policy"]


async def test_the_recovery_codes_page_shows_the_person_signed_in(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    """Right after the first second factor is set up, the page that shows the codes is a signed-in page."""
    await make_user(context, "mikko", roles=(Role.SECRETARY,))
    client.cookies.set("kokous_lang", "en")
    login = await client.get("/login")
    first = await client.post(
        "/login", data={"username": "mikko", "password": PASSWORD, "csrf_token": csrf_from(login.text)}
    )
    assert first.headers["location"].startswith("/login/enrol")
    enrol = await client.get(first.headers["location"])
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', enrol.text)
    assert secret
    clock.advance(seconds=30)
    codes = await client.post(
        "/login/enrol",
        data={"code": totp.code_at(secret.group(1), clock()), "csrf_token": csrf_from(enrol.text)},
    )
    assert codes.status_code == 200
    assert "Recovery codes" in codes.text
    assert "Sign out" in codes.text
    assert '<a href="/login">' not in codes.text


async def test_a_closed_body_and_its_meeting_agree_that_the_agenda_is_not_published(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    world = await public_world.build(context)
    client.cookies.set("kokous_lang", "en")
    body = await client.get(f"/bodies/{world.body.slug}")
    closed = await client.get(f"/meetings/{world.closed}")
    assert "agendas of its meetings are published" not in body.text
    if not world.body.meetings_public_by_default:
        assert "agenda is not published" in body.text
    assert "its agenda is not published" in closed.text
