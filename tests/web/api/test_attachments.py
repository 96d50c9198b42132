"""Attachments through the API: upload, download, refusals, integrity, who sees what, changes, removal."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.types import Message

from core.clock import FixedClock
from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.actions.bodies import BodySpec, do_create_body
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.actions.memberships import MembershipSpec, do_add_membership
from meetings.actions.organisation import OrganisationSettings, do_update_organisation
from meetings.models import BodyKind, Meeting, MeetingStatus, MemberRole, Publicity
from tests.factories import api_login, audit_entries, enrol_totp, make_user
from tests.meetings.test_archives import bomb
from tests.meetings.test_storage import OOXML
from web.context import AppContext

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SECRET_PDF = b"%PDF-1.7\n% salassa pidettava: JulkL 24 1 mom 25 k\n%%EOF\n"
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(64) + b"This program cannot be run"
)
BASIS = "JulkL 24 § 1 mom 25 k"
MEETING_DAY = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory per test, so the store's contents belong to the test alone."""
    return tmp_path


@dataclass(frozen=True)
class World:
    secretary: dict[str, str]
    member: dict[str, str]
    other_secretary: dict[str, str]
    public_meeting: int
    public_item: int  # in a called public meeting
    confidential_item: int  # wholly confidential, same meeting
    closed_item: int  # in a called meeting that is not public
    draft_item: int  # in a public meeting whose call has not been sent


async def _body(context: AppContext, slug: str, people: dict[int, MemberRole]) -> Any:
    async with context.db.write() as session:
        body = await do_create_body(
            session,
            spec=BodySpec(slug=slug, name=slug.title(), kind=BodyKind.COMMITTEE, seats=9),
            actor="system:test",
        )
        for user_id, role in people.items():
            spec = MembershipSpec(user_id=user_id, role=role, term_start=date(2026, 1, 1))
            await do_add_membership(session, body=body, spec=spec, actor="system:test")
        return body


async def _meeting(
    context: AppContext, body: Any, *, public: bool, call: bool, items: list[str]
) -> list[int]:
    """A meeting with one item per publicity in `items`; returns the meeting id and the item ids."""
    async with context.db.write() as session:
        spec = MeetingSpec(starts_at=MEETING_DAY, place="Valtuustosali", is_public=public)
        meeting = await do_create_meeting(session, body=body, spec=spec, actor="system:test")
        ids = [meeting.id]
        for publicity in items:
            basis = "" if publicity == Publicity.PUBLIC else BASIS
            item_spec = ItemSpec(title=f"Asia {publicity}", publicity=publicity, confidentiality_basis=basis)
            ids.append((await do_add_item(session, meeting=meeting, spec=item_spec, actor="system:test")).id)
        if call:
            await do_send_call(
                session,
                meeting=meeting,
                base_url="https://kokous.test",
                sender="k@kokous.test",
                actor="system:test",
            )
        return ids


@pytest.fixture
async def world(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> World:
    secretary, member, other = (
        await make_user(context, "sihteeri"),
        await make_user(context, "jasen"),
        await make_user(context, "toinen"),
    )
    body = await _body(
        context, "tekninen", {secretary.id: MemberRole.SECRETARY, member.id: MemberRole.MEMBER}
    )
    await _body(context, "sivistys", {other.id: MemberRole.SECRETARY})
    meeting, public_item, confidential_item = await _meeting(
        context, body, public=True, call=True, items=[Publicity.PUBLIC, Publicity.CONFIDENTIAL]
    )
    _, closed_item = await _meeting(context, body, public=False, call=True, items=[Publicity.PUBLIC])
    _, draft_item = await _meeting(context, body, public=True, call=False, items=[Publicity.PUBLIC])
    secret, other_secret = await enrol_totp(context, "sihteeri"), await enrol_totp(context, "toinen")
    return World(
        secretary=await api_login(client, "sihteeri", secret=secret, clock=clock),
        member=await api_login(client, "jasen"),
        other_secretary=await api_login(client, "toinen", secret=other_secret, clock=clock),
        public_meeting=meeting,
        public_item=public_item,
        confidential_item=confidential_item,
        closed_item=closed_item,
        draft_item=draft_item,
    )


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    item_id: int,
    content: bytes = PDF,
    *,
    filename: str = "liite.pdf",
    content_type: str = "application/pdf",
    is_public: str = "true",
    basis: str = "",
    title: str = "Liite 1",
) -> httpx.Response:
    return await client.post(
        f"/api/items/{item_id}/attachments",
        headers=headers,
        files={"file": (filename, content, content_type)},
        data={"title": title, "is_public": is_public, "confidentiality_basis": basis},
    )


async def uploaded(client: httpx.AsyncClient, world: World, item_id: int, **kwargs: Any) -> int:
    response = await upload(client, world.secretary, item_id, **kwargs)
    assert response.status_code == 201, response.text
    attachment_id: int = response.json()["id"]
    return attachment_id


def stored_files(context: AppContext) -> list[Path]:
    root = context.settings.data_dir / "attachments"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def agenda_attachments(
    client: httpx.AsyncClient, meeting_id: int, headers: dict[str, str]
) -> list[int]:
    response = await client.get(f"/api/meetings/{meeting_id}", headers=headers)
    assert response.status_code == 200
    return [a["id"] for item in response.json()["items"] for a in item["attachments"]]


# ---- upload and download -------------------------------------------------------------------------


async def test_upload_and_download_round_trip(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    response = await upload(client, world.secretary, world.public_item, filename="Esitys – päätös.pdf")

    assert response.status_code == 201, response.text
    body = response.json()
    sha = hashlib.sha256(PDF).hexdigest()
    assert {k: body[k] for k in ("item_id", "title", "filename", "content_type", "size", "sha256")} == {
        "item_id": world.public_item,
        "title": "Liite 1",
        "filename": "Esitys – päätös.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
        "sha256": sha,
    }
    [added] = await audit_entries(context, "attachment.added")
    assert added.subject == f"attachment:{body['id']}"
    assert json.loads(added.data)["sha256"] == sha

    download = await client.get(f"/api/attachments/{body['id']}", headers=world.member)

    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-length"] == str(len(PDF))
    assert download.headers["content-disposition"] == (  # a PDF opens in the browser's viewer
        'inline; filename="Esitys _ p__t_s.pdf"; '
        "filename*=UTF-8''Esitys%20%E2%80%93%20p%C3%A4%C3%A4t%C3%B6s.pdf"
    )
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-security-policy"].startswith("sandbox;")
    assert download.headers["etag"] == f'"{sha}"'


async def test_an_attachment_after_the_call_raises_the_agenda_version(
    client: httpx.AsyncClient, world: World
) -> None:
    before = (await client.get(f"/api/meetings/{world.public_meeting}", headers=world.member)).json()

    attachment_id = await uploaded(client, world, world.public_item)

    after = (await client.get(f"/api/meetings/{world.public_meeting}", headers=world.member)).json()
    assert after["meeting"]["agenda_version"] == before["meeting"]["agenda_version"] + 1
    assert await agenda_attachments(client, world.public_meeting, world.member) == [attachment_id]


async def test_the_same_content_is_stored_once(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    first = await uploaded(client, world, world.public_item)
    second = await uploaded(client, world, world.draft_item, filename="kopio.pdf")

    assert first != second
    assert len(stored_files(context)) == 1
    for attachment_id in (first, second):
        assert (await client.get(f"/api/attachments/{attachment_id}", headers=world.secretary)).content == PDF


async def test_an_unchanged_attachment_is_not_sent_again(client: httpx.AsyncClient, world: World) -> None:
    attachment_id = await uploaded(client, world, world.public_item)
    first = await client.get(f"/api/attachments/{attachment_id}", headers=world.member)

    again = await client.get(
        f"/api/attachments/{attachment_id}", headers=world.member | {"if-none-match": first.headers["etag"]}
    )

    assert again.status_code == 304
    assert again.content == b""


# ---- refusals ------------------------------------------------------------------------------------


async def _limit(context: AppContext, limit: int) -> None:
    async with context.db.write() as session:
        settings = OrganisationSettings(name="Esimerkkilä", attachment_max_bytes=limit)
        await do_update_organisation(session, settings=settings, actor="system:test")


@pytest.mark.parametrize(
    "size",
    [
        2049,  # within the form's allowance: the store stops at the limit + 1
        200_000,  # the announced length alone is too much: nothing is read
    ],
)
async def test_a_file_over_the_limit_is_refused_and_nothing_is_kept(
    client: httpx.AsyncClient, context: AppContext, world: World, size: int
) -> None:
    await _limit(context, 2048)

    response = await upload(client, world.secretary, world.public_item, b"x" * size, filename="a.txt")

    assert response.status_code == 413
    assert response.json()["error"] == "The file is larger than the limit of 2 KiB."
    assert stored_files(context) == []
    assert await audit_entries(context, "attachment.added") == []


async def test_a_request_of_unannounced_length_is_cut_off_after_the_limit(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    await _limit(context, 2048)
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'--rajaus\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
        for _ in range(100):
            sent += 16 * 1024
            yield b"x" * 16 * 1024
        yield b"\r\n--rajaus--\r\n"

    response = await client.post(
        f"/api/items/{world.public_item}/attachments",
        headers=world.secretary | {"content-type": "multipart/form-data; boundary=rajaus"},
        content=body(),
    )

    assert response.status_code == 413
    assert sent < 2048 + 64 * 1024 + 2 * 16 * 1024
    assert stored_files(context) == []


async def test_an_upload_is_written_into_the_store_as_it_arrives(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    """No copy in memory or in /tmp first: half-way through, the bytes so far are in the store's own
    temporary file, and the file is moved into place once it passes every check."""
    root, chunk, seen_half_way = context.settings.data_dir / "attachments", 256 * 1024, 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal seen_half_way
        yield b'--rajaus\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
        for n in range(40):  # 10 MiB
            if n == 20:
                seen_half_way = sum(p.stat().st_size for p in root.glob(".incoming-*"))
            yield b"x" * chunk
        yield b"\r\n" + form_of(PUBLIC_PART)

    response = await client.post(
        f"/api/items/{world.public_item}/attachments",
        headers=world.secretary | {"content-type": "multipart/form-data; boundary=rajaus"},
        content=body(),
    )

    assert response.status_code == 201, response.text
    assert 4 * 1024 * 1024 <= seen_half_way <= 20 * chunk
    assert [p.name for p in stored_files(context)] == [response.json()["sha256"][2:]]


async def test_an_upload_cut_off_by_its_client_leaves_nothing_behind(
    app: Litestar, context: AppContext, world: World
) -> None:
    path = f"/api/items/{world.public_item}/attachments"
    start = b'--rajaus\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
    messages = [start, b"x" * 300_000, None]  # None: the client is gone
    sent: list[Message] = []

    async def receive() -> Message:
        body = messages.pop(0)
        if body is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": body, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    headers = {
        **world.secretary,
        "content-type": "multipart/form-data; boundary=rajaus",
        "host": "kokous.test",
    }
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("192.0.2.10", 50000),
        "server": ("kokous.test", 443),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]

    assert messages == []  # the app read until the client was gone
    assert sent[0]["status"] >= 400
    assert stored_files(context) == []
    assert await audit_entries(context, "attachment.added") == []


async def test_a_file_of_exactly_the_limit_is_accepted(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    await _limit(context, 2048)

    response = await upload(
        client, world.secretary, world.public_item, b"x" * 2048, filename="a.txt", content_type="text/plain"
    )

    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (EXE, "lasku.pdf", "application/pdf"),  # a program renamed
        (PDF, "liite.pdf", "image/png"),  # a PDF declared as an image
        (PDF, "liite.png", "image/png"),  # a PDF named as an image
        (b"<html><script>alert(1)</script></html>", "sivu.html", "text/html"),
    ],
    ids=["program-named-pdf", "pdf-declared-png", "pdf-named-png", "html"],
)
async def test_a_wrong_type_is_refused_and_nothing_is_kept(
    client: httpx.AsyncClient,
    context: AppContext,
    world: World,
    content: bytes,
    filename: str,
    content_type: str,
) -> None:
    response = await upload(
        client, world.secretary, world.public_item, content, filename=filename, content_type=content_type
    )

    assert response.status_code == 415
    assert "Accepted types: PDF, PNG, JPEG, GIF" in response.json()["error"]
    assert stored_files(context) == []
    assert await audit_entries(context, "attachment.added") == []


async def test_a_file_part_without_a_declared_type_is_judged_by_its_bytes(
    client: httpx.AsyncClient, world: World
) -> None:
    parts = [
        b'Content-Disposition: form-data; name="is_public"\r\n\r\ntrue',
        b'Content-Disposition: form-data; name="file"; filename="liite.pdf"\r\n\r\n' + PDF,
    ]
    body = b"".join(b"--rajaus\r\n" + part + b"\r\n" for part in parts) + b"--rajaus--\r\n"

    response = await client.post(
        f"/api/items/{world.public_item}/attachments",
        headers=world.secretary | {"content-type": "multipart/form-data; boundary=rajaus"},
        content=body,
    )

    assert response.status_code == 201, response.text
    assert (response.json()["content_type"], response.json()["title"]) == ("application/pdf", "liite.pdf")


def form_of(*parts: bytes, end: bytes = b"--rajaus--\r\n") -> bytes:
    return b"".join(b"--rajaus\r\n" + part + b"\r\n" for part in parts) + end


FILE_PART = b'Content-Disposition: form-data; name="file"; filename="liite.pdf"\r\n\r\n' + PDF
PUBLIC_PART = b'Content-Disposition: form-data; name="is_public"\r\n\r\ntrue'


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (form_of(FILE_PART, FILE_PART, PUBLIC_PART), "file", "Choose one file to upload."),
        (
            form_of(
                FILE_PART, PUBLIC_PART, b'Content-Disposition: form-data; name="title"\r\n\r\n' + b"x" * 5000
            ),
            "title",
            "title is too long.",
        ),
        (
            form_of(FILE_PART, PUBLIC_PART, end=b""),
            "file",
            "The upload is not a complete multipart/form-data form.",
        ),
    ],
    ids=["two-files", "overlong-field", "unfinished-form"],
)
async def test_a_malformed_upload_form_is_refused_and_nothing_is_kept(
    client: httpx.AsyncClient, context: AppContext, world: World, body: bytes, field: str, message: str
) -> None:
    response = await client.post(
        f"/api/items/{world.public_item}/attachments",
        headers=world.secretary | {"content-type": "multipart/form-data; boundary=rajaus"},
        content=body,
    )

    assert response.status_code == 422
    assert (response.json()["field"], response.json()["error"]) == (field, message)
    assert stored_files(context) == []


async def test_a_zip_bomb_is_refused_by_name_and_nothing_is_kept(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    response = await upload(
        client,
        world.secretary,
        world.public_item,
        bomb(8 * 1024 * 1024),
        filename="Pöytäkirja.docx",
        content_type=OOXML + "wordprocessingml.document",
    )

    assert response.status_code == 422
    assert response.json() == {
        "error": "“Pöytäkirja.docx” is compressed more than 200 to 1, as a zip bomb is; it was not accepted.",
        "status": 422,
        "field": "file",
    }
    assert stored_files(context) == []
    assert await audit_entries(context, "attachment.added") == []


async def test_a_request_that_is_not_a_form_is_refused(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        f"/api/items/{world.public_item}/attachments", headers=world.secretary, json={"title": "x"}
    )

    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["error"]


@pytest.mark.parametrize(
    ("item", "fields", "field"),
    [
        ("public_item", {"is_public": "false"}, "confidentiality_basis"),  # R-MIN-3
        ("confidential_item", {"is_public": "true"}, "is_public"),  # R-PUB-2
        ("public_item", {"is_public": "perhaps"}, "is_public"),
    ],
)
async def test_an_attachment_breaking_a_rule_is_refused_before_it_is_stored(
    client: httpx.AsyncClient,
    context: AppContext,
    world: World,
    item: str,
    fields: dict[str, str],
    field: str,
) -> None:
    response = await upload(client, world.secretary, getattr(world, item), **fields)  # type: ignore[arg-type]

    assert response.status_code == 422
    assert response.json()["field"] == field
    assert stored_files(context) == []


async def test_a_damaged_file_is_not_served(
    client: httpx.AsyncClient, context: AppContext, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    attachment_id = await uploaded(client, world, world.public_item)
    [path] = stored_files(context)
    path.write_bytes(PDF.replace(b"Catalog", b"Katalog"))

    with caplog.at_level(logging.ERROR, logger="kokous.attachments"):
        response = await client.get(f"/api/attachments/{attachment_id}", headers=world.member)

    assert response.status_code == 500
    assert response.json()["error"].startswith("The stored file of this attachment is damaged")
    assert "Katalog" not in response.text
    damaged = [r.getMessage() for r in caplog.records if r.name == "kokous.attachments"]
    assert damaged == ["stored attachment file is damaged"]


# ---- who sees what -------------------------------------------------------------------------------


async def test_the_public_gets_a_public_attachment_of_a_public_item_of_a_called_public_meeting(
    client: httpx.AsyncClient, world: World
) -> None:
    attachment_id = await uploaded(client, world, world.public_item)

    response = await client.get(f"/api/attachments/{attachment_id}")

    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["cache-control"] == "public, no-cache"
    assert await agenda_attachments(client, world.public_meeting, {}) == [attachment_id]


@pytest.mark.parametrize(
    ("item", "fields"),
    [
        ("public_item", {"is_public": "false", "basis": BASIS}),  # a confidential attachment
        (
            "confidential_item",
            {"is_public": "false", "basis": BASIS},
        ),  # any attachment of a confidential item
        ("closed_item", {}),  # a public attachment of a meeting that is not public
        ("draft_item", {}),  # a public attachment of a meeting whose call has not been sent
    ],
)
async def test_the_public_cannot_tell_a_hidden_attachment_from_a_missing_one(
    client: httpx.AsyncClient, context: AppContext, world: World, item: str, fields: dict[str, str]
) -> None:
    attachment_id = await uploaded(client, world, getattr(world, item), content=SECRET_PDF, **fields)

    hidden = await client.get(f"/api/attachments/{attachment_id}")
    missing = await client.get("/api/attachments/999999")

    assert (hidden.status_code, hidden.content) == (missing.status_code, missing.content)
    assert hidden.status_code == 404
    # Both are recorded alike (web.viewer.record_hidden); only the reason tells the auditor which it was.
    denied, absent = await audit_entries(context, "access.denied")
    assert denied.subject == f"route:GET /api/attachments/{attachment_id}"
    assert json.loads(denied.data)["reason"] == "hidden: No such attachment."
    assert absent.subject == "route:GET /api/attachments/999999"
    assert json.loads(absent.data)["reason"] == "missing: No such attachment."
    assert await agenda_attachments(client, world.public_meeting, {}) == []


async def test_a_member_gets_confidential_attachments_privately(
    client: httpx.AsyncClient, world: World
) -> None:
    attachment_id = await uploaded(
        client, world, world.confidential_item, content=SECRET_PDF, is_public="false", basis=BASIS
    )

    response = await client.get(f"/api/attachments/{attachment_id}", headers=world.member)

    assert response.status_code == 200
    assert response.content == SECRET_PDF
    assert response.headers["cache-control"] == "private, no-store"
    assert await agenda_attachments(client, world.public_meeting, world.member) == [attachment_id]


@pytest.mark.parametrize("who", ["member", "other_secretary"])
async def test_only_the_bodys_secretary_uploads(
    client: httpx.AsyncClient, context: AppContext, world: World, who: str
) -> None:
    response = await upload(client, getattr(world, who), world.public_item)

    assert response.status_code == 404
    assert response.json()["error"] == "No such agenda item."
    assert stored_files(context) == []
    [denied] = await audit_entries(context, "access.denied")
    assert json.loads(denied.data)["reason"] == "hidden: No such agenda item."


async def test_the_public_cannot_upload_or_remove(client: httpx.AsyncClient, world: World) -> None:
    attachment_id = await uploaded(client, world, world.public_item)

    assert (await upload(client, {}, world.public_item)).status_code == 401
    assert (await client.delete(f"/api/attachments/{attachment_id}")).status_code == 401


# ---- changes -------------------------------------------------------------------------------------


async def change(
    client: httpx.AsyncClient, headers: dict[str, str], attachment_id: int, **fields: object
) -> httpx.Response:
    return await client.patch(f"/api/attachments/{attachment_id}", headers=headers, json=fields)


async def agenda_version(client: httpx.AsyncClient, world: World, meeting_id: int) -> int:
    response = await client.get(f"/api/meetings/{meeting_id}", headers=world.secretary)
    version: int = response.json()["meeting"]["agenda_version"]
    return version


async def test_an_attachment_made_confidential_leaves_the_public_agenda_and_download(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    """R-PUB-7: what the public may no longer see disappears at once, from cached pages too."""
    attachment_id = await uploaded(client, world, world.public_item, title="Liitekartta")
    page = await client.get(f"/meetings/{world.public_meeting}")
    assert "Liitekartta" in page.text
    assert f"/api/attachments/{attachment_id}" in page.text
    public_copy = await client.get(f"/api/attachments/{attachment_id}")
    assert public_copy.status_code == 200
    version = await agenda_version(client, world, world.public_meeting)

    response = await change(
        client, world.secretary, attachment_id, is_public=False, confidentiality_basis=f" {BASIS} "
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["is_public"], body["confidentiality_basis"]) == ("Liitekartta", False, BASIS)
    [updated] = await audit_entries(context, "attachment.updated")
    assert updated.actor.startswith("user:")
    assert updated.subject == f"attachment:{attachment_id}"
    assert json.loads(updated.data) == {
        "item": f"item:{world.public_item}",
        "changed": ["confidentiality_basis", "is_public"],
        "is_public": False,
        "agenda_version": version + 1,
    }
    assert await agenda_version(client, world, world.public_meeting) == version + 1
    page = await client.get(f"/meetings/{world.public_meeting}")
    assert page.status_code == 200
    assert "Liitekartta" not in page.text
    assert f"/api/attachments/{attachment_id}" not in page.text
    assert await agenda_attachments(client, world.public_meeting, {}) == []
    assert (await client.get(f"/api/attachments/{attachment_id}")).status_code == 404
    revalidated = await client.get(
        f"/api/attachments/{attachment_id}", headers={"if-none-match": public_copy.headers["etag"]}
    )
    assert revalidated.status_code == 404  # a public cache asking again gets no 304
    kept = await client.get(f"/api/attachments/{attachment_id}", headers=world.member)
    assert (kept.status_code, kept.headers["cache-control"]) == (200, "private, no-store")


async def test_an_attachment_made_public_and_renamed_drops_its_legal_basis(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    attachment_id = await uploaded(client, world, world.public_item, is_public="false", basis=BASIS)

    response = await change(client, world.secretary, attachment_id, title="  Asemapiirros ", is_public=True)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["is_public"], body["confidentiality_basis"]) == ("Asemapiirros", True, "")
    [updated] = await audit_entries(context, "attachment.updated")
    data = json.loads(updated.data)
    assert data["changed"] == ["confidentiality_basis", "is_public", "title"]
    assert "Asemapiirros" not in updated.data
    assert (await client.get(f"/api/attachments/{attachment_id}")).content == PDF


async def test_a_change_before_the_call_keeps_the_agenda_version(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    attachment_id = await uploaded(client, world, world.draft_item)

    response = await change(client, world.secretary, attachment_id, title="Luonnoksen liite")

    assert response.status_code == 200
    [updated] = await audit_entries(context, "attachment.updated")
    assert json.loads(updated.data)["agenda_version"] == 0


async def test_an_unchanged_attachment_records_nothing(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    attachment_id = await uploaded(client, world, world.public_item, is_public="false", basis=BASIS)
    version = await agenda_version(client, world, world.public_meeting)

    for fields in ({}, {"title": "Liite 1 ", "is_public": False, "confidentiality_basis": BASIS}):
        response = await change(client, world.secretary, attachment_id, **fields)
        assert response.status_code == 200, response.text

    assert await audit_entries(context, "attachment.updated") == []
    assert await agenda_version(client, world, world.public_meeting) == version


@pytest.mark.parametrize(
    ("item", "uploaded_as", "fields", "field"),
    [
        ("public_item", {}, {"is_public": False}, "confidentiality_basis"),  # R-MIN-3
        ("public_item", {}, {"is_public": False, "confidentiality_basis": "  "}, "confidentiality_basis"),
        (
            "confidential_item",
            {"is_public": "false", "basis": BASIS},
            {"is_public": True},
            "is_public",
        ),  # R-PUB-2
        ("public_item", {}, {"title": "   "}, "title"),
        ("public_item", {}, {"title": "x" * 301}, "title"),
    ],
)
async def test_a_change_breaking_a_rule_is_refused(
    client: httpx.AsyncClient,
    context: AppContext,
    world: World,
    item: str,
    uploaded_as: dict[str, str],
    fields: dict[str, object],
    field: str,
) -> None:
    attachment_id = await uploaded(client, world, getattr(world, item), **uploaded_as)

    response = await change(client, world.secretary, attachment_id, **fields)

    assert response.status_code == 422
    assert response.json()["field"] == field
    assert await audit_entries(context, "attachment.updated") == []
    again = await change(client, world.secretary, attachment_id)  # nothing was changed
    assert again.json()["title"] == "Liite 1"


async def test_a_removed_attachment_cannot_be_changed(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    attachment_id = await uploaded(client, world, world.public_item)
    await client.delete(f"/api/attachments/{attachment_id}", headers=world.secretary)

    response = await change(client, world.secretary, attachment_id, title="Uusi")

    assert response.status_code == 409
    assert response.json()["error"] == "A removed attachment cannot be changed."
    assert await audit_entries(context, "attachment.updated") == []


async def test_a_cancelled_meetings_attachment_cannot_be_changed(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    attachment_id = await uploaded(client, world, world.public_item)
    async with context.db.write() as session:  # the state itself, however the meeting came to be cancelled
        meeting = await session.get(Meeting, world.public_meeting)
        assert meeting is not None
        meeting.status = MeetingStatus.CANCELLED

    response = await change(client, world.secretary, attachment_id, title="Uusi")

    assert response.status_code == 409
    assert response.json()["error"] == "A cancelled meeting's agenda cannot be changed."
    assert await audit_entries(context, "attachment.updated") == []


@pytest.mark.parametrize(
    ("who", "fields", "status"),
    [
        ("member", {}, 403),
        ("other_secretary", {}, 403),  # sees the public attachment like anyone, may not change it
        ("other_secretary", {"is_public": "false", "basis": BASIS}, 404),
    ],
)
async def test_only_the_bodys_secretary_changes(
    client: httpx.AsyncClient,
    context: AppContext,
    world: World,
    who: str,
    fields: dict[str, str],
    status: int,
) -> None:
    attachment_id = await uploaded(client, world, world.public_item, **fields)

    response = await change(client, getattr(world, who), attachment_id, title="Ei saa")

    assert response.status_code == status
    assert (await change(client, {}, attachment_id, title="Ei saa")).status_code == 401
    assert await audit_entries(context, "attachment.updated") == []
    assert len(await audit_entries(context, "access.denied")) == 2
    assert (await client.get(f"/api/attachments/{attachment_id}", headers=world.secretary)).status_code == 200


# ---- removal -------------------------------------------------------------------------------------


async def test_a_removed_attachment_vanishes_for_all_but_the_secretary(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    attachment_id = await uploaded(client, world, world.public_item)

    response = await client.delete(f"/api/attachments/{attachment_id}", headers=world.secretary)

    assert response.status_code == 204
    [removed] = await audit_entries(context, "attachment.removed")
    assert removed.subject == f"attachment:{attachment_id}"
    for headers in ({}, world.member, world.secretary):
        assert await agenda_attachments(client, world.public_meeting, headers) == []
    assert (await client.get(f"/api/attachments/{attachment_id}")).status_code == 404
    assert (await client.get(f"/api/attachments/{attachment_id}", headers=world.member)).status_code == 404
    assert (await client.get(f"/api/attachments/{attachment_id}", headers=world.secretary)).content == PDF
    assert len(stored_files(context)) == 1


async def test_removing_twice_records_once(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    attachment_id = await uploaded(client, world, world.public_item)

    for _ in range(2):
        assert (
            await client.delete(f"/api/attachments/{attachment_id}", headers=world.secretary)
        ).status_code == 204

    assert len(await audit_entries(context, "attachment.removed")) == 1


@pytest.mark.parametrize(
    ("who", "fields", "status"),
    [
        ("member", {}, 403),
        ("other_secretary", {}, 403),  # sees the public attachment like anyone, may not remove it
        ("other_secretary", {"is_public": "false", "basis": BASIS}, 404),
    ],
)
async def test_only_the_bodys_secretary_removes(
    client: httpx.AsyncClient,
    context: AppContext,
    world: World,
    who: str,
    fields: dict[str, str],
    status: int,
) -> None:
    attachment_id = await uploaded(client, world, world.public_item, **fields)

    response = await client.delete(f"/api/attachments/{attachment_id}", headers=getattr(world, who))

    assert response.status_code == status
    assert await audit_entries(context, "attachment.removed") == []
    assert len(await audit_entries(context, "access.denied")) == 1
