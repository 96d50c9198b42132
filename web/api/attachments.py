"""Attachments of agenda items: the secretary uploads, changes and removes them; readers download what they
may see."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import Response, Router, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Forbidden
from meetings.access import PUBLIC, Capability, Viewer, access_attachment, access_item, attachment_visible
from meetings.actions.attachments import (
    TEXT_MAX,
    do_add_attachment,
    do_remove_attachment,
    do_update_attachment,
)
from meetings.models import AgendaItem, Attachment, Meeting
from meetings.storage import (
    ALLOWED,
    attachment_store,
)
from web.attachment_uploads import MAX_REQUEST_BYTES, may_upload, store_upload
from web.guards import principal_of, signed_in
from web.http import Req
from web.openapi import answers, download
from web.security import BOUNDED_READS, app_context
from web.viewer import current_viewer


class AttachmentOut(msgspec.Struct):
    id: int
    item_id: int
    title: str
    filename: str
    content_type: str
    size: int
    sha256: str
    is_public: bool
    confidentiality_basis: str


def attachment_out(a: Attachment) -> AttachmentOut:
    return AttachmentOut(
        a.id,
        a.item_id,
        a.title,
        a.filename,
        a.content_type,
        a.size,
        a.sha256,
        a.is_public,
        a.confidentiality_basis,
    )


Line = Annotated[str, msgspec.Meta(max_length=TEXT_MAX)]


class AttachmentChange(msgspec.Struct, forbid_unknown_fields=True):
    """A PATCH: the fields left out keep their values."""

    title: Line | None = None
    is_public: bool | None = None
    confidentiality_basis: Line | None = None


@post(
    "/items/{item_id:int}/attachments",
    status_code=201,
    guards=[signed_in],
    request_max_body_size=MAX_REQUEST_BYTES,
)
async def add_attachment(
    request: Req, session: NamedDependency[AsyncSession], item_id: FromPath[int]
) -> AttachmentOut:
    """The body's secretary uploads a file (multipart: file, title, is_public, confidentiality_basis).

    The request's write transaction begins only after the bytes are stored, so a slow upload never holds
    SQLite's write lock; access is checked before the body is read and again in that transaction.
    """
    item, meeting, limit = await may_upload(request, item_id)
    stored, fields = await store_upload(request, item, meeting, limit)
    item, meeting = await access_item(
        session, await current_viewer(request, session), item_id, need=Capability.PREPARE
    )
    attachment = await do_add_attachment(
        session,
        item=item,
        meeting=meeting,
        title=fields.title,
        filename=stored.filename,
        content_type=stored.media_type,
        sha256=stored.sha256,
        size=stored.size,
        is_public=fields.is_public,
        confidentiality_basis=fields.confidentiality_basis,
        actor=principal_of(request).actor,
    )
    return attachment_out(attachment)


INLINE_TYPES = frozenset({"application/pdf"})  # opened in the browser's own viewer; everything else downloads
# The file's own response may run nothing and reach nothing: a crafted file cannot script the service's
# origin (sandbox without allow-scripts or allow-same-origin).
ATTACHMENT_CSP = "sandbox; default-src 'none'; frame-ancestors 'self'"


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """RFC 6266: an ASCII fallback for old clients and the exact name as UTF-8 in filename*."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\%' else "_" for c in filename)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_headers(attachment: Attachment, item: AgendaItem, meeting: Meeting) -> dict[str, str]:
    """PDFs open inline in the browser, sandboxed; other types always download (nosniff for both)."""
    public = attachment_visible(PUBLIC, meeting, item, attachment)
    inline = attachment.content_type in INLINE_TYPES
    return {
        "content-disposition": content_disposition(attachment.filename, inline=inline),
        "content-security-policy": ATTACHMENT_CSP,
        "x-content-type-options": "nosniff",
        # Public copies may be kept but are revalidated, so a later change of publicity applies at once.
        "cache-control": "public, no-cache" if public else "private, no-store",
        "etag": f'"{attachment.sha256}"',
    }


def _not_modified(request: Req, etag: str) -> bool:
    return etag in (tag.strip() for tag in request.headers.get("if-none-match", "").split(","))


@get(
    "/attachments/{attachment_id:int}",
    opt=download(*(kind.media_type for kind in ALLOWED)),
    responses=answers(304),
)
async def download_attachment(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    attachment_id: FromPath[int],
) -> Response[Any]:
    """The file, if this viewer may see it; its hash is checked before the first byte is sent."""
    attachment, item, meeting = await access_attachment(session, viewer, attachment_id)
    headers = download_headers(attachment, item, meeting)
    if _not_modified(request, headers["etag"]):
        return Response(b"", status_code=304, headers=headers)
    store = attachment_store(app_context(request).settings.data_dir)
    stored = await store.open(attachment.sha256, size=attachment.size)
    headers["content-length"] = str(attachment.size)
    return Stream(stored.chunks(), media_type=attachment.content_type, headers=headers)


@delete("/attachments/{attachment_id:int}", status_code=204, guards=[signed_in])
async def remove_attachment(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    attachment_id: FromPath[int],
) -> None:
    """Withdraw an attachment from the agenda (the body's secretary); its file is kept."""
    attachment, _, meeting = await access_attachment(session, viewer, attachment_id)
    if not viewer.can(Capability.PREPARE, meeting.body_id):
        raise Forbidden("Only the body's secretary removes attachments.")
    await do_remove_attachment(
        session, attachment=attachment, meeting=meeting, actor=principal_of(request).actor
    )


@patch("/attachments/{attachment_id:int}", guards=[signed_in])
async def update_attachment(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    attachment_id: FromPath[int],
    data: JSONBody[AttachmentChange],
) -> AttachmentOut:
    """Change the title or the publicity of an attachment (the body's secretary); the file stays as it is."""
    attachment, _, meeting = await access_attachment(session, viewer, attachment_id)
    if not viewer.can(Capability.PREPARE, meeting.body_id):
        raise Forbidden("Only the body's secretary changes attachments.")
    await do_update_attachment(
        session,
        attachment=attachment,
        title=attachment.title if data.title is None else data.title,
        is_public=attachment.is_public if data.is_public is None else data.is_public,
        confidentiality_basis=(
            attachment.confidentiality_basis
            if data.confidentiality_basis is None
            else data.confidentiality_basis
        ),
        actor=principal_of(request).actor,
    )
    return attachment_out(attachment)


attachments_router = Router(
    path="/api",
    opt=BOUNDED_READS,
    route_handlers=[add_attachment, download_attachment, update_attachment, remove_attachment],
    tags=["attachments"],
)
