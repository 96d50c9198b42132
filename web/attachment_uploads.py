"""An attachment's upload as the API and the agenda editor both receive it: checked before a byte of the
body is read, then streamed into the store under the organisation's limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from core.errors import ValidationFailed
from meetings.access import Capability, access_item
from meetings.actions.attachments import (
    attachment_limit,
    check_attachment,
)
from meetings.models import AgendaItem, Meeting
from meetings.storage import (
    Stored,
    UnsupportedType,
    attachment_store,
    clean_filename,
    too_large,
)
from web.http import Req
from web.limits import CountedReceive
from web.security import app_context
from web.uploads import UploadForm, multipart_boundary, read_upload
from web.viewer import current_viewer

FORM_OVERHEAD = 64 * 1024  # boundaries, part headers and the short text fields around the file
# Litestar's own backstop: the highest limit an organisation may set (meetings.actions) plus the form.
# The organisation's real limit is enforced below while the request is read.
MAX_REQUEST_BYTES = 2 * 1024**3 + FORM_OVERHEAD
TRUE, FALSE = frozenset({"true", "1", "yes", "on"}), frozenset({"false", "0", "no", "off"})
UPLOAD_FIELDS = frozenset({"title", "is_public", "confidentiality_basis"})


@dataclass(frozen=True, slots=True)
class UploadFields:
    filename: str
    declared: str
    title: str
    is_public: bool
    confidentiality_basis: str


def _multipart(request: Req, limit: int) -> bytes:
    """The form's boundary, if the request is a form that could hold a file within the limit."""
    media_type, options = request.content_type
    if media_type != "multipart/form-data":
        raise UnsupportedType(
            "Send the file as multipart/form-data with the fields file, title, is_public and "
            "confidentiality_basis."
        )
    if (request.content_length or 0) > limit + FORM_OVERHEAD:
        raise too_large(limit)
    return multipart_boundary(options)


def public_flag(text: str) -> bool:
    """A form's `is_public`: true or false, in the spellings browsers and scripts send."""
    flag = text.strip().lower()
    if flag not in TRUE | FALSE:
        raise ValidationFailed("Say whether the attachment is public: true or false.", field="is_public")
    return flag in TRUE


def _fields(form: UploadForm) -> UploadFields:
    if form.filename is None:
        raise ValidationFailed("Choose one file to upload.", field="file")
    is_public = public_flag(form.fields.get("is_public", ""))
    title = form.fields.get("title", "").strip() or clean_filename(form.filename)
    basis = form.fields.get("confidentiality_basis", "").strip()
    return UploadFields(form.filename, form.declared, title, is_public, basis)


async def may_upload(request: Req, item_id: int) -> tuple[AgendaItem, Meeting, int]:
    """Checked in a short read transaction before the body is read, so outsiders never get to send bytes."""
    async with app_context(request).db.read() as session:
        viewer = await current_viewer(request, session)
        item, meeting = await access_item(session, viewer, item_id, need=Capability.PREPARE)
        return item, meeting, await attachment_limit(session)


async def store_upload(
    request: Req, item: AgendaItem, meeting: Meeting, limit: int
) -> tuple[Stored, UploadFields]:
    """Stream the form's file into the store's temporary file, cut off once the body passes the limit and
    the form's allowance; the file is kept only if the form and the file pass every check."""
    boundary = _multipart(request, limit)
    receive = CountedReceive(request.receive, limit + FORM_OVERHEAD, lambda: too_large(limit))
    chunks = Request[Any, Any, Any](request.scope, receive).stream()
    store = attachment_store(app_context(request).settings.data_dir)
    async with store.receiving(limit=limit) as incoming:
        fields = _fields(await read_upload(chunks, boundary, incoming, fields=UPLOAD_FIELDS))
        check_attachment(
            item,
            meeting,
            title=fields.title,
            is_public=fields.is_public,
            confidentiality_basis=fields.confidentiality_basis,
        )
        stored = await store.keep(incoming, filename=fields.filename, declared=fields.declared)
    return stored, fields
