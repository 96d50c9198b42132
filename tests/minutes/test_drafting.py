"""The draft Kokous writes from a held meeting's record holds every element R-MIN-2 and R-MIN-3 ask for: one
test per element, on the scripted meeting of tests/minutes/held.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import LOCAL, FixedClock
from meetings.models import BodyKind, CheckingMethod, Meeting, MeetingMode
from meetings.rules.dissent import Ground
from meetings.rules.voting import Choice, ProposalKind
from minutes.document import (
    AttendanceChange,
    Capacity,
    Connection,
    ElectionMethod,
    MinutesDocument,
    Publicity,
    Resolution,
    VotingMethod,
)
from minutes.drafting import ItemWording, Wording, draft, planned_publication, uid
from minutes.render import render_html
from minutes.rules.appeal import InstructionKind
from minutes.rules.holidays import is_business_day
from tests.meetings.live.world import SECRET_TITLE
from tests.minutes.held import (
    BREAK_REASON,
    CANDIDATES,
    COUNTER_TEXT,
    DISSENT_REASONS,
    ELECTION_TITLE,
    HEARD_NAME,
    HEARD_SUMMARY,
    HEARD_TITLE,
    RECUSAL_EXPLANATION,
    TABLING_TEXT,
    Held,
    hold_scripted_meeting,
)
from web.context import AppContext


@pytest.fixture
async def held(context: AppContext, clock: FixedClock) -> Held:
    return await hold_scripted_meeting(context, clock)


async def _draft(context: AppContext, held: Held, wording: Wording | None = None) -> MinutesDocument:
    async with context.db.read() as session:
        meeting = await session.get(Meeting, held.board.meeting_id)
        assert meeting is not None
        day = meeting.starts_at.astimezone(LOCAL).date()
        return await draft(
            session,
            meeting,
            secretary_id=held.board.secretary,
            publish_at=planned_publication(day),
            wording=wording,
        )


@pytest.fixture
async def doc(context: AppContext, held: Held) -> MinutesDocument:
    return await _draft(context, held)


def person(doc: MinutesDocument, user_id: int) -> str:
    return uid(user_id)


# ---- organisation data (R-MIN-2) -----------------------------------------------------------------


async def test_the_body_and_the_meeting_are_named(doc: MinutesDocument) -> None:
    assert doc.meeting.body_kind == BodyKind.EXECUTIVE
    assert doc.meeting.body
    assert doc.meeting.number >= 1
    assert doc.meeting.municipality


async def test_the_decision_modes_used_are_stated(doc: MinutesDocument) -> None:
    assert doc.meeting.mode == MeetingMode.IN_PERSON
    assert doc.modes == ("in_person",)  # no item was decided in the decision procedure


async def test_start_and_end_are_the_recorded_times(doc: MinutesDocument, clock: FixedClock) -> None:
    assert doc.meeting.started_at < doc.meeting.ended_at <= clock()
    assert doc.meeting.ended_at - doc.meeting.started_at > timedelta(minutes=30)


async def test_the_break_is_an_interruption_with_its_reason(doc: MinutesDocument) -> None:
    (interruption,) = doc.meeting.interruptions
    assert interruption.reason == BREAK_REASON
    assert interruption.ended_at - interruption.started_at >= timedelta(minutes=15)


async def test_the_venue_is_the_meetings_place(doc: MinutesDocument) -> None:
    assert doc.meeting.venue == "Kunnantalo"


async def test_who_was_present_and_absent_and_in_what_capacity(doc: MinutesDocument, held: Held) -> None:
    board = held.board
    by_person = {p.person: p for p in doc.meeting.participants}
    m1, m2, m3, _m4, m5 = board.members
    assert by_person[uid(m1)].chair
    assert by_person[uid(m1)].capacity == Capacity.MEMBER
    assert not by_person[uid(m5)].present  # absent, and listed (R-MIN-2)
    deputy = by_person[uid(board.deputies[4])]
    assert (deputy.capacity, deputy.deputy_for, deputy.present) == (Capacity.DEPUTY, uid(m5), True)
    assert by_person[uid(board.presenter)].capacity == Capacity.PRESENTER
    assert by_person[uid(board.secretary)].capacity == Capacity.SECRETARY
    assert by_person[uid(m3)].connection == Connection.REMOTE
    assert by_person[uid(m2)].connection == Connection.ON_SITE
    assert uid(board.deputies[0]) not in by_person  # a deputy who did not come is not called present


async def test_lawful_convening_and_quorum(doc: MinutesDocument) -> None:
    convening = doc.meeting.convening
    assert convening.lawful
    assert convening.quorate
    assert (convening.seats, convening.members_present) == (5, 5)
    assert convening.call_sent_at < doc.meeting.started_at


async def test_the_checkers_and_how_the_minutes_are_checked(doc: MinutesDocument, held: Held) -> None:
    checking = doc.meeting.checking
    assert checking.method == CheckingMethod.CHECKERS
    assert checking.checkers == (uid(held.board.members[1]), uid(held.board.members[2]))
    assert checking.checked_on is None  # not yet


# ---- attendance per item (R-MIN-3) ---------------------------------------------------------------


async def test_arrivals_departures_and_disconnections_with_time_and_item(
    doc: MinutesDocument, held: Held
) -> None:
    m3, m4 = uid(held.board.members[2]), uid(held.board.members[3])
    changes = [(a.person, a.change, a.section) for a in doc.meeting.attendance]
    assert (m3, AttendanceChange.ARRIVED, None) in changes  # before the first item
    assert (m3, AttendanceChange.DISCONNECTED, 2) in changes
    assert (m3, AttendanceChange.RECONNECTED, 2) in changes
    assert (m4, AttendanceChange.LEFT, 2) in changes
    # R-EMEET-1(1): the roll call with pictures before the first item.
    assert (m3, AttendanceChange.IDENTIFIED, None) in changes
    times = [a.at for a in doc.meeting.attendance]
    assert times == sorted(times)


# ---- item data (R-MIN-2) -------------------------------------------------------------------------


async def test_each_item_has_its_title_and_presenter(doc: MinutesDocument, held: Held) -> None:
    assert [i.section for i in doc.items] == [1, 2]
    assert doc.items[1].title == SECRET_TITLE
    assert {i.presenter for i in doc.items} == {uid(held.board.presenter)}


async def test_the_presenters_base_proposal(doc: MinutesDocument) -> None:
    budget = doc.items[0]
    assert budget.base_proposal == "Hallitus hyväksyy talousarvion."
    (base,) = [p for p in budget.proposals if p.kind == ProposalKind.BASE]
    assert base.key == "A"


async def test_a_disqualification_with_its_grounds(doc: MinutesDocument, held: Held) -> None:
    (found,) = doc.items[0].disqualifications
    assert found.person == uid(held.board.members[3])
    assert found.grounds == RECUSAL_EXPLANATION
    assert found.provision == "HL 28 § 1 mom. 1 k."


async def test_proposals_with_who_made_and_who_seconded_them(doc: MinutesDocument, held: Held) -> None:
    m2, m3 = uid(held.board.members[1]), uid(held.board.members[2])
    counter = next(p for p in doc.items[0].proposals if p.kind == ProposalKind.COUNTER)
    assert (counter.text, counter.proposer, counter.seconders) == (COUNTER_TEXT, m2, (m3,))
    tabling = next(p for p in doc.items[1].proposals if p.kind == ProposalKind.TABLING)
    assert (tabling.text, tabling.seconded) == (TABLING_TEXT, True)


async def test_a_tied_vote_with_method_order_proposition_and_every_stance(
    doc: MinutesDocument, held: Held
) -> None:
    (vote,) = doc.items[0].votes
    m1, m2, m3, m4, _ = held.board.members
    d5 = held.board.deputies[4]
    assert (vote.order, vote.method) == (1, VotingMethod.ELECTRONIC)
    assert "esittelijän ehdotus" in vote.proposition
    assert "vastaehdotus" in vote.proposition
    stances = {s.person: s.choice for s in vote.stances}
    assert stances == {uid(m1): Choice.JAA, uid(m2): Choice.EI, uid(m3): Choice.EI, uid(d5): Choice.JAA}
    assert uid(m4) not in stances  # disqualified: not in the vote
    assert (vote.count(Choice.JAA), vote.count(Choice.EI)) == (2, 2)
    assert vote.tie_decided_by_chair
    assert vote.winner == "A"


async def test_a_person_heard_with_title_time_and_summary(doc: MinutesDocument, held: Held) -> None:
    """R-MIN-2 statements by persons heard: who (an expert, not a member), their title, when, and what."""
    budget = next(i for i in doc.items if i.section == 1)
    (heard,) = budget.statements
    who = doc.person(heard.person)
    assert (who.name, who.title, heard.summary) == (HEARD_NAME, HEARD_TITLE, HEARD_SUMMARY)
    assert heard.at is not None
    assert heard.at > doc.meeting.started_at
    assert any(p.person == heard.person and p.capacity == Capacity.EXPERT for p in doc.meeting.participants)
    assert next(i for i in doc.items if i.section == 2).statements == ()


async def test_an_election_with_method_secrecy_and_result(doc: MinutesDocument) -> None:
    """R-MIN-2 elections (method, result), R-ELECT-3 a non-personal deputy, R-ELECT-8 no ballot of anyone."""
    budget = next(i for i in doc.items if i.section == 1)
    (election,) = budget.elections
    assert (election.title, election.method, election.secret_ballot) == (
        ELECTION_TITLE,
        ElectionMethod.MAJORITY,
        True,
    )
    assert (election.seats, election.ballots_cast, election.blank, election.drawn_by_lot) == (1, 4, 1, False)
    ranked = [(c.name, c.votes, c.elected, c.deputy) for c in election.candidates]
    assert ranked == [
        (CANDIDATES[0], 2, True, False),
        (CANDIDATES[1], 1, False, True),
        (CANDIDATES[2], 0, False, False),
    ]


async def test_the_decision_and_how_it_was_reached(doc: MinutesDocument) -> None:
    budget, secret = doc.items
    assert (budget.resolution, budget.decision) == (Resolution.AFTER_VOTE, "Hallitus hyväksyy talousarvion.")
    assert (secret.resolution, secret.decision) == (Resolution.TABLED, TABLING_TEXT)  # R-PROP-4


async def test_a_dissent_with_its_grounds_and_reasons(doc: MinutesDocument, held: Held) -> None:
    (dissent,) = doc.items[0].dissents
    assert dissent.person == uid(held.board.members[1])
    assert dissent.ground in (Ground.PROPOSED, Ground.VOTED_AGAINST)
    assert dissent.reasons == DISSENT_REASONS


async def test_a_confidential_item_keeps_its_legal_basis(doc: MinutesDocument) -> None:
    secret = doc.items[1]
    assert secret.confidentiality.publicity == Publicity.CONFIDENTIAL
    assert secret.confidentiality.legal_basis == "JulkL 24 § 1 mom 29 k"  # R-MIN-3


# ---- legality data (R-MIN-2) ---------------------------------------------------------------------


async def test_the_chair_signs_and_the_secretary_countersigns(doc: MinutesDocument, held: Held) -> None:
    assert (doc.legality.chair, doc.legality.secretary) == (uid(held.board.chair), uid(held.board.secretary))
    assert doc.person(doc.legality.chair).name


async def test_rectification_instructions_with_their_dates(doc: MinutesDocument) -> None:
    budget, school = doc.items
    assert budget.instruction.kind == InstructionKind.RECTIFICATION  # an executive's decision (R-RECT-1)
    assert budget.instruction.last_day is not None
    assert is_business_day(budget.instruction.last_day)
    assert budget.instruction.notified_on is not None
    assert (budget.instruction.last_day - budget.instruction.notified_on).days >= 14  # R-RECT-3/4
    assert school.instruction.kind == InstructionKind.APPEAL_BAN  # tabling: preparatory, KL 136 §, R-RECT-2


async def test_the_public_display_note(doc: MinutesDocument) -> None:
    display = doc.legality.public_display
    assert display is not None
    assert display.published_at > doc.meeting.ended_at
    assert is_business_day(display.published_at.astimezone(LOCAL).date())


# ---- the secretary's wording, never the facts ------------------------------------------------------


async def test_wording_changes_words_and_never_facts(
    context: AppContext, held: Held, doc: MinutesDocument
) -> None:
    words = Wording(
        items={1: ItemWording(description="Uusi kuvaus.", decision="Hallitus hyväksyi talousarvion.")}
    )
    edited = await _draft(context, held, words)
    assert (edited.items[0].description, edited.items[0].decision) == (
        "Uusi kuvaus.",
        words.items[1].decision,
    )
    assert edited.items[0].votes == doc.items[0].votes
    assert edited.meeting == doc.meeting


async def test_the_draft_renders_with_every_element(doc: MinutesDocument) -> None:
    html = render_html(doc)
    for text in (
        SECRET_TITLE,
        COUNTER_TEXT,
        *CANDIDATES,
        DISSENT_REASONS,
        ELECTION_TITLE,
        HEARD_NAME,
        HEARD_SUMMARY,
        HEARD_TITLE,
        RECUSAL_EXPLANATION,
        BREAK_REASON,
        "Kunnantalo",
        "tunnistettiin kuvasta nimenhuudossa",  # R-EMEET-1(1)
    ):
        assert text in html
