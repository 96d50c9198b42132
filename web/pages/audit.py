"""The auditor's pages: the log with names beside ids and local times, filters that can be bookmarked, and the
verification of the whole log against its signed checkpoints."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Response, Router, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.models import CURRENT_NAME, AuditAction
from audit.queries import AuditFilter, list_checkpoints, list_entries
from audit.verify import Report, verify_database
from auth.models import Role, User
from core.clock import LOCAL
from core.errors import ValidationFailed
from core.text import translatable
from meetings.models import AgendaItem, Body, Meeting
from web.audit_filters import Before, audit_filter, local_moment
from web.guards import has_role
from web.http import Req
from web.rendering import render
from web.security import app_context

auditor = has_role(Role.AUDITOR)
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
    AuditAction.ELECTION_OPENED: translatable("Election opened"),
    AuditAction.ELECTION_BALLOT_CAST: translatable("Election ballot cast"),
    AuditAction.ELECTION_CLOSED: translatable("Election closed"),
    AuditAction.STATEMENT_RECORDED: translatable("Person heard recorded"),
    AuditAction.MAIL_DELIVERED: translatable("E-mail delivered"),
    AuditAction.MAIL_FAILED: translatable("E-mail delivery failed"),
    AuditAction.MAIL_PURGED: translatable("Old e-mail deleted"),
    AuditAction.MEDIA_JOINED: translatable("Joined with sound and picture"),
    AuditAction.MEDIA_RENEGOTIATED: translatable("Turned the camera or microphone on or off"),
    AuditAction.MEDIA_RATE_LIMITED: translatable("Too many sound and picture connection attempts"),
    AuditAction.MEDIA_LEFT: translatable("Left sound and picture"),
    AuditAction.MEDIA_LOST: translatable("Sound and picture connection lost"),
    AuditAction.MEDIA_ATTESTED: translatable("Confirmed that no outsider sees or hears a closed item"),
    AuditAction.MEDIA_RECORDING_SET: translatable("Recording of the public items switched on or off"),
    AuditAction.MEDIA_RECORDING_STARTED: translatable("Recording of an item started"),
    AuditAction.MEDIA_RECORDING_STOPPED: translatable("Recording of an item ended"),
    AuditAction.MEDIA_RECORDINGS_PUBLIC_SET: translatable(
        "Offering the recordings to the public switched on or off"
    ),
    AuditAction.MEDIA_RECORDINGS_DOWNLOADED: translatable(
        "Recordings downloaded by the public (hourly count)"
    ),
    AuditAction.MEDIA_RECORDING_REMOVED: translatable("Recording removed at the end of its retention"),
    AuditAction.ROLL_CALL_STARTED: translatable("Roll call with pictures started"),
    AuditAction.ROLL_CALL_MARKED: translatable("Marked at the roll call"),
    AuditAction.ROLL_CALL_ENDED: translatable("Roll call with pictures ended"),
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
    AuditAction.PROCEDURE_CHECK_OPENED: translatable("Decision-procedure record opened for checking"),
    AuditAction.PROCEDURE_CHECK_CHECKERS_CHOSEN: translatable(
        "Checkers of the decision-procedure record changed"
    ),
    AuditAction.PROCEDURE_CHECK_APPROVED: translatable("Decision-procedure record approved by a checker"),
    AuditAction.PROCEDURE_CHECK_REJECTED: translatable("Decision-procedure record rejected by a checker"),
}
# Entries written before an action was renamed keep their stored name (docs/audit.md): label them alike.
SHOWN_LABELS: dict[str, str] = {
    **ACTION_LABELS,
    **{old: ACTION_LABELS[new] for old, new in CURRENT_NAME.items()},
}


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


# How long each filter may be: a time, a username or reference, an action's name.
FILTER_LIMITS = {"since": 40, "until": 40, "actor": 200, "action": 64, "subject": 200}


async def page_criteria(session: AsyncSession, form: AuditForm) -> AuditFilter:
    """The filters as typed on the page: local times, a username or user:7, an action or its group.
    A filter longer than it can be is refused, not cut."""
    for name, limit in FILTER_LIMITS.items():
        if len(getattr(form, name)) > limit:
            raise ValidationFailed("At most {max} characters fit here.", field=name, max=limit)
    since = local_moment(form.since, "since")
    until = local_moment(form.until, "until", end_of_day=True)
    found = await audit_filter(session, None, None, form.actor.strip(), form.action, form.subject.strip())
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
    form = AuditForm(since, until, actor, action, subject)
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


audit_pages_router = Router(path="/", route_handlers=[audit_page, audit_verify_page])
