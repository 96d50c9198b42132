"""The request boundary: body limits before anything reads a body, CSRF without reading an upload, and
refusal of cookie requests that another site started (docs/security.md)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx
import pytest
from litestar import Litestar
from litestar.types import Message, Receive, Scope, Send

from core.clock import FixedClock
from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.actions.bodies import BodySpec, do_create_body
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.actions.memberships import MembershipSpec, do_add_membership
from meetings.models import BodyKind, MemberRole
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, audit_entries, enrol_totp, make_user, next_code
from web.context import AppContext

MiB = 1024 * 1024
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
BOUNDARY = "rajaus"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


class Counted:
    """The app, with a count of the body bytes it took from the server (what a refusal cost)."""

    def __init__(self, app: Litestar) -> None:
        self.app, self.received = app, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)  # type: ignore[arg-type]


@dataclass
class Browser:
    client: httpx.AsyncClient
    app: Counted

    @property
    def csrf(self) -> str:
        return self.client.cookies["kokous_csrf"]


@pytest.fixture
async def browser(
    app: Litestar, context: AppContext, clock: FixedClock
) -> AsyncIterator[Callable[[str], Awaitable[Browser]]]:
    """A signed-in browser per person (cookies as a browser has them), counting what the app reads."""
    opened: list[httpx.AsyncClient] = []

    async def sign_in(username: str) -> Browser:
        counted = Counted(app)
        transport = httpx.ASGITransport(app=counted, client=("192.0.2.30", 50000))
        client = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        opened.append(client)
        secret = await enrol_totp(context, username)
        page = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
        assert (await client.post("/login", data=form)).status_code == 303
        code = {"code": next_code(secret, clock), "csrf_token": token.group(1), "next": "/"}
        assert (await client.post("/login/code", data=code)).headers["location"] == "/"
        counted.received = 0
        return Browser(client, counted)

    yield sign_in
    for client in opened:
        await client.aclose()


@pytest.fixture
async def item_id(context: AppContext) -> int:
    """An item of a draft meeting whose body has the secretary `sihteeri`."""
    secretary = await make_user(context, "sihteeri")
    async with context.db.write() as session:
        spec = BodySpec(slug="tekninen", name="Tekninen", kind=BodyKind.COMMITTEE, seats=9)
        body = await do_create_body(session, spec=spec, actor="system:test")
        seat = MembershipSpec(user_id=secretary.id, role=MemberRole.SECRETARY, term_start=date(2026, 1, 1))
        await do_add_membership(session, body=body, spec=seat, actor="system:test")
        when = MeetingSpec(starts_at=datetime(2026, 12, 10, 14, tzinfo=UTC), place="Sali", is_public=True)
        meeting = await do_create_meeting(session, body=body, spec=when, actor="system:test")
        item = await do_add_item(session, meeting=meeting, spec=ItemSpec(title="Asia"), actor="system:test")
        return item.id


def part(name: str, value: bytes) -> bytes:
    return f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"


async def big_upload(size: int, *, csrf: str = "") -> AsyncIterator[bytes]:
    """An upload form of `size` zero bytes, made as it is sent (the test never holds it whole)."""
    yield part("csrf_token", csrf.encode()) + part("is_public", b"true")
    yield f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'.encode()
    chunk = bytes(64 * 1024)
    for _ in range(size // len(chunk)):
        yield chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def denials(context: AppContext) -> list[tuple[str, str]]:
    return [(e.subject, json.loads(e.data)["reason"]) for e in await audit_entries(context, "access.denied")]


# ---- body limits --------------------------------------------------------------------------------


async def test_a_cookie_upload_without_a_token_is_refused_before_its_body_is_read(
    browser: Callable[[str], Awaitable[Browser]], context: AppContext, item_id: int
) -> None:
    """The token sent inside a 20 MiB form is never looked for: reading it would cost the whole upload."""
    secretary = await browser("sihteeri")
    path = f"/api/items/{item_id}/attachments"

    response = await secretary.client.post(
        path, content=big_upload(20 * MiB, csrf=secretary.csrf), headers={"content-type": MULTIPART}
    )

    assert response.status_code == 403
    assert secretary.app.received == 0
    assert await denials(context) == [(f"route:POST {path}", "missing or wrong CSRF token")]
    assert await audit_entries(context, "attachment.added") == []


async def test_an_upload_carries_its_token_in_the_header_or_the_address(
    browser: Callable[[str], Awaitable[Browser]], context: AppContext, item_id: int
) -> None:
    secretary = await browser("sihteeri")
    path = f"/api/items/{item_id}/attachments"
    form = {"is_public": "true", "title": "Liite"}
    file = {"file": ("liite.pdf", PDF, "application/pdf")}

    in_header = await secretary.client.post(
        path, data=form, files=file, headers={"x-csrf-token": secretary.csrf}
    )
    in_address = await secretary.client.post(
        path, params={"csrf_token": secretary.csrf}, data=form, files=file
    )

    assert (in_header.status_code, in_address.status_code) == (201, 201), in_address.text
    assert len(await audit_entries(context, "attachment.added")) == 2


async def test_an_announced_length_over_the_routes_limit_is_refused_before_reading(
    app: Litestar, context: AppContext
) -> None:
    """Forms and JSON are small (64 KiB): a larger Content-Length is refused before any byte is taken."""
    counted = Counted(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=counted), base_url=BASE_URL) as client:
        response = await client.post(
            "/api/auth/login", content=b" " * MiB, headers={"content-type": "application/json"}
        )

    assert response.status_code == 413
    assert response.json()["error"] == "The request is larger than the limit of 64 KiB."
    assert counted.received == 0
    assert await audit_entries(context, "login.failed") == []


async def test_an_upload_announcing_more_than_any_limit_is_refused_before_reading(
    browser: Callable[[str], Awaitable[Browser]], item_id: int
) -> None:
    secretary = await browser("sihteeri")

    async def nothing() -> AsyncIterator[bytes]:
        yield b""

    response = await secretary.client.post(
        f"/api/items/{item_id}/attachments",
        content=nothing(),
        headers={
            "content-type": MULTIPART,
            "content-length": str(3 * 1024 * MiB),
            "x-csrf-token": secretary.csrf,
        },
    )

    assert response.status_code == 413
    assert secretary.app.received == 0


async def test_a_body_of_unknown_length_is_cut_off_at_the_routes_limit(app: Litestar) -> None:
    counted = Counted(app)
    chunk = 16 * 1024

    async def endless_json() -> AsyncIterator[bytes]:
        yield b'{"username": "'
        for _ in range(MiB // chunk):
            yield b"x" * chunk

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=counted), base_url=BASE_URL) as client:
        response = await client.post(
            "/api/auth/login", content=endless_json(), headers={"content-type": "application/json"}
        )

    assert response.status_code == 413
    assert response.json()["error"] == "The request is larger than the limit of 64 KiB."
    assert counted.received <= 64 * 1024 + chunk


async def test_an_agenda_item_may_carry_a_long_text(
    browser: Callable[[str], Awaitable[Browser]], item_id: int
) -> None:
    """Item routes take up to 1 MiB: a long presentation text is not cut off by the 64 KiB default."""
    secretary = await browser("sihteeri")
    description = "Esittelijän perustelut, jotka ovat pitkät. " * 4000  # about 170 KiB

    response = await secretary.client.put(
        f"/api/items/{item_id}",
        json={"title": "Asia", "description": description},
        headers={"x-csrf-token": secretary.csrf},
    )

    assert response.status_code == 200, response.text


# ---- requests that another site started ---------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"sec-fetch-site": "cross-site"}, "cross-site request: Sec-Fetch-Site cross-site"),
        ({"sec-fetch-site": "same-site"}, "cross-site request: Sec-Fetch-Site same-site"),
        ({"origin": "https://evil.example"}, "origin not allowed: https://evil.example"),
        ({"origin": "null"}, "origin not allowed: null"),
        (
            {"origin": "https://kokous.test.evil.example"},
            "origin not allowed: https://kokous.test.evil.example",
        ),
    ],
    ids=["cross-site", "same-site", "foreign-origin", "null-origin", "lookalike-origin"],
)
async def test_a_cookie_request_from_another_site_is_refused_and_audited(
    browser: Callable[[str], Awaitable[Browser]], context: AppContext, headers: dict[str, str], reason: str
) -> None:
    """Even with the right token: a token that leaked must not let another site act for the person."""
    await make_user(context, "liisa")
    liisa = await browser("liisa")

    response = await liisa.client.post("/api/auth/logout", headers=headers | {"x-csrf-token": liisa.csrf})

    assert response.status_code == 403
    assert response.json()["error"] == "The request came from another site and was refused."
    assert await denials(context) == [("route:POST /api/auth/logout", reason)]
    assert (await liisa.client.get("/api/me")).status_code == 200  # still signed in


async def test_a_login_form_posted_from_another_site_is_refused_and_audited(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    await make_user(context, "liisa")
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    form = {"username": "liisa", "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}

    response = await client.post("/login", data=form, headers={"origin": "https://evil.example"})

    assert response.status_code == 403
    assert await denials(context) == [("route:POST /login", "origin not allowed: https://evil.example")]
    assert await audit_entries(context, "session.started") == []


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": BASE_URL, "sec-fetch-site": "same-origin"},
        {"sec-fetch-site": "none"},  # a person's own navigation, e.g. a bookmark
        {},  # an old browser, or a script with the cookies: the token alone decides
    ],
    ids=["same-origin", "own-navigation", "no-headers"],
)
async def test_a_cookie_request_from_the_service_itself_with_the_token_works(
    browser: Callable[[str], Awaitable[Browser]], context: AppContext, headers: dict[str, str]
) -> None:
    await make_user(context, "liisa")
    liisa = await browser("liisa")

    without_token = await liisa.client.post("/api/auth/logout", headers=headers)
    with_token = await liisa.client.post("/api/auth/logout", headers=headers | {"x-csrf-token": liisa.csrf})

    assert (without_token.status_code, with_token.status_code) == (403, 204)
    assert await denials(context) == [("route:POST /api/auth/logout", "missing or wrong CSRF token")]


async def test_bearer_clients_are_not_asked_where_they_come_from(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    await make_user(context, "liisa")
    login = await client.post("/api/auth/login", json={"username": "liisa", "password": PASSWORD})
    assert login.status_code == 200, login.text
    bearer = {"authorization": f"Bearer {login.json()['tokens']['access_token']}"}

    response = await client.post(
        "/api/auth/logout",
        headers=bearer | {"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
    )

    assert response.status_code == 204
    assert await denials(context) == []
