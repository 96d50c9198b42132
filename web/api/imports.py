"""Importing a body's members from a CSV file: all rows or none, with a report of every rejected row."""

from __future__ import annotations

import msgspec
from litestar import Response, Router, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery
from litestar.status_codes import HTTP_200_OK, HTTP_415_UNSUPPORTED_MEDIA_TYPE, HTTP_422_UNPROCESSABLE_ENTITY
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import Role
from core.errors import ValidationFailed
from meetings import imports
from meetings.access import Viewer, access_body
from web.guards import has_role, principal_of, recent_step_up, return_step_up
from web.http import Req
from web.limits import IMPORT_BODY
from web.uploads import Collected, multipart_boundary, read_upload

admin = has_role(Role.ADMIN)
RAW_TYPES = frozenset({"text/csv", "text/plain", "application/csv"})
# Room for the multipart envelope; a file over imports.MAX_BYTES inside it gets the domain's own message.


class RejectionOut(msgspec.Struct):
    row: int
    field: str
    message: str


class ImportReportOut(msgspec.Struct):
    imported: bool
    dry_run: bool
    rows: int
    accepted: int
    created_users: int
    rejected_rows: int
    rejections: list[RejectionOut]
    encoding: str
    delimiter: str
    sha256: str


def report_out(report: imports.ImportReport, *, dry_run: bool) -> ImportReportOut:
    return ImportReportOut(
        imported=report.imported,
        dry_run=dry_run,
        rows=report.rows,
        accepted=report.accepted,
        created_users=report.created_users,
        rejected_rows=len({r.row for r in report.rejections}),
        rejections=[RejectionOut(r.row, r.field, r.message) for r in report.rejections],
        encoding=report.encoding,
        delimiter=report.delimiter,
        sha256=report.sha256,
    )


async def uploaded_csv(request: Req) -> bytes:
    """The file from the multipart field `file`, or the whole body when it is sent as text/csv."""
    media_type, options = request.content_type
    if media_type == "multipart/form-data":
        collected = Collected()  # at most IMPORT_BODY bytes (web.limits)
        form = await read_upload(request.stream(), multipart_boundary(options), collected, fields=frozenset())
        if form.filename is None:
            raise ValidationFailed("Send the CSV file in the form field “file”.", field="file")
        return bytes(collected.data)
    if media_type in RAW_TYPES:
        return await request.body()
    raise HTTPException(
        "Send the file as text/csv, or as the field “file” of a multipart/form-data form.",
        status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    )


@post(
    "/bodies/{body_id:int}/members/import",
    guards=[admin, recent_step_up],
    request_max_body_size=IMPORT_BODY,
    status_code=HTTP_200_OK,
)
async def import_members(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    body_id: FromPath[int],
    dry_run: FromQuery[bool] = False,
) -> Response[ImportReportOut]:
    """200 with the report when the file was imported (or would be, on a dry run); 422 when nothing was."""
    body = await access_body(session, viewer, body_id)
    data = await uploaded_csv(request)
    if dry_run:
        report = await imports.preview_members_import(session, body=body, csv_bytes=data)
    else:
        actor = principal_of(request).actor
        report = await imports.do_import_members(session, body=body, csv_bytes=data, actor=actor)
    if dry_run or report.rejections:
        await return_step_up(request, session)  # nothing changed: the step-up is still good for the import
    status = HTTP_422_UNPROCESSABLE_ENTITY if report.rejections else HTTP_200_OK
    return Response(report_out(report, dry_run=dry_run), status_code=status)


imports_router = Router(path="/api", route_handlers=[import_members], tags=["organisation"])
