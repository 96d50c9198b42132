"""The auditor's view of the log: list and filter, export as JSON Lines, checkpoints, verification."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any, cast
from urllib.parse import urlencode

from litestar import MediaType, Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import do_record_export
from audit.export import export_lines
from audit.models import CURRENT_NAME, AuditAction
from audit.queries import AuditFilter, list_checkpoints, list_entries
from audit.verify import Report, verify_database
from auth.models import Role, User
from auth.queries import user_by_username
from core.bounds import check_moment
from core.clock import LOCAL
from core.errors import ValidationFailed
from core.text import translatable
from meetings.models import AgendaItem, Body, Meeting
from web.guards import has_role, principal_of
from web.openapi import download
from web.pages import render
from web.schemas import AuditEntryOut, AuditPage, CheckpointOut, VerifyOut, VerifyStatus
from web.security import app_context

Req = Request[Any, Any, Any]
auditor = has_role(Role.AUDITOR)
# An entry's number (a BIGINT), to page back from. The bounds are given to Litestar: it drops a msgspec.Meta
# inside an optional parameter's type, and a number beyond 64 bits then reached the database (a 500).
Before = Annotated[int | None, QueryParameter(ge=1, le=2**63 - 1)]


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
    before: Before = None,
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
        cast(VerifyStatus, report.status),
    )


audit_api = Router(path="/api/audit", route_handlers=[entries, export, checkpoints, verify], tags=["audit"])


# ---- the auditor's pages --------------------------------------------------------------------------------

# What each action means, in words the page translates (docs/translations.md); a test checks each has one.
ACTION_LABELS: dict[str, str] = {
    AuditAction.SESSION_STARTED: translatable("Signed in"),
    AuditAction.LOGIN_FAILED: translatable("Sign-in failed"),
    AuditAction.LOGIN_LOCKED: translatable("Account locked (no longer used)"),
    AuditAction.LOGIN_RATE_LIMITED: translatable("Sign-in attempts slowed down"),
    AuditAction.SESSION_ENDED: translatable("Signed out"),
    AuditAction.SESSION_REFRESHED: translatable("Session renewed"),
    AuditAction.SESSION_STEPPED_UP: translatable("Identity confirmed again for a change"),
    AuditAction.TOKEN_REUSED: translatable("A used session token was reused: session ended"),
    AuditAction.TOKEN_REJECTED: translatable("Token refused"),
    AuditAction.REAUTH_FAILED: translatable("Confirming identity again failed"),
    AuditAction.TOTP_ENROLMENT_STARTED: translatable("Second factor set-up started"),
    AuditAction.TOTP_ENROLMENT_CONFIRMED: translatable("Second factor set up"),
    AuditAction.TOTP_FAILED: translatable("Wrong second-factor code"),
    AuditAction.TOTP_RESET: translatable("Second factor reset"),
    AuditAction.RECOVERY_CODE_USED: translatable("Recovery code used"),
    AuditAction.PASSWORD_CHANGED: translatable("Password changed"),
    AuditAction.PASSWORD_REHASHED: translatable("Password hash renewed"),
    AuditAction.USER_CREATED: translatable("Account created"),
    AuditAction.USER_DISABLED: translatable("Account deactivated"),
    AuditAction.USER_ENABLED: translatable("Account activated"),
    AuditAction.ROLE_GRANTED: translatable("Role given"),
    AuditAction.ROLE_REVOKED: translatable("Role taken away"),
    AuditAction.ACCESS_DENIED: translatable("Access refused"),
    AuditAction.FAILURES_SUMMARISED: translatable("Repeated failures summarised"),
    AuditAction.AUDIT_EXPORTED: translatable("Audit log exported"),
    AuditAction.ORGANISATION_UPDATED: translatable("Organisation's settings changed"),
    AuditAction.BODY_CREATED: translatable("Body created"),
    AuditAction.BODY_UPDATED: translatable("Body's settings changed"),
    AuditAction.MEMBERSHIP_ADDED: translatable("Membership added"),
    AuditAction.MEMBERSHIP_ENDED: translatable("Membership ended"),
    AuditAction.MEMBERS_IMPORTED: translatable("Members imported"),
    AuditAction.MEETING_CREATED: translatable("Meeting created"),
    AuditAction.MEETING_UPDATED: translatable("Meeting changed"),
    AuditAction.CALL_SENT: translatable("Call sent"),
    AuditAction.MEETING_CANCELLED: translatable("Meeting cancelled"),
    AuditAction.ITEM_ADDED: translatable("Item added"),
    AuditAction.ITEM_UPDATED: translatable("Item changed"),
    AuditAction.ITEM_REMOVED: translatable("Item removed"),
    AuditAction.ITEMS_REORDERED: translatable("Agenda reordered"),
    AuditAction.ATTACHMENT_ADDED: translatable("Attachment added"),
    AuditAction.ATTACHMENT_REMOVED: translatable("Attachment removed"),
    AuditAction.ATTACHMENT_UPDATED: translatable("Attachment changed"),
    AuditAction.DISQUALIFICATION_DECLARED: translatable("Disqualification declared"),
    AuditAction.DISQUALIFICATION_WITHDRAWN: translatable("Disqualification withdrawn"),
    AuditAction.MEETING_OPENED: translatable("Meeting opened"),
    AuditAction.MEETING_DECLARED_LAWFUL: translatable("Meeting declared lawful and quorate"),
    AuditAction.MEETING_CHECKERS_CHOSEN: translatable("Minute checkers chosen"),
    AuditAction.MEETING_SUSPENDED: translatable("Meeting suspended"),
    AuditAction.MEETING_RESUMED: translatable("Meeting resumed"),
    AuditAction.MEETING_CLOSED: translatable("Meeting closed"),
    AuditAction.ARRIVAL_RECORDED: translatable("Arrival recorded"),
    AuditAction.DEPARTURE_RECORDED: translatable("Departure recorded"),
    AuditAction.DISCONNECTION_RECORDED: translatable("Connection lost"),
    AuditAction.RECONNECTION_RECORDED: translatable("Connection restored"),
    AuditAction.ITEM_TAKEN_UP: translatable("Item taken up"),
    AuditAction.RECUSAL_RECORDED: translatable("Recusal recorded"),
    AuditAction.FLOOR_REQUESTED: translatable("Floor requested"),
    AuditAction.FLOOR_REQUEST_WITHDRAWN: translatable("Floor request withdrawn"),
    AuditAction.FLOOR_GRANTED: translatable("Floor given"),
    AuditAction.FLOOR_ENDED: translatable("Speech ended"),
    AuditAction.FLOOR_RULES_SET: translatable("Speaking rules set"),
    AuditAction.PROPOSAL_MADE: translatable("Proposal made"),
    AuditAction.PROPOSAL_SECONDED: translatable("Proposal seconded"),
    AuditAction.PROPOSAL_AMENDED: translatable("Proposal amended"),
    AuditAction.PROPOSAL_WITHDRAWN: translatable("Proposal withdrawn"),
    AuditAction.DISCUSSION_CLOSED: translatable("Discussion closed"),
    AuditAction.VOTING_ORDER_APPROVED: translatable("Voting order approved"),
    AuditAction.VOTE_OPENED: translatable("Vote opened"),
    AuditAction.BALLOT_CAST: translatable("Vote cast"),
    AuditAction.VOTE_CLOSED: translatable("Vote closed"),
    AuditAction.DECISION_MADE: translatable("Decision made"),
    AuditAction.DISSENT_REGISTERED: translatable("Dissent registered"),
    AuditAction.MAIL_DELIVERED: translatable("E-mail delivered"),
    AuditAction.MAIL_FAILED: translatable("E-mail delivery failed"),
    AuditAction.MAIL_PURGED: translatable("Old e-mail deleted"),
    AuditAction.MEDIA_JOINED: translatable("Joined with sound and picture"),
    AuditAction.MEDIA_LEFT: translatable("Left sound and picture"),
    AuditAction.MEDIA_LOST: translatable("Sound and picture connection lost"),
    AuditAction.MEDIA_ATTESTED: translatable("Confirmed that no outsider sees or hears a closed item"),
    AuditAction.PROCEDURE_OPENED: translatable("Decision procedure opened"),
    AuditAction.PROCEDURE_STANCE_STATED: translatable("Stance stated in the decision procedure"),
    AuditAction.PROCEDURE_REMINDED: translatable("Reminder sent in the decision procedure"),
    AuditAction.PROCEDURE_MOVED: translatable("Item moved from the decision procedure to the meeting"),
    AuditAction.PROCEDURE_DECIDED: translatable("Decided in the decision procedure"),
    AuditAction.PROCEDURE_WITHDRAWN: translatable("Decision procedure withdrawn"),
    AuditAction.MINUTES_DRAFTED: translatable("Minutes drafted"),
    AuditAction.MINUTES_EDITED: translatable("Minutes' wording edited"),
    AuditAction.MINUTES_SENT_FOR_CHECKING: translatable("Minutes sent for checking"),
    AuditAction.MINUTES_APPROVED: translatable("Minutes approved by a checker"),
    AuditAction.MINUTES_REJECTED: translatable("Minutes rejected by a checker"),
    AuditAction.MINUTES_SIGNED: translatable("Minutes signed"),
    AuditAction.MINUTES_PUBLISHED: translatable("Minutes published"),
    AuditAction.MINUTES_PERSONAL_DATA_REMOVED: translatable("Personal data removed from published minutes"),
}
# Entries written before an action was renamed keep their stored name (docs/audit.md): label them alike.
SHOWN_LABELS: dict[str, str] = {
    **ACTION_LABELS,
    **{old: ACTION_LABELS[new] for old, new in CURRENT_NAME.items()},
}
# The local forms a person types into the filters: 28.11.2026, 28.11.2026 9.00, 2026-11-28 or ISO with a zone.
LOCAL_FORMATS = ("%d.%m.%Y %H.%M", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


def local_moment(value: str, name: str, *, end_of_day: bool = False) -> datetime | None:
    """A time typed in Europe/Helsinki (a date alone is its start, or with `end_of_day` the next day's
    start), or an ISO 8601 time with its own zone; a year outside 2000–2999 is refused (core.bounds)."""
    moment = _typed_moment(value, name, end_of_day=end_of_day)
    if moment is not None:
        check_moment(moment, field=name)
    return moment


def _typed_moment(value: str, name: str, *, end_of_day: bool) -> datetime | None:
    text = " ".join(value.replace("klo", " ").split())
    if not text:
        return None
    for layout in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            day = datetime.strptime(text, layout).replace(tzinfo=LOCAL).date()
        except ValueError:
            continue
        if not 2000 <= day.year <= 2999:  # also keeps the next day from overflowing at the calendar's end
            raise ValidationFailed("Give a time between the years 2000 and 2999.", field=name)
        return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), tzinfo=LOCAL)
    for layout in LOCAL_FORMATS:
        try:
            return datetime.strptime(text, layout).replace(tzinfo=LOCAL)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed("Write the time as 28.11.2026 or 28.11.2026 9.00.", field=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL)


def shown_time(ts: str) -> str:
    """An entry's UTC timestamp in Europe/Helsinki with its offset: 28.11.2026 11.00.05 +02:00."""
    local = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(LOCAL)
    offset = local.strftime("%z")
    return f"{local.day}.{local.month}.{local.year} {local.hour}.{local:%M.%S} {offset[:3]}:{offset[3:]}"


@dataclass(frozen=True, slots=True)
class Names:
    """Names for the ids an entry's actor and target carry: `user:4` → the person, `body:2` → the body."""

    names: dict[str, str]

    def of(self, ref: str) -> str:
        return self.names.get(ref, "")


async def names_for(session: AsyncSession, refs: Iterable[str]) -> Names:
    ids: dict[str, set[int]] = {}
    for ref in refs:
        kind, _, number = ref.partition(":")
        if number.isdigit() and len(number) <= 9:
            ids.setdefault(kind, set()).add(int(number))
    names: dict[str, str] = {}
    tables: list[tuple[str, Any, Any]] = [
        ("user", User.id, User.display_name),
        ("body", Body.id, Body.name),
        ("item", AgendaItem.id, AgendaItem.title),
    ]
    for kind, key, label in tables:
        if ids.get(kind):
            rows = await session.execute(select(key, label).where(key.in_(sorted(ids[kind]))))
            names |= {f"{kind}:{k}": str(v) for k, v in rows}
    if ids.get("meeting"):
        rows = await session.execute(
            select(Meeting.id, Meeting.starts_at, Body.name)
            .join(Body, Body.id == Meeting.body_id)
            .where(Meeting.id.in_(sorted(ids["meeting"])))
        )
        for meeting_id, starts, body_name in rows:
            local = starts.astimezone(LOCAL)
            names[f"meeting:{meeting_id}"] = f"{body_name} {local.day}.{local.month}.{local.year}"
    return Names(names)


@dataclass
class AuditForm:
    since: str = ""
    until: str = ""
    actor: str = ""
    action: str = ""
    subject: str = ""

    def query(self, **more: object) -> str:
        values = {k: v for k, v in vars(self).items() if v} | {k: v for k, v in more.items() if v}
        return urlencode(values)


async def page_criteria(session: AsyncSession, form: AuditForm) -> AuditFilter:
    """The filters as typed on the page: local times, a username or user:7, an action or its group."""
    since = local_moment(form.since, "since")
    until = local_moment(form.until, "until", end_of_day=True)
    found = await _criteria(session, None, None, form.actor.strip(), form.action, form.subject.strip())
    return AuditFilter(since, until, found.actor, found.action, found.subject)


def export_query(form: AuditForm, criteria: AuditFilter) -> str:
    """The export API's query for the same view: times as ISO 8601 with their offset."""
    values = {
        "since": criteria.since.isoformat() if criteria.since else "",
        "until": criteria.until.isoformat() if criteria.until else "",
        "actor": form.actor.strip(),
        "action": form.action,
        "subject": form.subject.strip(),
    }
    return urlencode({k: v for k, v in values.items() if v})


def _groups() -> list[str]:
    return sorted({str(a).split(".")[0] for a in AuditAction})


@get("/audit", guards=[auditor], media_type=MediaType.HTML)
async def audit_page(
    request: Req,
    session: NamedDependency[AsyncSession],
    since: FromQuery[str] = "",
    until: FromQuery[str] = "",
    actor: FromQuery[str] = "",
    action: FromQuery[str] = "",
    subject: FromQuery[str] = "",
    before: Before = None,
) -> Response[str]:
    """The log, newest first, filtered by a bookmarkable query; names beside ids, local times."""
    form = AuditForm(since[:40], until[:40], actor[:200], action[:64], subject[:200])
    error, page, names, exported = None, None, Names({}), ""
    try:
        criteria = await page_criteria(session, form)
        page = await list_entries(session, criteria, before=before)
        names = await names_for(session, [r for e in page.entries for r in (e.actor, e.subject)])
        exported = export_query(form, criteria)
    except ValidationFailed as exc:
        error = exc
    return render(
        request,
        "audit.html",
        {
            "page": page,
            "form": form,
            "error": error,
            "query": form.query(),
            "export": exported,
            "names": names,
            "labels": SHOWN_LABELS,
            "shown_time": shown_time,
            "actions": [str(a) for a in AuditAction],
            "groups": _groups(),
            "vkey": app_context(request).signer.verifier.vkey,
        },
        status_code=422 if error else 200,
    )


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    id: int
    tree_size: int
    created_at: str
    reason: str
    note: str


@get("/audit/verify", guards=[auditor], media_type=MediaType.HTML)
async def audit_verify_page(request: Req) -> Response[str]:
    """Replay the whole log against its signed checkpoints and show the result and the checkpoints."""
    context = app_context(request)
    verifier = context.signer.verifier
    async with context.db.read() as session:
        report: Report = await verify_database(session, verifier)
        stored = await list_checkpoints(session, limit=20)
    checkpoints = [CheckpointRow(c.id, c.tree_size, c.created_at, c.reason, c.note) for c in stored]
    return render(
        request,
        "audit_verify.html",
        {
            "report": report,
            "checkpoints": checkpoints,
            "vkey": verifier.vkey,
            "shown_time": shown_time,
            "checked_at": shown_time(context.db.clock().isoformat()),
        },
    )
