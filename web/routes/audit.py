"""The auditor's view of the log: list and filter, export as JSON Lines, checkpoints, verification."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import MediaType, Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import do_record_export
from audit.export import export_lines
from audit.models import AuditAction
from audit.queries import AuditFilter, list_checkpoints, list_entries
from audit.verify import verify_database
from auth.models import Role
from auth.queries import user_by_username
from core.bounds import check_moment
from core.errors import ValidationFailed
from web.guards import has_role, principal_of
from web.pages import render
from web.schemas import AuditEntryOut, AuditPage, CheckpointOut, VerifyOut
from web.security import app_context

Req = Request[Any, Any, Any]
auditor = has_role(Role.AUDITOR)
Seq = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]  # an entry's number: a BIGINT


def _moment(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(
            "{name} must be a date or time such as 2026-11-28T09:00Z.", field=name, name=name
        ) from exc
    if moment.tzinfo is None:
        raise ValidationFailed(
            "{name} must include a time zone, e.g. 2026-11-28T09:00+02:00.", field=name, name=name
        )
    check_moment(moment, field=name)  # one near datetime's ends overflowed when converted to UTC
    return moment


async def _criteria(
    session: AsyncSession,
    since: str | None,
    until: str | None,
    actor: str | None,
    action: str | None,
    subject: str | None,
) -> AuditFilter:
    """`actor` may be an actor string (user:7, system) or a username."""
    for name, text in (("actor", actor), ("action", action), ("subject", subject)):
        if text and "\x00" in text:  # refused here, not by the database in the middle of an export
            raise ValidationFailed("Text cannot contain the NUL character.", field=name)
    if actor and ":" not in actor and actor not in ("system", "anonymous"):
        user = await user_by_username(session, actor)
        actor = f"user:{user.id}" if user else f"user:?{actor}"
    return AuditFilter(
        _moment(since, "since"), _moment(until, "until"), actor or None, action or None, subject or None
    )


@get("/entries", guards=[auditor])
async def entries(
    session: NamedDependency[AsyncSession],
    since: FromQuery[str | None] = None,
    until: FromQuery[str | None] = None,
    actor: FromQuery[str | None] = None,
    action: FromQuery[str | None] = None,
    subject: FromQuery[str | None] = None,
    before: FromQuery[Seq | None] = None,
    limit: FromQuery[int] = 50,
) -> AuditPage:
    if not 1 <= limit <= 1000:
        raise ValidationFailed("limit must be between 1 and 1000.", field="limit")
    page = await list_entries(
        session, await _criteria(session, since, until, actor, action, subject), limit=limit, before=before
    )
    out = [
        AuditEntryOut(e.seq, e.ts, e.actor, e.action, e.subject, e.data, e.leaf_hash, e.chain_hash)
        for e in page.entries
    ]
    return AuditPage(out, page.total, page.next_before)


@get("/export", guards=[auditor])
async def export(
    request: Req,
    since: FromQuery[str | None] = None,
    until: FromQuery[str | None] = None,
    actor: FromQuery[str | None] = None,
    action: FromQuery[str | None] = None,
    subject: FromQuery[str | None] = None,
) -> Stream:
    """JSON Lines, streamed; the export itself is recorded first (audit.exported)."""
    context = app_context(request)
    async with context.db.write() as session:
        criteria = await _criteria(session, since, until, actor, action, subject)
        filters = {"since": since, "until": until, "actor": actor, "action": action, "subject": subject}
        used = {k: v for k, v in filters.items() if v}
        await do_record_export(session, actor=principal_of(request).actor, criteria=used)

    async def lines() -> AsyncIterator[str]:
        async with context.db.read() as session:
            async for line in export_lines(session, criteria):
                yield line

    return Stream(
        lines(),
        media_type="application/x-ndjson",
        headers={"content-disposition": 'attachment; filename="kokous-audit.jsonl"'},
    )


@get("/checkpoints", guards=[auditor])
async def checkpoints(session: NamedDependency[AsyncSession]) -> list[CheckpointOut]:
    return [
        CheckpointOut(c.id, c.tree_size, c.created_at, c.reason, c.note)
        for c in await list_checkpoints(session)
    ]


@get("/verify", guards=[auditor])
async def verify(request: Req) -> VerifyOut:
    """Reads the whole log, so not in the request's bounded read session."""
    context = app_context(request)
    signer = context.signer
    async with context.db.read() as session:
        report = await verify_database(session, signer.verifier)
    return VerifyOut(
        report.intact,
        report.entries,
        report.checkpoints,
        report.summary(),
        report.bad_seq,
        signer.verifier.vkey,
    )


audit_api = Router(path="/api/audit", route_handlers=[entries, export, checkpoints, verify], tags=["audit"])


@get("/audit", guards=[auditor], media_type=MediaType.HTML)
async def audit_page(
    request: Req,
    session: NamedDependency[AsyncSession],
    since: FromQuery[str | None] = None,
    until: FromQuery[str | None] = None,
    actor: FromQuery[str | None] = None,
    action: FromQuery[str | None] = None,
    before: FromQuery[Seq | None] = None,
) -> Response[str]:
    form = {"since": since or "", "until": until or "", "actor": actor or "", "action": action or ""}
    error = None
    try:
        page = await list_entries(
            session, await _criteria(session, since, until, actor, action, None), before=before
        )
    except ValidationFailed as exc:
        page, error = None, exc
    query = urlencode({k: v for k, v in form.items() if v})
    return render(
        request,
        "audit.html",
        {
            "page": page,
            "form": form,
            "error": error,
            "query": query,
            "actions": [str(a) for a in AuditAction],
            "checkpoints": await list_checkpoints(session, limit=5),
            "vkey": app_context(request).signer.verifier.vkey,
        },
        status_code=422 if error else 200,
    )
