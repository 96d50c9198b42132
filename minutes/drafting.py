"""The draft that writes itself: a `MinutesDocument` built from a held meeting's recorded events and state
(R-MIN-2, R-MIN-3), with the secretary's wording laid over it.

Facts come only from the meeting's record: who was called and who came, in what capacity and how, every
arrival, departure and lost connection with its time and item, interruptions, the lawfulness declaration,
the checkers, and per item the base proposal, disqualifications, proposals and seconders, each vote with
every member's choice, the decision and the dissents. The secretary's `Wording` can change what the minutes
say in words (an item's description, the decision's wording, what the public copy shows instead) and never a
fact: votes, attendance and times are not in it.

Decisions made in the electronic decision procedure (R-EDP-3) are read from the procedure's own record
(`meetings.decision_procedure.queries.procedure_decisions`) and identified as such (`decided_in_procedure`,
R-EDP-3(5)); an item the procedure moved to the meeting is an ordinary item of the meeting.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import User
from core.clock import LOCAL
from meetings.access import active_on, parent_row
from meetings.decision_procedure.queries import ProcedureDecision, procedure_decisions
from meetings.live.events import EventType
from meetings.live.models import Dissent as DissentRow
from meetings.live.models import Election as ElectionRow
from meetings.live.models import (
    HeardStatement,
    ItemHandling,
    LiveMeeting,
    MeetingEventRecord,
    Recusal,
    Seconding,
)
from meetings.live.models import Proposal as ProposalRow
from meetings.live.models import Vote as VoteRow
from meetings.models import (
    AgendaItem,
    Body,
    BodyKind,
    CheckingMethod,
    DecisionMode,
    Meeting,
    MeetingMode,
    MemberRole,
    Membership,
    Organisation,
)
from meetings.rules.decision_procedure import ProcedureState
from meetings.rules.dissent import Ground
from meetings.rules.voting import Alternative, Choice, ProposalKind
from minutes.document import (
    AttendanceChange,
    AttendanceEvent,
    Candidate,
    Capacity,
    Checking,
    Confidentiality,
    Connection,
    Convening,
    Disqualification,
    Dissent,
    Election,
    ElectionMethod,
    Interruption,
    Item,
    Legality,
    MinutesDocument,
    Participant,
    Person,
    Proposal,
    PublicDisplay,
    Publicity,
    Resolution,
    Stance,
    Statement,
    Vote,
    VotingMethod,
)
from minutes.document import Meeting as MeetingFacts
from minutes.instructions import instruction
from minutes.models import ProcedureCheck, ProcedureCheckState
from minutes.rules.appeal import InstructionKind, instruction_for
from minutes.rules.holidays import first_business_day

EDITABLE = ("description", "decision", "public_description", "depersonalised")  # an item's words
TEXT_MAX = 20_000  # characters in one edited text (core.bounds.LONG_TEXT's order)
APPEAL_AUTHORITY = "Hallinto-oikeus"  # where a municipal appeal goes (KL 135 §); the court is the region's
# Preparatory decisions cannot be challenged (KL 136 §, R-RECT-2): tabling, return, a withdrawn item.
PREPARATORY = frozenset({Resolution.TABLED, Resolution.RETURNED, Resolution.REMOVED})
APPEAL_BAN_PROVISION = "KL 136 §"
PUBLISH_AFTER_DAYS = 7  # the usual plan: on the public network a week after the meeting (R-PUB-1)
# HL 28 § 1 mom: the clause of each ground (R-DISQ-2).
CLAUSES = {
    "party": 1,
    "representative": 2,
    "benefit_or_harm": 3,
    "employment": 4,
    "board_or_ceo": 5,
    "other": 7,
}
GROUND_WORDS = {
    "party": "asianosainen",
    "representative": "avustaa tai edustaa asianosaista",
    "benefit_or_harm": "asian ratkaisusta odotettavissa erityistä hyötyä tai haittaa",
    "employment": "palvelussuhteessa asianosaiseen",
    "board_or_ceo": "asianosaisen hallituksen jäsen tai toimitusjohtaja",
    "other": "luottamus puolueettomuuteen vaarantuu",
}
ALTERNATIVE_WORDS = {
    Alternative.CONTINUE: "asian käsittelyn jatkaminen",
    Alternative.DECLINE: "ponnen hylkääminen",
}
KIND_WORDS = {
    ProposalKind.BASE: "esittelijän ehdotus",
    ProposalKind.COUNTER: "vastaehdotus",
    ProposalKind.TABLING: "pöydällepanoehdotus",
    ProposalKind.RETURN: "palautusehdotus",
    ProposalKind.REJECTION: "hylkäysehdotus",
    ProposalKind.PONSI: "ponsiehdotus",
}
ATTENDANCE = {
    EventType.ARRIVED: AttendanceChange.ARRIVED,
    EventType.LEFT: AttendanceChange.LEFT,
    EventType.DISCONNECTED: AttendanceChange.DISCONNECTED,
    EventType.RECONNECTED: AttendanceChange.RECONNECTED,
}
# A roll call's marks (R-EMEET-1(1)); someone passed over has no line in the minutes.
IDENTIFICATION = {
    "identified": AttendanceChange.IDENTIFIED,
    "not_identified": AttendanceChange.NOT_IDENTIFIED,
}


@dataclass(frozen=True, slots=True)
class ItemWording:
    """What the secretary wrote for one §; an empty text keeps what the record says."""

    description: str = ""
    decision: str = ""
    public_description: str = ""  # a partly confidential item's public part (JulkL 10 §)
    personal_data: bool = False  # the item names private persons: removed when the period ends (R-PUB-4)
    depersonalised: str = ""  # what the public copy says once personal data is removed


@dataclass(frozen=True, slots=True)
class Wording:
    """The secretary's words over the facts; a version of the minutes is the facts plus one Wording."""

    items: dict[int, ItemWording] = field(default_factory=dict)  # by §
    checking_note: str = ""
    convening_statement: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "items": {
                str(section): {
                    "description": w.description,
                    "decision": w.decision,
                    "public_description": w.public_description,
                    "personal_data": w.personal_data,
                    "depersonalised": w.depersonalised,
                }
                for section, w in sorted(self.items.items())
            },
            "checking_note": self.checking_note,
            "convening_statement": self.convening_statement,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Wording:
        items = {
            int(section): ItemWording(
                description=str(w.get("description", "")),
                decision=str(w.get("decision", "")),
                public_description=str(w.get("public_description", "")),
                personal_data=bool(w.get("personal_data", False)),
                depersonalised=str(w.get("depersonalised", "")),
            )
            for section, w in dict(data.get("items", {})).items()
        }
        return cls(
            items=items,
            checking_note=str(data.get("checking_note", "")),
            convening_statement=str(data.get("convening_statement", "")),
        )


def planned_publication(meeting_day: date) -> datetime:
    """The default plan: noon on the first business day a week after the meeting (R-PUB-1, R-RECT-4)."""
    day = first_business_day(meeting_day + timedelta(days=PUBLISH_AFTER_DAYS))
    return datetime.combine(day, time(12, 0), tzinfo=LOCAL)


def uid(user_id: int) -> str:
    return f"u{user_id}"


@dataclass
class _Record:
    """Everything the draft reads, loaded once."""

    meeting: Meeting
    body: Body
    live: LiveMeeting
    events: list[MeetingEventRecord]
    items: list[tuple[AgendaItem, ItemHandling]]
    memberships: list[Membership]
    sections: dict[int, int]  # agenda item id → §


async def _load(session: AsyncSession, meeting: Meeting) -> _Record:
    body = await parent_row(session, Body, meeting.body_id)
    live = await parent_row(session, LiveMeeting, meeting.id)
    events = list(
        (
            await session.execute(
                select(MeetingEventRecord)
                .where(MeetingEventRecord.meeting_id == meeting.id)
                .order_by(MeetingEventRecord.version)
            )
        ).scalars()
    )
    rows = await session.execute(
        select(AgendaItem, ItemHandling)
        .join(ItemHandling, ItemHandling.item_id == AgendaItem.id)
        .where(AgendaItem.meeting_id == meeting.id)
        .order_by(AgendaItem.section, AgendaItem.position)
    )
    items = [(item, handling) for item, handling in rows.tuples()]
    memberships = await _memberships(session, body, meeting)
    all_items = (
        await session.execute(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id))
    ).scalars()
    sections = {item.id: item.section for item in all_items}
    return _Record(meeting, body, live, events, items, memberships, sections)


async def _memberships(session: AsyncSession, body: Body, meeting: Meeting) -> list[Membership]:
    on = meeting.starts_at.astimezone(LOCAL).date()
    query = select(Membership).where(Membership.body_id == body.id, active_on(on)).order_by(Membership.id)
    return list((await session.execute(query)).scalars())


def _section(record: _Record, item_id: int | None) -> int | None:
    return None if item_id is None else record.sections.get(item_id)


def _of(events: list[MeetingEventRecord], *kinds: EventType) -> list[MeetingEventRecord]:
    wanted = {str(k) for k in kinds}
    return [e for e in events if e.type in wanted]


def _participants(record: _Record, secretary_id: int) -> list[Participant]:
    """Everyone called, present or not, in their capacity (R-MIN-2): members and the chair always; deputies,
    presenters and attendees when they came; the secretary who keeps the minutes."""
    arrived: dict[int, bool] = {}
    for event in _of(record.events, EventType.ARRIVED):
        person = int(str(event.data["person"]))
        arrived[person] = arrived.get(person, False) or bool(event.data.get("remote"))
    sat_for: dict[int, int] = {}
    for event in _of(record.events, EventType.SEATS_CHANGED):
        for change in list(event.data.get("changes", [])):  # type: ignore[call-overload]
            took = change.get("took")
            if took is not None and took != change.get("member"):
                sat_for.setdefault(int(took), int(change["member"]))
    roles: dict[int, set[str]] = {}
    for membership in record.memberships:
        roles.setdefault(membership.user_id, set()).add(membership.role)
    presenters = {item.presenter_id for item, _ in record.items if item.presenter_id is not None}
    chair = record.live.chaired_by
    result: list[Participant] = []
    seen: set[int] = set()

    def add(person: int, capacity: Capacity, *, always: bool = False, deputy_for: int | None = None) -> None:
        if person in seen or not (always or person in arrived):
            return
        seen.add(person)
        present = person in arrived or capacity == Capacity.SECRETARY
        connection = None
        if present:
            connection = Connection.REMOTE if arrived.get(person) else Connection.ON_SITE
        result.append(
            Participant(
                uid(person),
                capacity,
                present,
                chair=person == chair,
                vice_chair=MemberRole.VICE_CHAIR in roles.get(person, set()) and person != chair,
                deputy_for=uid(deputy_for) if deputy_for is not None else None,
                connection=connection,
            )
        )

    add(chair, Capacity.MEMBER, always=True)
    for membership in record.memberships:
        if membership.role == MemberRole.MEMBER:
            add(membership.user_id, Capacity.MEMBER, always=True)
    for membership in record.memberships:
        if membership.role == MemberRole.DEPUTY:
            add(membership.user_id, Capacity.DEPUTY, deputy_for=sat_for.get(membership.user_id))
    for person in sorted(presenters) + [
        m.user_id for m in record.memberships if m.role == MemberRole.PRESENTER
    ]:
        add(person, Capacity.PRESENTER)
    add(secretary_id, Capacity.SECRETARY, always=True)
    for person in arrived:
        add(person, Capacity.ATTENDEE)
    return result


def _attendance(record: _Record) -> tuple[AttendanceEvent, ...]:
    """Arrivals, departures and connections (R-MIN-3, R-EMEET-8), and who was identified at a roll call with
    pictures (R-EMEET-1(1)), in the order they happened."""
    found: list[AttendanceEvent] = []
    for e in _of(record.events, *ATTENDANCE, EventType.ROLL_CALL_MARKED):
        change = ATTENDANCE.get(EventType(e.type)) or IDENTIFICATION.get(str(e.data.get("outcome")))
        if change is not None:
            found.append(
                AttendanceEvent(uid(int(str(e.data["person"]))), change, e.at, _section(record, e.item_id))
            )
    return tuple(found)


def _interruptions(record: _Record, ended_at: datetime) -> tuple[Interruption, ...]:
    found: list[Interruption] = []
    started: MeetingEventRecord | None = None
    for event in _of(record.events, EventType.SUSPENDED, EventType.RESUMED):
        if event.type == EventType.SUSPENDED:
            started = event
        elif started is not None:
            found.append(Interruption(started.at, event.at, str(started.data.get("reason", ""))))
            started = None
    if started is not None:
        found.append(Interruption(started.at, ended_at, str(started.data.get("reason", ""))))
    return tuple(found)


def _convening(record: _Record, statement: str) -> Convening:
    declared = _of(record.events, EventType.DECLARED_LAWFUL)
    quorum: dict[str, Any] = dict(declared[-1].data.get("quorum", {})) if declared else {}  # type: ignore[call-overload]
    sent = record.meeting.call_sent_at or record.live.opened_at
    return Convening(
        call_sent_at=sent,
        lawful=bool(declared),
        quorate=bool(quorum.get("quorate", False)),
        seats=record.body.seats,
        members_present=len(list(quorum.get("counted", []))),
        statement=statement,
    )


def _checking(record: _Record, method: CheckingMethod, note: str) -> Checking:
    checkers = tuple(uid(int(c)) for c in record.live.checkers)
    return Checking(method=method, checkers=checkers if method == CheckingMethod.CHECKERS else (), note=note)


def _keys(proposals: list[ProposalRow]) -> dict[int, str]:
    """A, B, C … in the order made; the base proposal is always A."""
    ordered = sorted(proposals, key=lambda p: (p.kind != ProposalKind.BASE, p.id))
    return {p.id: chr(ord("A") + n) for n, p in enumerate(ordered)}


def _side(value: str, keys: dict[int, str], kinds: dict[int, str]) -> tuple[str, str]:
    """The key a vote's side stands for, and its words in the proposition."""
    if value.isdigit() and int(value) in keys:
        key = keys[int(value)]
        return key, f"{key} ({KIND_WORDS[ProposalKind(kinds[int(value)])]})"
    alternative = Alternative(value)
    return alternative.value, ALTERNATIVE_WORDS[alternative]


def _vote(row: VoteRow, keys: dict[int, str], kinds: dict[int, str]) -> Vote:
    result: dict[str, Any] = dict(row.result or {})
    jaa, jaa_words = _side(row.jaa, keys, kinds)
    ei, ei_words = _side(row.ei, keys, kinds)
    choices: dict[str, str] = dict(result.get("choices", {}))
    stances = tuple(
        Stance(uid(int(person)), Choice(choice))
        for person, choice in sorted(choices.items(), key=lambda pc: int(pc[0]))
    )
    winner = {"jaa": jaa, "ei": ei}.get(str(result.get("winner")), "")  # None: a void tie (R-VOTE-2)
    return Vote(
        order=row.step,
        method=VotingMethod.ELECTRONIC,
        proposition=f"JAA: {jaa_words}; EI: {ei_words}",
        yes_for=jaa,
        no_for=ei,
        stances=stances,
        winner=winner,
        tie_decided_by_chair=bool(result.get("by_chair", False)),
    )


def _resolution(handling: ItemHandling, base: ProposalRow | None) -> Resolution:
    how = handling.decided_how
    if how == "tabled":
        return Resolution.TABLED
    if how == "returned":
        return Resolution.RETURNED
    if how == "withdrawn":
        return Resolution.REMOVED
    if how == "vote":
        return Resolution.AFTER_VOTE
    if base is not None and base.amended_at is not None:
        return Resolution.REVISED_BY_PRESENTER
    return Resolution.AS_PROPOSED


@dataclass
class _Rows:
    """The items' proposals, seconds, votes, recusals and dissents, read in one query each."""

    proposals: dict[int, list[ProposalRow]] = field(default_factory=dict)
    seconds: dict[int, list[int]] = field(default_factory=dict)  # by proposal
    votes: dict[int, list[VoteRow]] = field(default_factory=dict)
    recusals: dict[int, list[Recusal]] = field(default_factory=dict)
    dissents: dict[int, list[DissentRow]] = field(default_factory=dict)
    elections: dict[int, list[ElectionRow]] = field(default_factory=dict)  # closed ones
    heard: dict[int, list[HeardStatement]] = field(default_factory=dict)


async def _rows(session: AsyncSession, item_ids: list[int]) -> _Rows:
    rows = _Rows()
    query = select(ProposalRow).where(ProposalRow.item_id.in_(item_ids)).order_by(ProposalRow.id)
    for proposal in (await session.execute(query)).scalars():
        rows.proposals.setdefault(proposal.item_id, []).append(proposal)
    seconds = (
        select(Seconding)
        .join(ProposalRow, ProposalRow.id == Seconding.proposal_id)
        .where(ProposalRow.item_id.in_(item_ids))
        .order_by(Seconding.at, Seconding.user_id)
    )
    for second in (await session.execute(seconds)).scalars():
        rows.seconds.setdefault(second.proposal_id, []).append(second.user_id)
    votes = select(VoteRow).where(VoteRow.item_id.in_(item_ids)).order_by(VoteRow.item_id, VoteRow.step)
    for vote in (await session.execute(votes)).scalars():
        rows.votes.setdefault(vote.item_id, []).append(vote)
    recusals = select(Recusal).where(Recusal.item_id.in_(item_ids)).order_by(Recusal.at)
    for recusal in (await session.execute(recusals)).scalars():
        rows.recusals.setdefault(recusal.item_id, []).append(recusal)
    dissents = select(DissentRow).where(DissentRow.item_id.in_(item_ids)).order_by(DissentRow.at)
    for dissent in (await session.execute(dissents)).scalars():
        rows.dissents.setdefault(dissent.item_id, []).append(dissent)
    elections = (
        select(ElectionRow)
        .where(ElectionRow.item_id.in_(item_ids), ElectionRow.closed_at.is_not(None))
        .order_by(ElectionRow.id)
    )
    for election in (await session.execute(elections)).scalars():
        rows.elections.setdefault(election.item_id, []).append(election)
    heard = select(HeardStatement).where(HeardStatement.item_id.in_(item_ids)).order_by(HeardStatement.id)
    for statement in (await session.execute(heard)).scalars():
        rows.heard.setdefault(statement.item_id, []).append(statement)
    return rows


def heard_id(statement: HeardStatement) -> str:
    """A person heard is no user: their id in the minutes is their statement's (R-MIN-2)."""
    return f"h{statement.id}"


def _election(row: ElectionRow) -> Election:
    """R-MIN-2 an election's method and result; R-ELECT-8 no ballot of a secret one (none is stored)."""
    result: dict[str, Any] = dict(row.result or {})
    candidates = tuple(
        Candidate(
            str(r["name"]),
            int(r["votes"]),
            comparison_number=str(r["comparison"] or ""),
            elected=r["place"] == "elected",
            deputy=r["place"] == "deputy",
        )
        for r in result.get("ranking", [])
    )
    return Election(
        title=row.title,
        method=ElectionMethod(row.method),
        secret_ballot=row.secret,
        seats=row.seats,
        candidates=candidates,
        ballots_cast=int(result.get("cast", 0)),
        drawn_by_lot=bool(result.get("by_lot")),
        blank=int(result.get("blank", 0)),
        lot_seed=str(result.get("seed", "")) if result.get("by_lot") else "",
    )


def _item(
    rows: _Rows,
    record: _Record,
    item: AgendaItem,
    handling: ItemHandling,
    wording: ItemWording,
    publish_at: datetime,
) -> Item:
    proposals = rows.proposals.get(item.id, [])
    keys = _keys(proposals)
    kinds = {p.id: p.kind for p in proposals}
    seconds = rows.seconds
    base = next((p for p in proposals if p.kind == ProposalKind.BASE), None)
    presenter = item.presenter_id
    made = tuple(
        Proposal(
            key=keys[p.id],
            kind=ProposalKind(p.kind),
            text=p.text,
            proposer=uid(p.made_by) if p.made_by is not None else (uid(presenter) if presenter else None),
            seconders=tuple(uid(s) for s in seconds.get(p.id, [])),
            withdrawn=p.withdrawn_at is not None,
        )
        for p in sorted(proposals, key=lambda p: keys[p.id])
    )
    votes = [_vote(v, keys, kinds) for v in rows.votes.get(item.id, []) if v.closed_at is not None]
    recusals = rows.recusals.get(item.id, [])
    disqualifications = tuple(
        Disqualification(
            uid(r.user_id),
            r.explanation.strip() or GROUND_WORDS.get(r.ground, r.ground),
            f"HL 28 § 1 mom. {CLAUSES[r.ground]} k." if r.ground in CLAUSES else "",
        )
        for r in recusals
    )
    grounds: dict[int, str] = {}
    for event in _of(record.events, EventType.DISSENT_REGISTERED):
        if event.item_id == item.id and event.data.get("grounds"):
            grounds[int(str(event.data["person"]))] = str(next(iter(event.data["grounds"])))  # type: ignore[call-overload]
    dissents = tuple(
        Dissent(uid(d.user_id), Ground(grounds.get(d.user_id, Ground.PROPOSED)), d.reasons)
        for d in rows.dissents.get(item.id, [])
    )
    resolution = _resolution(handling, base)
    kind = (
        InstructionKind.APPEAL_BAN
        if resolution in PREPARATORY
        else instruction_for(BodyKind(record.body.kind))
    )
    authority = {
        InstructionKind.RECTIFICATION: record.body.name,
        InstructionKind.MUNICIPAL_APPEAL: APPEAL_AUTHORITY,
    }.get(kind, "")
    provision = APPEAL_BAN_PROVISION if kind == InstructionKind.APPEAL_BAN else ""
    publicity = Publicity(item.publicity)
    return Item(
        section=item.section,
        title=item.title,
        presenter=uid(presenter) if presenter is not None else None,
        description=wording.description or item.description,
        base_proposal=base.text if base is not None else item.proposal,
        decision=wording.decision or handling.decision,
        resolution=resolution,
        instruction=instruction(kind, published_at=publish_at, authority=authority, provision=provision),
        confidentiality=Confidentiality(
            publicity,
            item.confidentiality_basis,
            wording.public_description or item.public_summary,
        ),
        disqualifications=disqualifications,
        proposals=made,
        votes=tuple(votes),
        elections=tuple(_election(e) for e in rows.elections.get(item.id, [])),
        statements=tuple(Statement(heard_id(h), h.summary, h.heard_at) for h in rows.heard.get(item.id, [])),
        dissents=dissents,
        personal_data=wording.personal_data,
        depersonalised=wording.depersonalised,
    )


def _experts(heard: list[HeardStatement], sections: set[int], record: _Record) -> list[Participant]:
    """Persons heard in the items the minutes carry, present as experts (R-MIN-2)."""
    return [
        Participant(heard_id(h), Capacity.EXPERT, True)
        for h in heard
        if record.sections.get(h.item_id) in sections
    ]


def _heard_people(heard: list[HeardStatement], experts: set[str]) -> tuple[Person, ...]:
    return tuple(Person(heard_id(h), h.name, h.title) for h in heard if heard_id(h) in experts)


def _procedure_item(
    body: Body, item: AgendaItem, decided: ProcedureDecision, wording: ItemWording, publish_at: datetime
) -> Item:
    """An item decided in the procedure (R-EDP-3(3)): the presenter's proposal accepted by every seat, since
    the procedure has no votes and no counter-proposals (R-EDP-5); the seats' declared disqualifications."""
    seats = list(dict(decided.outcome or {}).get("seats", []))  # type: ignore[call-overload]
    disqualifications = tuple(
        Disqualification(
            uid(int(seat["answered_by"] or seat["member"])),
            GROUND_WORDS.get(str(seat["ground"]), str(seat["ground"])),
            f"HL 28 § 1 mom. {CLAUSES[seat['ground']]} k." if seat.get("ground") in CLAUSES else "",
        )
        for seat in seats
        if seat.get("stance") == "disqualified"
    )
    kind = instruction_for(BodyKind(body.kind))
    authority = {
        InstructionKind.RECTIFICATION: body.name,
        InstructionKind.MUNICIPAL_APPEAL: APPEAL_AUTHORITY,
    }.get(kind, "")
    return Item(
        section=item.section,
        title=item.title,
        presenter=uid(item.presenter_id) if item.presenter_id is not None else None,
        description=wording.description or item.description,
        base_proposal=item.proposal,
        decision=wording.decision or item.proposal,
        resolution=Resolution.DECISION_PROCEDURE,
        instruction=instruction(kind, published_at=publish_at, authority=authority),
        confidentiality=Confidentiality(
            Publicity(item.publicity),
            item.confidentiality_basis,
            wording.public_description or item.public_summary,
        ),
        disqualifications=disqualifications,
        decided_in_procedure=True,
        personal_data=wording.personal_data,
        depersonalised=wording.depersonalised,
    )


async def _procedure_items(
    session: AsyncSession, body: Body, meeting_id: int, wording: Wording, publish_at: datetime
) -> list[Item]:
    decided = [d for d in await procedure_decisions(session, meeting_id) if d.state == ProcedureState.DECIDED]
    if not decided:
        return []
    query = select(AgendaItem).where(AgendaItem.id.in_([d.item_id for d in decided]))
    items = {item.id: item for item in (await session.execute(query)).scalars()}
    return [
        _procedure_item(body, items[d.item_id], d, wording.items.get(d.section, ItemWording()), publish_at)
        for d in decided
    ]


def _named(document_items: list[Item], participants: list[Participant], extra: set[str]) -> set[str]:
    named = {p.person for p in participants} | {p.deputy_for for p in participants if p.deputy_for} | extra
    for item in document_items:
        named |= {item.presenter} if item.presenter else set()
        named |= {d.person for d in item.disqualifications} | {d.person for d in item.dissents}
        named |= {p.proposer for p in item.proposals if p.proposer}
        named |= {s for p in item.proposals for s in p.seconders}
        named |= {s.person for v in item.votes for s in v.stances}
    return named


async def _people(
    session: AsyncSession, memberships: list[Membership], named: set[str]
) -> tuple[Person, ...]:
    ids = sorted(int(n[1:]) for n in named)
    users = {u.id: u for u in (await session.execute(select(User).where(User.id.in_(ids)))).scalars()}
    titles: dict[int, str] = {}
    for membership in memberships:
        title = membership.title or membership.group
        if title and membership.user_id not in titles:
            titles[membership.user_id] = title
    return tuple(
        Person(uid(i), users[i].display_name if i in users else uid(i), titles.get(i, "")) for i in ids
    )


async def draft(
    session: AsyncSession,
    meeting: Meeting,
    *,
    secretary_id: int,
    publish_at: datetime,
    wording: Wording | None = None,
    version: int = 1,
    checked_on: date | None = None,
) -> MinutesDocument:
    """The minutes of an opened (normally closed) meeting as its record and `wording` make them."""
    wording = wording or Wording()
    record = await _load(session, meeting)
    organisation = (await session.execute(select(Organisation).limit(1))).scalar_one_or_none()
    ended_at = record.live.closed_at or (record.events[-1].at if record.events else record.live.opened_at)
    method = CheckingMethod(
        record.body.checking_method
        or (organisation.default_checking_method if organisation else CheckingMethod.CHECKERS)
    )
    rows = await _rows(session, [item.id for item, _ in record.items])
    items = [
        _item(rows, record, item, handling, wording.items.get(item.section, ItemWording()), publish_at)
        for item, handling in record.items
        if item.decision_mode == DecisionMode.MEETING and handling.decided_at is not None
    ]
    items.extend(await _procedure_items(session, record.body, meeting.id, wording, publish_at))
    items.sort(key=lambda i: i.section)
    participants = _participants(record, secretary_id)
    heard = [h for statements in rows.heard.values() for h in statements]
    participants += _experts(heard, {i.section for i in items}, record)
    early = await checked_before_the_meeting(session, meeting.id)
    checking = replace(
        _checking(record, method, wording.checking_note),
        checked_on=checked_on,
        decision_procedure_checked_on=early[0] if early else None,
        decision_procedure_sections=early[1] if early else (),
    )
    sections = [i.section for i in items] or [meeting.first_section]
    facts = MeetingFacts(
        municipality=organisation.name if organisation and organisation.name else record.body.name,
        body=record.body.name,
        body_kind=BodyKind(record.body.kind),
        number=meeting.number,
        year=meeting.year,
        mode=MeetingMode(meeting.mode),
        started_at=record.live.opened_at,
        ended_at=ended_at,
        venue=meeting.place,
        convening=_convening(record, wording.convening_statement),
        checking=checking,
        body_sv=record.body.name_sv,
        interruptions=_interruptions(record, ended_at),
        participants=tuple(participants),
        attendance=_attendance(record),
        sections=(min(sections), max(sections)),
    )
    chair = uid(record.live.chaired_by)
    secretary = uid(secretary_id)
    named = _named(items, participants, {chair, secretary, *checking.checkers})
    named |= {a.person for a in facts.attendance}
    experts = {p.person for p in participants if p.capacity == Capacity.EXPERT}
    return MinutesDocument(
        meeting=facts,
        people=await _people(session, record.memberships, named - experts) + _heard_people(heard, experts),
        items=tuple(items),
        legality=Legality(chair, secretary, PublicDisplay(publish_at)),
        version=version,
    )


async def procedure_sections(
    session: AsyncSession, meeting: Meeting, *, publish_at: datetime
) -> tuple[list[Item], tuple[Person, ...]]:
    """The meeting's items decided in the procedure drafted as its minutes will have them, and the people they
    name: what is checked before the meeting (R-CHECK-5). Needs no live meeting: it may not be held yet."""
    body = await parent_row(session, Body, meeting.body_id)
    items = await _procedure_items(session, body, meeting.id, Wording(), publish_at)
    memberships = await _memberships(session, body, meeting)
    return items, await _people(session, memberships, _named(items, [], set()))


async def checked_before_the_meeting(
    session: AsyncSession, meeting_id: int
) -> tuple[date, tuple[int, ...]] | None:
    """The day the meeting's decision-procedure record was checked and the §s it covers (R-CHECK-5), or None
    while it is not checked (or was rejected: then its sections are checked with the minutes, R-CHECK-2)."""
    query = select(ProcedureCheck).where(
        ProcedureCheck.meeting_id == meeting_id, ProcedureCheck.state == ProcedureCheckState.CHECKED
    )
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None or found.checked_at is None:
        return None
    return found.checked_at.astimezone(LOCAL).date(), tuple(int(s) for s in found.sections)
