"""The auditor's API to the log: list and filter, export as JSON Lines, checkpoints, verification."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

from litestar import Router, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import do_record_export
from audit.export import export_lines
from audit.queries import list_checkpoints, list_entries
from audit.verify import verify_database
from auth.models import Role
from core.errors import ValidationFailed
from web.audit_filters import Before, audit_filter
from web.guards import has_role, principal_of
from web.http import Req
from web.openapi import download
from web.schemas import AuditEntryOut, AuditPage, CheckpointOut, VerifyOut, VerifyStatus
from web.security import app_context

auditor = has_role(Role.AUDITOR)


@get("/entries", guards=[auditor])
async def entries(
    session: NamedDependency[AsyncSession],
    since: FromQuery[str | None] = None,
    until: FromQuery[str | None] = None,
    actor: FromQuery[str | None] = None,
    action: FromQuery[str | None] = None,
    subject: FromQuery[str | None] = None,
    before: Before = None,
    limit: FromQuery[int] = 50,
) -> AuditPage:
    if not 1 <= limit <= 1000:
        raise ValidationFailed("limit must be between 1 and 1000.", field="limit")
    page = await list_entries(
        session, await audit_filter(session, since, until, actor, action, subject), limit=limit, before=before
    )
    out = [
        AuditEntryOut(e.seq, e.ts, e.actor, e.action, e.subject, e.data, e.leaf_hash, e.chain_hash)
        for e in page.entries
    ]
    return AuditPage(out, page.total, page.next_before)


@get("/export", guards=[auditor], opt=download("application/x-ndjson"))
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
        criteria = await audit_filter(session, since, until, actor, action, subject)
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
        cast(VerifyStatus, report.status),
    )


audit_api = Router(path="/api/audit", route_handlers=[entries, export, checkpoints, verify], tags=["audit"])
