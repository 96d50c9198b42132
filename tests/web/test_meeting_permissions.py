"""Every meetings route against every kind of person: allowed where they should be, refused otherwise.

The roles: admin, the body's secretary, its chair, another body's secretary, member, deputy, a member of
another body, auditor and anonymous. Hidden objects answer 404 exactly like missing ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from auth.models import Role
from core.clock import FixedClock
from tests.factories import PASSWORD, api_login, enrol_totp, make_body, make_person, make_user, next_code
from web.context import AppContext

ROLES = (
    "admin",
    "secretary",
    "chair",
    "other_secretary",
    "member",
    "deputy",
    "outsider",
    "auditor",
    "anonymous",
)
CONFIDENTIAL_TITLE = "Virkasuhteen päättäminen"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    body: int
    called: int  # a closed meeting whose call was sent
    public: int  # a public meeting whose call was sent
    draft: int
    public_item: int
    secret_item: int
    draft_item: int
    public_meeting_secret_item: int
    spare_user: int
    attachment: int  # public, of the closed meeting's public item: the body sees it, nobody else


async def _login(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, username: str, second_factor: bool
) -> dict[str, str]:
    secret = await enrol_totp(context, username) if second_factor else None
    headers = await api_login(client, username, secret=secret, clock=clock)
    if username == "admin":  # admin changes need a fresh step-up
        stepped = await client.post(
            "/api/auth/step-up",
            headers=headers,
            json={"password": PASSWORD, "code": next_code(secret or "", clock)},
        )
        headers = {"Authorization": f"Bearer {stepped.json()['access_token']}"}
    return headers


async def _item(client: httpx.AsyncClient, secretary: dict[str, str], meeting: int, **extra: object) -> int:
    response = await client.post(
        f"/api/meetings/{meeting}/items",
        headers=secretary,
        json={"title": "Talousarvio", "description": "Julkinen kuvaus"} | extra,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _meeting(client: httpx.AsyncClient, secretary: dict[str, str], body: int, public: bool) -> int:
    response = await client.post(
        f"/api/bodies/{body}/meetings",
        headers=secretary,
        json={"starts_at": "2026-12-10T16:00:00+02:00", "place": "Kunnantalo", "is_public": public},
    )
    return int(response.json()["meeting"]["id"])


@pytest.fixture
async def world(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> World:
    body = await make_body(context)
    other = await make_body(context, "ympa", kind="committee", name="Ympäristölautakunta")
    await make_user(context, "admin", roles=(Role.ADMIN,))
    await make_user(context, "auditor", roles=(Role.AUDITOR,))
    await make_person(context, "secretary", body, "secretary")
    await make_person(context, "chair", body, "chair")
    await make_person(context, "other_secretary", other, "secretary")
    member = await make_person(context, "member", body, "member")
    await make_person(context, "deputy", body, "deputy")
    await make_person(context, "outsider", other, "member")
    spare = await make_user(context, "spare")
    del member
    headers = {"anonymous": {}}
    for role in ROLES[:-1]:
        headers[role] = await _login(
            client,
            context,
            clock,
            role,
            role in ("admin", "secretary", "chair", "other_secretary", "auditor"),
        )
    secretary = headers["secretary"]
    called, public, draft = (
        await _meeting(client, secretary, body, False),
        await _meeting(client, secretary, body, True),
        await _meeting(client, secretary, body, False),
    )
    confidential = {
        "title": CONFIDENTIAL_TITLE,
        "publicity": "confidential",
        "confidentiality_basis": "JulkL 24 § 1 mom 32 k",
    }
    ids = [
        await _item(client, secretary, called),
        await _item(client, secretary, called, **confidential),
        await _item(client, secretary, draft),
        await _item(client, secretary, public),
        await _item(client, secretary, public, **confidential),
    ]
    attached = await client.post(
        f"/api/items/{ids[0]}/attachments",
        headers=secretary,
        files={"file": ("liite.pdf", PDF, "application/pdf")},
        data={"title": "Liite", "is_public": "true"},
    )
    assert attached.status_code == 201, attached.text
    for meeting in (called, public):  # the chair issues the call (R-CALL-1/5)
        sent = await client.post(f"/api/meetings/{meeting}/call", headers=headers["chair"])
        assert sent.status_code == 200, sent.text
    return World(
        headers, body, called, public, draft, ids[0], ids[1], ids[2], ids[4], spare.id, attached.json()["id"]
    )


READERS = {"secretary", "chair", "member", "deputy"}
DESK = {"secretary", "chair"}  # they see drafts: the secretary prepares them, the chair calls them
EVERYONE = set(ROLES)
SIGNED = EVERYONE - {"anonymous"}


def expect(role: str, allowed: set[str], ok: int, refused: int, overrides: dict[str, int]) -> int:
    if role in overrides:
        return overrides[role]
    if role in allowed:
        return ok
    return 401 if role == "anonymous" and refused != 200 else refused


# fmt: off
CASES = [
    # (name, method, path template, body, allowed roles, success status, status for others, exceptions)
    ("list bodies", "GET", "/api/bodies", None, EVERYONE, 200, 200, {}),
    ("read organisation", "GET", "/api/organisation", None, {"admin"}, 200, 403, {}),
    ("create body", "POST", "/api/bodies", {"slug": "uusi", "name": "Uusi", "kind": "committee", "seats": 5},
     {"admin"}, 201, 403, {}),
    ("add member", "POST", "/api/bodies/{body}/members",
     {"user_id": "{spare_user}", "role": "attendee", "term_start": "2026-01-01"}, {"admin"}, 201, 403, {}),
    ("plan meeting", "POST", "/api/bodies/{body}/meetings", {"starts_at": "2026-12-20T10:00:00+02:00",
                                                             "place": "Sali"}, {"secretary"}, 201, 403, {}),
    ("read draft", "GET", "/api/meetings/{draft}", None, DESK, 200, 404, {"anonymous": 404}),
    ("change meeting", "PUT", "/api/meetings/{called}", {"starts_at": "2026-12-10T17:00:00+02:00",
                                                         "place": "Sali"}, {"secretary"}, 200, 404, {}),
    ("add item", "POST", "/api/meetings/{draft}/items", {"title": "Uusi asia"}, {"secretary"}, 201, 404, {}),
    ("edit item", "PUT", "/api/items/{draft_item}", {"title": "Muutettu"}, {"secretary"}, 200, 404, {}),
    ("reorder", "PUT", "/api/meetings/{draft}/order", {"order": ["{draft_item}"]}, {"secretary"}, 200, 404,
     {}),
    ("check call", "GET", "/api/meetings/{draft}/call", None, DESK, 200, 404, {}),
    # The chair issues the call (R-CALL-1/5); the secretary, who sees the draft, is refused with 403.
    ("send call", "POST", "/api/meetings/{draft}/call", None, {"chair"}, 200, 404, {"secretary": 403}),
    ("send call on the editor page", "POST", "/meetings/{draft}/edit/call", {"confirm": "yes"}, {"chair"},
     303, 404, {"secretary": 403}),
    # Whoever calls cancels a called meeting; others see it, so are refused with 403.
    ("cancel called meeting", "POST", "/api/meetings/{called}/cancel", {"reason": "Ei käsiteltäviä asioita."},
     {"chair"}, 200, 403, {}),
    # A draft is also cancelled by the secretary, who goes first; the chair then finds it cancelled (409).
    ("cancel draft", "POST", "/api/meetings/{draft}/cancel", {}, DESK, 200, 404, {"chair": 409}),
    # The editor's form (a browser form: sent form-encoded).
    ("cancel on the editor page", "POST", "/meetings/{called}/cancel",
     {"reason": "Ei käsiteltäviä asioita.", "confirm": "yes"}, {"chair"}, 303, 404, {"secretary": 403}),
    ("remove item", "DELETE", "/api/items/{draft_item}", None, {"secretary"}, 204, 404, {}),
    # The body sees the attachment, so its other members are refused (403); to everyone else it is hidden.
    ("change attachment", "PATCH", "/api/attachments/{attachment}", {"title": "Liite 2"}, {"secretary"}, 200,
     404, {"member": 403, "deputy": 403, "chair": 403}),
    ("change attachment on the editor page", "POST", "/meetings/{called}/attachments/{attachment}",
     {"title": "Liite 2", "is_public": "true", "confidentiality_basis": ""}, {"secretary"}, 303, 404, {}),
    ("versions of a closed item", "GET", "/api/items/{secret_item}/versions", None, READERS, 200, 404,
     {"anonymous": 404}),
    # The secretary sees the item but takes no part in deciding it, so has nothing to declare.
    ("declare", "POST", "/api/items/{public_item}/disqualification", {"ground": "party"},
     {"member", "deputy", "chair"}, 201, 404, {"secretary": 403}),
    ("my meetings", "GET", "/api/my/meetings", None, SIGNED, 200, 401, {}),
]
# fmt: on


def _value(value: object, world: World) -> object:
    """Placeholders such as "{draft_item}" in a request body become the world's ids."""
    if isinstance(value, list):
        return [_value(v, world) for v in value]
    if isinstance(value, str) and value.startswith("{"):
        return int(_fill(value, world))
    return value


def _fill(template: str, world: World) -> str:
    return template.format(**{k: getattr(world, k) for k in World.__dataclass_fields__ if k != "headers"})


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "allowed", "ok", "refused", "overrides"),
    CASES,
    ids=[c[0] for c in CASES],
)
async def test_route_allows_exactly_its_roles(
    client: httpx.AsyncClient,
    world: World,
    name: str,
    method: str,
    path: str,
    body: dict[str, object] | None,
    allowed: set[str],
    ok: int,
    refused: int,
    overrides: dict[str, int],
) -> None:
    payload = None
    if body is not None:
        payload = {k: _value(v, world) for k, v in body.items()}
    # API routes take JSON; the pages' routes take what a browser form sends.
    sent = {"json": payload} if path.startswith("/api/") else {"data": payload}
    # Each role tries in order; the allowed ones last, since success changes state (e.g. the call is sent).
    for role in sorted(ROLES, key=lambda r: r in allowed):
        response = await client.request(method, _fill(path, world), headers=world.headers[role], **sent)
        wanted = expect(role, allowed, ok, refused, overrides)
        assert response.status_code == wanted, f"{name}: {role} got {response.status_code}: {response.text}"


@pytest.mark.parametrize("role", ROLES)
async def test_closed_meeting_content_reaches_only_its_body(
    client: httpx.AsyncClient, world: World, role: str
) -> None:
    agenda = await client.get(f"/api/meetings/{world.called}", headers=world.headers[role])
    assert agenda.status_code == 200  # a sent call is public knowledge: the meeting exists
    if role in READERS:
        assert CONFIDENTIAL_TITLE in agenda.text
        assert len(agenda.json()["items"]) == 2
    else:
        assert agenda.json()["items"] == []  # neither listed nor counted
        assert CONFIDENTIAL_TITLE not in agenda.text
    versions = await client.get(f"/api/items/{world.secret_item}/versions", headers=world.headers[role])
    assert versions.status_code == (200 if role in READERS else 404)


@pytest.mark.parametrize("role", ROLES)
async def test_public_meeting_shows_confidential_items_only_as_a_mention(
    client: httpx.AsyncClient, world: World, role: str
) -> None:
    agenda = (await client.get(f"/api/meetings/{world.public}", headers=world.headers[role])).json()
    secret = next(i for i in agenda["items"] if i["id"] == world.public_meeting_secret_item)
    if role in READERS:
        assert secret["title"] == CONFIDENTIAL_TITLE
    else:
        assert secret["title"] is None
        assert secret["description"] is None
        assert CONFIDENTIAL_TITLE not in str(agenda)


@pytest.mark.parametrize("role", ROLES)
async def test_draft_is_neither_listed_nor_counted_for_others(
    client: httpx.AsyncClient, world: World, role: str
) -> None:
    listed = (await client.get(f"/api/bodies/{world.body}/meetings", headers=world.headers[role])).json()
    ids = {m["id"] for m in listed}
    assert (world.draft in ids) == (role in DESK)
    assert {world.called, world.public} <= ids
