"""The live meeting's pages: the meeting now, for the chair, the secretary, members and the public.

The page works without JavaScript: every control is a small form that posts to `/meetings/{id}/live/{action}`,
which runs one domain action (meetings.live.actions) in a savepoint and redirects back (303) with a notice; a
refusal shows the page again with the reason at its top. With JavaScript, web/static/live.js follows the
meeting's WebSocket (or polls) and swaps in the panel fragment `/meetings/{id}/live/panel`.

Access: anyone who may follow the meeting sees the page, as `live_view` projects it (the public only a public
meeting's public items, R-EMEET-5, R-PUB-2/3). Each action names the capability it needs (ACTIONS): the chair
runs the meeting (`run`), the secretary marks attendance and recusals found by the body
(`record_attendance`), and those with a role in the body act for themselves (`speak`); the domain then refuses
what their place in the meeting does not allow (no seat, not entitled to this vote, disqualified; only the
item's presenter amends the base proposal, R-PROP-6).

The chair's voting order editor keeps its draft in the page's address (`?order=14 12 13`): moving a proposal
is a plain GET form that shows the page with the new draft, and nothing is stored until the body approves
the order (`approve-order`). Texts longer than the domain keeps are refused (422, naming the field), never
cut short.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from litestar import MediaType, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import User
from core.bounds import EXPLANATION, LONG_TEXT, valid_id
from core.clock import LOCAL
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.text import translatable
from meetings import lifecycle
from meetings.access import Capability, Hidden, Viewer, access_meeting_and_body, parent_row
from meetings.lifecycle import Operation
from meetings.live.actions.attendance import do_record_arrival, do_record_departure
from meetings.live.actions.dissents import do_register_dissent
from meetings.live.actions.elections import (
    Nomination,
    do_cast_election_ballot,
    do_close_election,
    do_open_election,
)
from meetings.live.actions.floor import (
    do_end_floor,
    do_grant_floor,
    do_request_floor,
    do_set_floor_rules,
    do_withdraw_floor_request,
)
from meetings.live.actions.items import (
    do_approve_order,
    do_close_discussion,
    do_decide_without_vote,
    do_record_recusal,
    do_take_up_item,
)
from meetings.live.actions.proposals import (
    do_amend_proposal,
    do_make_proposal,
    do_second_proposal,
    do_withdraw_proposal,
)
from meetings.live.actions.roll_call import (
    Outcome,
    do_end_roll_call,
    do_mark_roll_call,
    do_start_roll_call,
)
from meetings.live.actions.sitting import (
    do_choose_checkers,
    do_close_meeting,
    do_declare_lawful,
    do_open_meeting,
    do_resume_meeting,
    do_suspend_meeting,
)
from meetings.live.actions.statements import SUMMARY, do_record_statement
from meetings.live.actions.voting import do_cast_ballot, do_close_vote, do_open_vote
from meetings.live.models import (
    Election,
    FloorRequest,
    HandlingState,
    ItemHandling,
    LiveMeeting,
    Proposal,
    Vote,
)
from meetings.live.queries import ItemLive, LiveView, ProposalView, live_view, may_follow
from meetings.live.seating import roster_of
from meetings.live.state import progress, rule_proposals
from meetings.models import AgendaItem, Body, BodyKind, DisqualificationGround, Meeting, MeetingStatus
from meetings.rules import voting
from meetings.rules.call import Problem
from meetings.rules.dissent import dissent_rights
from meetings.rules.elections import MAX_SEATS, Method, proportional_threshold
from web.errors import status_of
from web.guards import principal_of, signed_in
from web.http import Req
from web.limits import MiB
from web.pages.context import body_name, page_context
from web.rendering import language_of, render
from web.security import BOUNDED_READS, app_context

NO_SUCH_ACTION = translatable("No such action.")
NOT_CHAIR = translatable("Only the chair runs the meeting.")
NOT_CLERK = translatable("Only the secretary or the chair marks attendance in the room.")
NOT_CALLER = translatable("Only the secretary or the chair holds the roll call.")
NOT_IN_BODY = translatable("Only those with a role in the body take part in its meeting.")
NO_SUCH_THING = translatable("It is no longer on this meeting's page: reload the page.")
NOT_A_NUMBER = translatable("Choose from the list.")
SECONDS = translatable("Give the speaking time in whole minutes, from 1 to 30, or leave it empty.")
ORDER = translatable("Write the voting order as proposal numbers separated by spaces, e.g. 12 14 13.")
NOT_OPENED = translatable("The meeting has not been opened.")
NOT_HEARD_RECORDER = translatable("Only the secretary or the chair records the persons heard.")
WHOLE_NUMBER = translatable("Give a whole number from {low} to {high}.")
CANDIDATE_LINE = translatable(
    "Write one candidate a line; in a proportional election the list number first, e.g. 1: Aino Aalto."
)
TOO_LONG = translatable(
    "At most {max} characters fit here, and this has {length}. Shorten it and send it again."
)
# A form's URL encoding spends up to 12 bytes on a character (%XX for each UTF-8 byte), so the longest text
# the domain keeps (LONG_TEXT) must fit in the body, to be refused by its length and not by its bytes.
FORM_BODY = 4 * MiB
# What the suspension's event and audit entry keep of its reason (meetings/live/actions/sitting.py).
REASON = 500


@dataclass
class LiveForm:
    """Every field any of the live page's forms sends; each action reads the ones it needs."""

    item: str = ""
    request: str = ""
    proposal: str = ""
    vote: str = ""
    person: str = ""
    kind: str = ""
    text: str = ""
    choice: str = ""
    minutes: str = ""
    replies: str = ""
    first: str = ""
    second: str = ""
    order: str = ""
    reason: str = ""
    ground: str = ""
    election: str = ""
    title: str = ""
    seats: str = ""
    deputies: str = ""
    method: str = ""
    ballot: str = ""  # "secret" for a closed ballot (R-ELECT-4)
    candidates: str = ""  # one per line; in a proportional election "list number: name"
    picked: str | list[str] = ""  # a ballot's candidates (checkboxes) or list (radio buttons)
    heard_name: str = ""
    heard_title: str = ""
    summary: str = ""
    csrf_token: str = ""


@dataclass
class Act:
    session: AsyncSession
    meeting: Meeting
    user_id: int
    actor: str
    form: LiveForm


Run = Callable[[Act], Awaitable[None]]


@dataclass(frozen=True)
class Action:
    need: Capability
    refusal: str
    run: Run
    anchor: str = "live-now"
    texts: tuple[tuple[str, int], ...] = ()  # the form's text fields and how long each may be


def _check_lengths(form: LiveForm, texts: tuple[tuple[str, int], ...]) -> None:
    """Refuse, rather than cut short, a text longer than the domain keeps."""
    for name, limit in texts:
        length = len(getattr(form, name))
        if length > limit:
            raise ValidationFailed(TOO_LONG, field=name, max=limit, length=length)


def _number(value: str, field: str) -> int:
    text = value.strip()
    if not text.isdigit() or not valid_id(int(text)):
        raise ValidationFailed(NOT_A_NUMBER, field=field)
    return int(text)


async def _item(act: Act) -> AgendaItem:
    item = await act.session.get(AgendaItem, _number(act.form.item, "item"))
    if item is None or item.meeting_id != act.meeting.id:
        raise ValidationFailed(NO_SUCH_THING, field="item")
    return item


async def _request(act: Act) -> FloorRequest:
    request = await act.session.get(FloorRequest, _number(act.form.request, "request"))
    if request is None or request.meeting_id != act.meeting.id:
        raise ValidationFailed(NO_SUCH_THING, field="request")
    return request


async def _proposal(act: Act) -> Proposal:
    proposal = await act.session.get(Proposal, _number(act.form.proposal, "proposal"))
    if proposal is None or (await parent_row(act.session, AgendaItem, proposal.item_id)).meeting_id != (
        act.meeting.id
    ):
        raise ValidationFailed(NO_SUCH_THING, field="proposal")
    return proposal


async def _election(act: Act) -> Election:
    election = await act.session.get(Election, _number(act.form.election, "election"))
    if election is None or (await parent_row(act.session, AgendaItem, election.item_id)).meeting_id != (
        act.meeting.id
    ):
        raise ValidationFailed(NO_SUCH_THING, field="election")
    return election


def _count(value: str, field: str, low: int, high: int) -> int:
    text = value.strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValidationFailed(WHOLE_NUMBER, field=field, low=low, high=high)
    return int(text)


def _nominations(text: str, method: Method) -> list[Nomination]:
    """The candidates as the chair typed them: one a line, with "n:" before the name in a proportional
    election (the list, R-ELECT-5); the domain checks their number, names and lists."""
    nominations = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        if method != Method.PROPORTIONAL:
            nominations.append(Nomination(line))
            continue
        number, colon, name = line.partition(":")
        if not colon or not number.strip().isdigit():
            raise ValidationFailed(CANDIDATE_LINE, field="candidates")
        nominations.append(Nomination(name.strip(), list_no=int(number.strip())))
    return nominations


def _picked(value: str | list[str]) -> list[int]:
    values = [value] if isinstance(value, str) else value
    return [_number(v, "picked") for v in values if v.strip()]


async def _vote(act: Act) -> Vote:
    vote = await act.session.get(Vote, _number(act.form.vote, "vote"))
    if vote is None or (await parent_row(act.session, AgendaItem, vote.item_id)).meeting_id != act.meeting.id:
        raise ValidationFailed(NO_SUCH_THING, field="vote")
    return vote


def _minutes(value: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 30:
        raise ValidationFailed(SECONDS, field="minutes")
    return int(text) * 60


def _order(value: str) -> list[int]:
    """A voting order as the form sends it: proposal numbers separated by spaces."""
    parts = value.replace(",", " ").split()
    if not parts or len(parts) > 50 or not all(p.isdigit() and valid_id(int(p)) for p in parts):
        raise ValidationFailed(ORDER, field="order")
    return [int(p) for p in parts]


# ---- the actions, one line each over the domain -----------------------------------------------------------


async def _open(a: Act) -> None:
    await do_open_meeting(a.session, meeting=a.meeting, chair_id=a.user_id, actor=a.actor)


async def _lawful(a: Act) -> None:
    await do_declare_lawful(a.session, meeting=a.meeting, actor=a.actor)


async def _checkers(a: Act) -> None:
    chosen = [_number(a.form.first, "first"), _number(a.form.second, "second")]
    await do_choose_checkers(a.session, meeting=a.meeting, checkers=chosen, actor=a.actor)


async def _take_up(a: Act) -> None:
    await do_take_up_item(a.session, meeting=a.meeting, item=await _item(a), actor=a.actor)


async def _grant(a: Act) -> None:
    await do_grant_floor(a.session, meeting=a.meeting, request=await _request(a), actor=a.actor)


async def _end_floor(a: Act) -> None:
    await do_end_floor(a.session, meeting=a.meeting, item=await _item(a), actor=a.actor)


async def _floor_rules(a: Act) -> None:
    seconds = _minutes(a.form.minutes)
    replies = a.form.replies == "yes"
    await do_set_floor_rules(
        a.session, meeting=a.meeting, speaking_seconds=seconds, replies_allowed=replies, actor=a.actor
    )


async def _close_discussion(a: Act) -> None:
    await do_close_discussion(a.session, meeting=a.meeting, item=await _item(a), actor=a.actor)


async def _approve_order(a: Act) -> None:
    item = await _item(a)
    order = _order(a.form.order)
    await do_approve_order(a.session, meeting=a.meeting, item=item, order=order, actor=a.actor)


async def _decide(a: Act) -> None:
    await do_decide_without_vote(a.session, meeting=a.meeting, item=await _item(a), actor=a.actor)


async def _open_vote(a: Act) -> None:
    await do_open_vote(a.session, meeting=a.meeting, item=await _item(a), actor=a.actor)


async def _close_vote(a: Act) -> None:
    await do_close_vote(a.session, meeting=a.meeting, vote=await _vote(a), actor=a.actor)


async def _suspend(a: Act) -> None:
    await do_suspend_meeting(a.session, meeting=a.meeting, reason=a.form.reason, actor=a.actor)


async def _resume(a: Act) -> None:
    await do_resume_meeting(a.session, meeting=a.meeting, actor=a.actor)


async def _close(a: Act) -> None:
    await do_close_meeting(a.session, meeting=a.meeting, actor=a.actor)


async def _mark_arrival(a: Act) -> None:
    person = _number(a.form.person, "person")
    await do_record_arrival(a.session, meeting=a.meeting, user_id=person, remote=False, actor=a.actor)


async def _mark_departure(a: Act) -> None:
    person = _number(a.form.person, "person")
    await do_record_departure(a.session, meeting=a.meeting, user_id=person, actor=a.actor)


async def _start_roll_call(a: Act) -> None:
    await do_start_roll_call(a.session, meeting=a.meeting, actor=a.actor)


async def _mark_roll_call(a: Act) -> None:
    if a.form.choice not in set(Outcome):
        raise ValidationFailed(NOT_A_NUMBER, field="choice")
    person = _number(a.form.person, "person")
    await do_mark_roll_call(
        a.session, meeting=a.meeting, person=person, outcome=Outcome(a.form.choice), actor=a.actor
    )


async def _end_roll_call(a: Act) -> None:
    await do_end_roll_call(a.session, meeting=a.meeting, actor=a.actor)


async def _recusal(a: Act) -> None:
    item = await _item(a)
    await do_record_recusal(
        a.session,
        meeting=a.meeting,
        item=item,
        user_id=_number(a.form.person, "person"),
        ground=a.form.ground,
        decided_by_body=True,
        explanation=a.form.text,
        actor=a.actor,
    )


async def _check_in(a: Act) -> None:
    await do_record_arrival(a.session, meeting=a.meeting, user_id=a.user_id, remote=True, actor=a.actor)


async def _check_out(a: Act) -> None:
    await do_record_departure(a.session, meeting=a.meeting, user_id=a.user_id, actor=a.actor)


async def _ask_floor(a: Act) -> None:
    item = await _item(a)
    await do_request_floor(
        a.session, meeting=a.meeting, item=item, user_id=a.user_id, kind=a.form.kind, actor=a.actor
    )


async def _withdraw_request(a: Act) -> None:
    request = await _request(a)
    if request.user_id != a.user_id:
        raise Forbidden(NO_SUCH_THING)
    await do_withdraw_floor_request(a.session, meeting=a.meeting, request=request, actor=a.actor)


async def _propose(a: Act) -> None:
    item = await _item(a)
    await do_make_proposal(
        a.session,
        meeting=a.meeting,
        item=item,
        user_id=a.user_id,
        kind=a.form.kind,
        text=a.form.text,
        actor=a.actor,
    )


async def _second(a: Act) -> None:
    proposal = await _proposal(a)
    await do_second_proposal(
        a.session, meeting=a.meeting, proposal=proposal, user_id=a.user_id, actor=a.actor
    )


async def _amend(a: Act) -> None:
    proposal = await _proposal(a)
    await do_amend_proposal(
        a.session, meeting=a.meeting, proposal=proposal, user_id=a.user_id, text=a.form.text, actor=a.actor
    )


async def _withdraw_proposal(a: Act) -> None:
    proposal = await _proposal(a)
    await do_withdraw_proposal(
        a.session, meeting=a.meeting, proposal=proposal, user_id=a.user_id, actor=a.actor
    )


async def _ballot(a: Act) -> None:
    await do_cast_ballot(
        a.session, vote=await _vote(a), user_id=a.user_id, choice=a.form.choice, actor=a.actor
    )


async def _dissent(a: Act) -> None:
    item = await _item(a)
    await do_register_dissent(
        a.session, meeting=a.meeting, item=item, user_id=a.user_id, reasons=a.form.text, actor=a.actor
    )


async def _open_election(a: Act) -> None:
    method = Method.PROPORTIONAL if a.form.method == "proportional" else Method.MAJORITY
    await do_open_election(
        a.session,
        meeting=a.meeting,
        item=await _item(a),
        title=a.form.title,
        method=method,
        secret=a.form.ballot == "secret",
        seats=_count(a.form.seats, "seats", 1, MAX_SEATS),
        deputies=_count(a.form.deputies or "0", "deputies", 0, MAX_SEATS),
        candidates=_nominations(a.form.candidates, method),
        actor=a.actor,
    )


async def _election_ballot(a: Act) -> None:
    election = await _election(a)
    choice = _picked(a.form.picked)
    await do_cast_election_ballot(
        a.session, election=election, user_id=a.user_id, choice=choice, actor=a.actor
    )


async def _close_election(a: Act) -> None:
    await do_close_election(a.session, meeting=a.meeting, election=await _election(a), actor=a.actor)


async def _heard(a: Act) -> None:
    await do_record_statement(
        a.session,
        meeting=a.meeting,
        item=await _item(a),
        name=a.form.heard_name,
        title=a.form.heard_title,
        summary=a.form.summary,
        recorded_by=a.user_id,
        actor=a.actor,
    )


RUN, CLERK, SELF = Capability.RUN, Capability.RECORD_ATTENDANCE, Capability.SPEAK
ACTIONS: dict[str, Action] = {
    "open": Action(RUN, NOT_CHAIR, _open, "top"),
    "lawful": Action(RUN, NOT_CHAIR, _lawful, "live-quorum"),
    "checkers": Action(RUN, NOT_CHAIR, _checkers, "live-quorum"),
    "take-up": Action(RUN, NOT_CHAIR, _take_up),
    "grant": Action(RUN, NOT_CHAIR, _grant, "live-floor"),
    "end-floor": Action(RUN, NOT_CHAIR, _end_floor, "live-floor"),
    "floor-rules": Action(RUN, NOT_CHAIR, _floor_rules, "live-floor"),
    "close-discussion": Action(RUN, NOT_CHAIR, _close_discussion),
    "approve-order": Action(RUN, NOT_CHAIR, _approve_order, "live-votes"),
    "decide": Action(RUN, NOT_CHAIR, _decide),
    "open-vote": Action(RUN, NOT_CHAIR, _open_vote, "live-votes"),
    "close-vote": Action(RUN, NOT_CHAIR, _close_vote, "live-votes"),
    "suspend": Action(RUN, NOT_CHAIR, _suspend, "top", (("reason", REASON),)),
    "resume": Action(RUN, NOT_CHAIR, _resume, "top"),
    "close": Action(RUN, NOT_CHAIR, _close, "top"),
    "mark-arrival": Action(CLERK, NOT_CLERK, _mark_arrival, "live-attendance"),
    "mark-departure": Action(CLERK, NOT_CLERK, _mark_departure, "live-attendance"),
    "recusal": Action(CLERK, NOT_CLERK, _recusal, "live-attendance", (("text", EXPLANATION),)),
    "roll-call": Action(CLERK, NOT_CALLER, _start_roll_call, "live-roll-call"),
    "roll-call-mark": Action(CLERK, NOT_CALLER, _mark_roll_call, "live-roll-call"),
    "roll-call-end": Action(CLERK, NOT_CALLER, _end_roll_call, "live-roll-call"),
    "check-in": Action(SELF, NOT_IN_BODY, _check_in, "top"),
    "check-out": Action(SELF, NOT_IN_BODY, _check_out, "top"),
    "ask-floor": Action(SELF, NOT_IN_BODY, _ask_floor, "live-floor"),
    "withdraw-request": Action(SELF, NOT_IN_BODY, _withdraw_request, "live-floor"),
    "propose": Action(SELF, NOT_IN_BODY, _propose, "live-proposals", (("text", LONG_TEXT),)),
    "second": Action(SELF, NOT_IN_BODY, _second, "live-proposals"),
    "amend": Action(SELF, NOT_IN_BODY, _amend, "live-proposals", (("text", LONG_TEXT),)),
    "withdraw-proposal": Action(SELF, NOT_IN_BODY, _withdraw_proposal, "live-proposals"),
    "ballot": Action(SELF, NOT_IN_BODY, _ballot, "live-votes"),
    "dissent": Action(SELF, NOT_IN_BODY, _dissent, "live-dissent", (("text", LONG_TEXT),)),
    "open-election": Action(
        RUN, NOT_CHAIR, _open_election, "live-elections", (("title", 200), ("candidates", 201 * 210))
    ),
    "election-ballot": Action(SELF, NOT_IN_BODY, _election_ballot, "live-elections"),
    "close-election": Action(RUN, NOT_CHAIR, _close_election, "live-elections"),
    "heard": Action(
        CLERK,
        NOT_HEARD_RECORDER,
        _heard,
        "live-heard",
        (("heard_name", 200), ("heard_title", 200), ("summary", SUMMARY)),
    ),
}


# ---- what the page shows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: str  # "member", "deputy" (personal, of `of`), "group" (a council deputy of `group`)
    of: int | None = None
    group: str = ""


@dataclass(frozen=True)
class OrderRow:
    """A proposal in the chair's draft voting order, with the orders its buttons lead to ("" at an end)."""

    proposal: ProposalView
    up: str
    down: str


@dataclass(frozen=True)
class OrderEditor:
    """The voting order the chair is putting together (R-VOTE-1) and what the rules say of it (R-VOTE-4/5)."""

    rows: tuple[OrderRow, ...]
    draft: str  # as the approving form sends it, e.g. "14 12 13"
    default: bool  # the rules' default order, untouched
    problems: tuple[Problem, ...]
    moved: int | None  # the proposal just moved, for the page to say where it went
    position: int  # where it went, from 1
    plan: tuple[voting.PlannedVote, ...] = ()  # the votes the draft gives, when the rules allow it


@dataclass(frozen=True)
class ChairView:
    """What the chair needs beyond the shared view: the voting order and what lapsed (R-VOTE-1/4/5)."""

    order: tuple[int, ...]
    approved: bool
    lapsed: tuple[int, ...]
    vote_needed: bool
    next_vote: tuple[str, str] | None
    replies_allowed: bool
    proposals: tuple[voting.Proposal, ...] = ()


@dataclass(frozen=True)
class Presenting:
    """The current item's presenter and when they last amended the base proposal (R-PROP-6)."""

    presenter: int | None
    amended: str  # the local time of the last amendment, or ""


@dataclass(frozen=True)
class RollCallPage:
    """The latest roll call as the page shows it (R-EMEET-1(1)): who is shown now, each mark's local time."""

    current: int | None
    position: int  # the one shown now, from 1
    count: int
    marks: dict[int, tuple[str, str]]  # person -> (outcome, "13.05")
    due: str = ""  # when it ends by itself if nobody marks the one shown ("13.08.30"), while it runs
    timed_out: bool = False  # it ended by itself: nobody marked the one shown in time
    ended: str = ""  # when it ended ("13.08.30")


def _roll_call_page(view: LiveView | None) -> RollCallPage | None:
    found = view.roll_call if view is not None else None
    if found is None:
        return None
    marks = {m.person: (m.outcome, f"{m.at.astimezone(LOCAL):%H.%M}") for m in found.marks}
    due = found.due_at.astimezone(LOCAL) if found.due_at is not None else None
    ended = found.ended_at.astimezone(LOCAL) if found.ended_at is not None else None
    return RollCallPage(
        found.current,
        len(found.marks) + 1,
        len(found.people),
        marks,
        f"{due:%H.%M.%S}" if due else "",
        found.end_reason == "timeout",
        f"{ended:%H.%M.%S}" if ended else "",
    )


async def _roster(session: AsyncSession, meeting: Meeting, body: Body) -> list[Person]:
    roster = await roster_of(session, meeting, body)
    people: list[tuple[int, str, int | None, str]] = []
    for member in roster.members:
        people.append((member.person, "member", None, member.group))
    for member in roster.members:
        if member.deputy is not None:
            people.append((member.deputy, "deputy", member.person, ""))
    for listed in roster.group_deputies:
        people.extend((deputy, "group", None, listed.group) for deputy in listed.persons)
    ids = [p[0] for p in people]
    names = await _names(session, ids)
    seen: set[int] = set()
    found = []
    for person, role, of, group in people:
        if person not in seen:
            seen.add(person)
            found.append(Person(person, names.get(person, str(person)), role, of, group))
    return found


async def _names(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return dict(rows.tuples().all())


async def _chair_view(session: AsyncSession, live: LiveMeeting) -> ChairView | None:
    if live.current_item_id is None:
        return None
    handling = await session.get(ItemHandling, live.current_item_id)
    if handling is None:
        return None
    proposals = await rule_proposals(session, handling.item_id)
    pairing = None
    if handling.state == HandlingState.VOTING and handling.order_approved_at is not None:
        step = (await progress(session, handling, live.chaired_by)).next
        pairing = (str(step.jaa), str(step.ei)) if step is not None else None
    return ChairView(
        tuple(handling.order),
        handling.order_approved_at is not None,
        tuple(p.id for p in voting.lapsed(proposals)),
        voting.vote_needed(proposals),
        pairing,
        live.replies_allowed,
        tuple(proposals),
    )


def _draft(sent: str, order: tuple[int, ...]) -> list[int]:
    """The chair's draft if it orders exactly the proposals that go to the vote, else the stored order."""
    try:
        draft = _order(sent) if sent.strip() else list(order)
    except ValidationFailed:
        return list(order)
    return draft if sorted(draft) == sorted(order) else list(order)


def _swapped(order: list[int], index: int, other: int) -> str:
    if not 0 <= other < len(order):
        return ""
    moved = list(order)
    moved[index], moved[other] = moved[other], moved[index]
    return " ".join(map(str, moved))


def order_editor(chair: ChairView, current: ItemLive, sent: str, moved: str) -> OrderEditor:
    """The draft order's rows with their move buttons, and the rules it breaks (R-VOTE-1/4/5, R-PROP-4)."""
    draft = _draft(sent, chair.order)
    shown = {p.id: p for p in current.proposals}
    rows = tuple(
        OrderRow(shown[pid], _swapped(draft, i, i - 1), _swapped(draft, i, i + 1))
        for i, pid in enumerate(draft)
        if pid in shown
    )
    problems = tuple(voting.order_problems(chair.proposals, draft))
    was_moved = int(moved) if moved.isdigit() and int(moved) in draft else None
    position = draft.index(was_moved) + 1 if was_moved else 0
    text = " ".join(map(str, draft))
    plan = () if problems else voting.planned_votes(chair.proposals, draft)
    return OrderEditor(rows, text, tuple(draft) == chair.order, problems, was_moved, position, plan)


def _editor(chair: ChairView | None, view: LiveView | None, draft: str, moved: str) -> OrderEditor | None:
    """The order editor while the body is yet to approve an order that a vote needs."""
    current = view.current if view else None
    if chair is None or current is None or current.state != HandlingState.VOTING:
        return None
    if chair.approved or not chair.vote_needed:
        return None
    return order_editor(chair, current, draft, moved)


async def _presenting(session: AsyncSession, live: LiveMeeting) -> Presenting | None:
    if live.current_item_id is None:
        return None
    item = await parent_row(session, AgendaItem, live.current_item_id)
    query = select(Proposal.amended_at).where(
        Proposal.item_id == item.id, Proposal.kind == voting.ProposalKind.BASE
    )
    amended = (await session.execute(query)).scalars().first()
    return Presenting(item.presenter_id, f"{amended.astimezone(LOCAL):%H.%M}" if amended else "")


async def _may_dissent(session: AsyncSession, live: LiveMeeting, user_id: int | None) -> bool:
    """Whether the viewer has a right to dissent on the decision just made (R-DISSENT-1)."""
    if user_id is None or live.current_item_id is None:
        return False
    handling = await session.get(ItemHandling, live.current_item_id)
    if handling is None or handling.state != HandlingState.DECIDED or handling.decided_how == "withdrawn":
        return False
    item = await parent_row(session, AgendaItem, handling.item_id)
    proposals = [
        p
        if p.kind != voting.ProposalKind.BASE
        else voting.Proposal(p.id, p.kind, p.seconded, item.presenter_id)
        for p in await rule_proposals(session, item.id)
    ]
    return bool(dissent_rights(proposals, await progress(session, handling, live.chaired_by)).get(user_id))


async def live_context(
    request: Req,
    session: AsyncSession,
    viewer: Viewer,
    meeting: Meeting,
    body: Body,
    *,
    draft: str = "",
    moved: str = "",
    **extra: Any,
) -> dict[str, Any]:
    live = await session.get(LiveMeeting, meeting.id)
    view: LiveView | None = await live_view(session, viewer, meeting, live) if live else None
    chair = viewer.can(Capability.RUN, meeting.body_id)
    clerk = viewer.can(Capability.RECORD_ATTENDANCE, meeting.body_id)
    me = viewer.user_id if viewer.can(Capability.SPEAK, meeting.body_id) else None
    held = live is not None and lifecycle.permits(meeting.status, Operation.PROCEED)
    clock = app_context(request).db.clock
    countdown = _countdown(view)
    chair_view = await _chair_view(session, live) if live and chair else None
    presenting = await _presenting(session, live) if live else None
    return page_context(
        request,
        meeting=meeting,
        body=body,
        name=body_name(body, language_of(request)),
        view=view,
        held=held,
        insider=viewer.reads(meeting.body_id),
        chair=chair,
        clerk=clerk,
        me=me,
        council=body.kind == BodyKind.COUNCIL,
        roster=await _roster(session, meeting, body) if live and (clerk or chair) else [],
        chair_view=chair_view,
        roll_call=_roll_call_page(view),
        editor=_editor(chair_view, view, draft, moved),
        presenting=bool(me and presenting and presenting.presenter == me),
        amended=presenting.amended if presenting else "",
        may_dissent=await _may_dissent(session, live, me) if live else False,
        grounds=[str(g) for g in DisqualificationGround],
        limits={"explanation": EXPLANATION, "reason": REASON},
        proposal_kinds=[
            k
            for k in ("counter", "tabling", "return", "rejection", "ponsi")
            if k != "ponsi" or body.kind == BodyKind.COUNCIL
        ],
        replies_allowed=bool(live and live.replies_allowed),
        heard_at={
            h.id: f"{h.at.astimezone(LOCAL):%H.%M}"
            for h in (view.current.statements if view and view.current else ())
        },
        # R-ELECT-2: how many of those present must demand a proportional election, for 1…5 seats.
        proportional_needed=[proportional_threshold(len(view.present), n) for n in range(1, 6)]
        if view
        else [],
        server_now=clock().isoformat(),
        countdown=countdown.isoformat() if countdown else "",
        countdown_clock=f"{countdown.astimezone(LOCAL):%H.%M.%S}" if countdown else "",
        version=view.version if view else 0,
        opens=meeting.status == MeetingStatus.CALLED and chair,
        # Sound and picture (web/api/media.py) when the hub runs and the meeting is under way.
        media=held and app_context(request).settings.media.enabled,
        **extra,
    )


def _countdown(view: LiveView | None) -> datetime | None:
    """When the current speech's time runs out, by the server's clock (live.js counts down to it)."""
    if view is None or view.current is None or view.current.speaker is None or not view.speaking_seconds:
        return None
    since = view.current.speaker.since
    return since + timedelta(seconds=view.speaking_seconds) if since else None


async def _followed(session: AsyncSession, viewer: Viewer, meeting_id: int) -> tuple[Meeting, Body]:
    meeting, body = await access_meeting_and_body(session, viewer, meeting_id)
    if not may_follow(viewer, meeting):
        raise Hidden("No such meeting.")
    return meeting, body


@get("/meetings/{meeting_id:int}/live", media_type=MediaType.HTML)
async def live_page(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    done: FromQuery[str] = "",
    order: FromQuery[str] = "",
    moved: FromQuery[str] = "",
) -> Response[str]:
    """The meeting now, for anyone who may follow it: the body, and the public at a public meeting. The
    chair's draft voting order rides in `order` (and the proposal just moved in `moved`)."""
    meeting, body = await _followed(session, viewer, meeting_id)
    anchor = ACTIONS[done].anchor if done in ACTIONS else ""
    context = await live_context(
        request, session, viewer, meeting, body, draft=order, moved=moved, done=done, notice_at=anchor
    )
    return render(request, "live.html", context, headers={"Cache-Control": "no-store"})


def _etag(html: str) -> str:
    return '"' + hashlib.sha256(html.encode()).hexdigest()[:32] + '"'


@get("/meetings/{meeting_id:int}/live/panel", media_type=MediaType.HTML)
async def live_panel(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    order: FromQuery[str] = "",
    moved: FromQuery[str] = "",
) -> Response[str]:
    """The page's main panel alone, as this viewer may see it, for live.js to swap in. Its ETag lets a poller
    ask cheaply whether anything changed (304)."""
    meeting, body = await _followed(session, viewer, meeting_id)
    context = await live_context(request, session, viewer, meeting, body, draft=order, moved=moved)
    page = render(request, "_live_fragment.html", context)
    body_text = page.content if isinstance(page.content, str) else ""
    tag = _etag(body_text.replace(context["server_now"], ""))
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == tag:
        return Response("", status_code=304, headers=headers, media_type=MediaType.HTML)
    page.headers.update(headers)
    return page


@post("/meetings/{meeting_id:int}/live/{action:str}", guards=[signed_in], request_max_body_size=FORM_BODY)
async def live_action(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    meeting_id: FromPath[int],
    action: FromPath[str],
    data: URLEncodedBody[LiveForm],
) -> Response[Any]:
    """One step of the meeting by one of the live page's forms; the capability it needs is in ACTIONS."""
    step = ACTIONS.get(action)
    if step is None:
        raise NotFound(NO_SUCH_ACTION)
    meeting, body = await _followed(session, viewer, meeting_id)
    if not viewer.can(step.need, meeting.body_id) or viewer.user_id is None:
        raise Forbidden(step.refusal)
    work = Act(session, meeting, viewer.user_id, principal_of(request).actor, data)
    try:
        async with session.begin_nested():
            if action != "open" and await session.get(LiveMeeting, meeting.id) is None:
                raise Conflict(NOT_OPENED)
            _check_lengths(data, step.texts)
            await step.run(work)
    except (ValidationFailed, Conflict, Forbidden) as exc:
        await session.refresh(meeting)
        context = await live_context(
            request, session, viewer, meeting, body, draft=data.order, error=exc, failed=action, sent=data
        )
        return render(request, "live.html", context, status_code=status_of(exc))
    return Redirect(f"/meetings/{meeting_id}/live?done={action}#{step.anchor}", status_code=303)


live_pages_router = Router(
    path="/",
    opt=BOUNDED_READS,
    route_handlers=[live_page, live_panel, live_action],
)
