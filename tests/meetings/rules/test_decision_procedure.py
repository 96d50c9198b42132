"""The completion rule of the electronic decision procedure (KL 100 §), table by table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidTransition
from meetings.models import (
    BodyKind,
    CallDayCount,
    DecisionMode,
    DisqualificationGround,
    MeetingMode,
    Publicity,
)
from meetings.rules.call import BodyFacts, ItemFacts, MeetingFacts
from meetings.rules.decision_procedure import (
    DEADLINE_PASSED,
    DeputyRule,
    ProcedureEvent,
    ProcedureState,
    Seat,
    Stance,
    StatedStance,
    check_stance_allowed,
    current_stances,
    eligibility_problems,
    eligible_items,
    may_state,
    settle,
    stance_allowed,
    transition,
)

# Friday 26 March 2027 at 12.00 Finnish time; the clocks go forward two nights later.
DEADLINE = datetime(2027, 3, 26, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
CAUTIOUS, FOR_PREVENTED, DECLARATION = (
    DeputyRule.CAUTIOUS,
    DeputyRule.DEPUTY_FOR_PREVENTED,
    DeputyRule.DECLARATION_ANSWERS,
)
OPEN, MOVED, DECIDED = ProcedureState.OPEN, ProcedureState.MOVED_TO_MEETING, ProcedureState.DECIDED

# Members 1, 2 and 3; 11 and 12 are the personal deputies of 1 and 2; 3 has none.
SEATS = (Seat(1, 11), Seat(2, 12), Seat(3))
PREVENTED = (Seat(1, 11), Seat(2, 12, prevented=True), Seat(3))


def said(person: int, stance: Stance, before: timedelta) -> StatedStance:
    """`person` stated `stance` at `before` ahead of the deadline (negative: after it)."""
    ground = DisqualificationGround.PARTY if stance == Stance.DISQUALIFIED else None
    return StatedStance(person, stance, DEADLINE - before, ground)


def accept(person: int, before: timedelta = 24 * HOUR) -> StatedStance:
    return said(person, Stance.ACCEPT, before)


def demand(person: int, before: timedelta = 24 * HOUR) -> StatedStance:
    return said(person, Stance.DEMAND_MEETING, before)


def disqualified(person: int, before: timedelta = 30 * HOUR) -> StatedStance:
    return said(person, Stance.DISQUALIFIED, before)


ALL_ACCEPT = [accept(1), accept(2), accept(3)]

# (why, seats, stances, now, rule, state, settled_at, missing, who demanded)
CASES = [
    # R-EDP-3(3): everyone accepted, yet the item waits for its deadline.
    ("all accept, an hour early", SEATS, ALL_ACCEPT, DEADLINE - HOUR, CAUTIOUS, OPEN, None, (), None),
    ("all accept, a second early", SEATS, ALL_ACCEPT, DEADLINE - SECOND, CAUTIOUS, OPEN, None, (), None),
    # R-EDP-3(3): the deadline exactly now settles it (now >= deadline), at the deadline, not later.
    ("all accept, deadline now", SEATS, ALL_ACCEPT, DEADLINE, CAUTIOUS, DECIDED, DEADLINE, (), None),
    (
        "all accept, a day later",
        SEATS,
        ALL_ACCEPT,
        DEADLINE + 24 * HOUR,
        CAUTIOUS,
        DECIDED,
        DEADLINE,
        (),
        None,
    ),
    # R-EDP-3(2): while open, `missing` names whom to remind.
    ("one still silent", SEATS, ALL_ACCEPT[:2], DEADLINE - HOUR, CAUTIOUS, OPEN, None, (3,), None),
    # R-EDP-3(4) [INTERP]: a demand moves the item at once, at the moment of the demand.
    (
        "a demand moves it at once",
        SEATS,
        [accept(1), demand(2, 5 * HOUR)],
        DEADLINE - 5 * HOUR,
        CAUTIOUS,
        MOVED,
        DEADLINE - 5 * HOUR,
        (3,),
        2,
    ),
    (
        "a late demand, one second before the deadline",
        SEATS,
        [*ALL_ACCEPT, demand(3, SECOND)],
        DEADLINE + HOUR,
        CAUTIOUS,
        MOVED,
        DEADLINE - SECOND,
        (),
        3,
    ),
    # R-CALL-6: a demand at the deadline itself, or a second after, comes too late and is ignored.
    (
        "a demand at the deadline",
        SEATS,
        [*ALL_ACCEPT, demand(3, 0 * SECOND)],
        DEADLINE,
        CAUTIOUS,
        DECIDED,
        DEADLINE,
        (),
        None,
    ),
    (
        "a demand a second late",
        SEATS,
        [*ALL_ACCEPT, demand(3, -SECOND)],
        DEADLINE + HOUR,
        CAUTIOUS,
        DECIDED,
        DEADLINE,
        (),
        None,
    ),
    # R-EDP-3(4), R-EDP-4: a seat unanswered at the deadline moves the item, at the deadline.
    ("a missing stance", SEATS, ALL_ACCEPT[:2], DEADLINE, CAUTIOUS, MOVED, DEADLINE, (3,), None),
    (
        "a stance a second late",
        SEATS,
        [*ALL_ACCEPT[:2], accept(3, -SECOND)],
        DEADLINE + HOUR,
        CAUTIOUS,
        MOVED,
        DEADLINE,
        (3,),
        None,
    ),
    ("nobody answered", SEATS, [], DEADLINE, CAUTIOUS, MOVED, DEADLINE, (1, 2, 3), None),
    # R-EDP-5 [INTERP]: a changed stance: the latest counts …
    (
        "accepted, then demanded",
        SEATS,
        [*ALL_ACCEPT, demand(1, 2 * HOUR)],
        DEADLINE,
        CAUTIOUS,
        MOVED,
        DEADLINE - 2 * HOUR,
        (),
        1,
    ),
    (
        "declared disqualified, then withdrew it",
        SEATS,
        [disqualified(3), *ALL_ACCEPT],
        DEADLINE,
        CAUTIOUS,
        DECIDED,
        DEADLINE,
        (),
        None,
    ),
    (
        "accepted, then declared disqualified",
        SEATS,
        [*ALL_ACCEPT, disqualified(3, HOUR)],
        DEADLINE,
        CAUTIOUS,
        MOVED,
        DEADLINE,
        (3,),
        None,
    ),
    # … except that a demand has already moved the item, and accepting later does not bring it back.
    (
        "demanded, then accepted",
        SEATS,
        [accept(1), accept(3), demand(2, 30 * HOUR), accept(2, 20 * HOUR)],
        DEADLINE,
        CAUTIOUS,
        MOVED,
        DEADLINE - 30 * HOUR,
        (1, 3),  # frozen at the demand, before 1 and 3 answered
        2,
    ),
    # R-EDP-4, R-DEP-2, R-DISQ-3 (CAUTIOUS): a disqualified member's personal deputy answers for the seat.
    (
        "disqualified, deputy accepts",
        SEATS,
        [disqualified(2), accept(12), accept(1), accept(3)],
        DEADLINE,
        CAUTIOUS,
        DECIDED,
        DEADLINE,
        (),
        None,
    ),
    (
        "disqualified, deputy silent",
        SEATS,
        [disqualified(2), accept(1), accept(3)],
        DEADLINE,
        CAUTIOUS,
        MOVED,
        DEADLINE,
        (2,),
        None,
    ),
    (
        "disqualified, deputy disqualified too",
        SEATS,
        [disqualified(2), disqualified(12), accept(1), accept(3)],
        DEADLINE,
        CAUTIOUS,
        MOVED,
        DEADLINE,
        (2,),
        None,
    ),
    (
        "disqualified, deputy demands",
        SEATS,
        [disqualified(2), demand(12, 10 * HOUR), accept(1), accept(3)],
        DEADLINE,
        CAUTIOUS,
        MOVED,
        DEADLINE - 10 * HOUR,
        (),
        12,
    ),
    (
        "a deputy's early demand counts once the member declares",
        SEATS,
        [demand(12, 40 * HOUR), accept(1), accept(3), disqualified(2, 10 * HOUR)],
        DEADLINE,
        CAUTIOUS,
        MOVED,
        DEADLINE - 10 * HOUR,
        (),
        12,
    ),
    # CAUTIOUS: without a deputy a disqualified member's seat stays unanswered.
    (
        "disqualified without a deputy",
        SEATS,
        [disqualified(3), accept(1), accept(2)],
        DEADLINE,
        CAUTIOUS,
        MOVED,
        DEADLINE,
        (3,),
        None,
    ),
    # DECLARATION_ANSWERS: the declaration answers the seat, deputy or not, and no deputy is called.
    (
        "declaration answers, no deputy",
        SEATS,
        [disqualified(3), accept(1), accept(2)],
        DEADLINE,
        DECLARATION,
        DECIDED,
        DEADLINE,
        (),
        None,
    ),
    (
        "declaration answers, the deputy's demand is not his to make",
        SEATS,
        [disqualified(2), demand(12), accept(1), accept(3)],
        DEADLINE,
        DECLARATION,
        DECIDED,
        DEADLINE,
        (),
        None,
    ),
    # CAUTIOUS: a deputy does not answer for a member who is merely prevented.
    (
        "prevented, deputy accepts (cautious)",
        PREVENTED,
        [accept(12), accept(1), accept(3)],
        DEADLINE,
        CAUTIOUS,
        MOVED,
        DEADLINE,
        (2,),
        None,
    ),
    (
        "prevented, deputy demands (cautious)",
        PREVENTED,
        [demand(12), accept(1), accept(3)],
        DEADLINE,
        CAUTIOUS,
        MOVED,
        DEADLINE,
        (2,),
        None,
    ),
    # DEPUTY_FOR_PREVENTED: the deputy answers for a member who gave notice …
    (
        "prevented, deputy accepts",
        PREVENTED,
        [accept(12), accept(1), accept(3)],
        DEADLINE,
        FOR_PREVENTED,
        DECIDED,
        DEADLINE,
        (),
        None,
    ),
    (
        "not prevented, deputy accepts",
        SEATS,
        [accept(11), accept(2), accept(3)],
        DEADLINE,
        FOR_PREVENTED,
        MOVED,
        DEADLINE,
        (1,),
        None,
    ),
    # … unless the member answers after all: then the member's own stance counts.
    (
        "prevented member answers",
        PREVENTED,
        [accept(2, 30 * HOUR), demand(12), accept(1), accept(3)],
        DEADLINE,
        FOR_PREVENTED,
        DECIDED,
        DEADLINE,
        (),
        None,
    ),
    # R-EDP-6: someone who holds no seat answers for none.
    (
        "an outsider's demand",
        SEATS,
        [*ALL_ACCEPT, demand(99)],
        DEADLINE,
        CAUTIOUS,
        DECIDED,
        DEADLINE,
        (),
        None,
    ),
    # `now` is the moment asked about: a stance stated after it has not happened yet.
    (
        "a stance after now",
        SEATS,
        [*ALL_ACCEPT[:2], demand(3, HOUR)],
        DEADLINE - 2 * HOUR,
        CAUTIOUS,
        OPEN,
        None,
        (3,),
        None,
    ),
]


@pytest.mark.parametrize(
    ("seats", "stances", "now", "rule", "state", "settled_at", "missing", "demander"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_settle(
    seats: tuple[Seat, ...],
    stances: list[StatedStance],
    now: datetime,
    rule: DeputyRule,
    state: ProcedureState,
    settled_at: datetime | None,
    missing: tuple[int, ...],
    demander: int | None,
) -> None:
    outcome = settle(seats, stances, deadline=DEADLINE, now=now, rule=rule)
    assert (outcome.state, outcome.settled_at, outcome.missing) == (state, settled_at, missing)
    assert (outcome.demand.person if outcome.demand else None) == demander
    if state != OPEN:
        assert outcome.event is not None
        assert transition(OPEN, outcome.event) == state


def test_settle_names_the_rule_and_freezes_who_answered_each_seat() -> None:
    stances = [disqualified(2), accept(12), accept(1), accept(3)]
    decided = settle(SEATS, stances, deadline=DEADLINE, now=DEADLINE)
    assert decided.rule == "R-EDP-3(3)"
    assert decided.event == ProcedureEvent.DEADLINE_PASSED_ANSWERED
    assert [(seat.member, seat.answer.person if seat.answer else None) for seat in decided.seats] == [
        (1, 1),
        (2, 12),
        (3, 3),
    ]
    assert [seat.by_deputy for seat in decided.seats] == [False, True, False]
    assert settle(SEATS, [], deadline=DEADLINE, now=DEADLINE - HOUR).rule == "R-EDP-3(2)"
    assert settle(SEATS, [], deadline=DEADLINE, now=DEADLINE).rule == "R-EDP-4"
    assert settle(SEATS, [demand(1)], deadline=DEADLINE, now=DEADLINE).rule == "R-EDP-3(4)"


def test_the_order_given_does_not_matter_only_the_times() -> None:
    """R-EDP-5: stances are read in time order, so a list out of order still gives the latest."""
    stances = [accept(1, HOUR), demand(1, 2 * HOUR)]  # the demand came first
    assert current_stances(stances, deadline=DEADLINE, now=DEADLINE)[1].stance == Stance.ACCEPT
    assert settle(SEATS, stances, deadline=DEADLINE, now=DEADLINE).settled_at == DEADLINE - 2 * HOUR


@pytest.mark.parametrize(
    ("now", "state", "allowed"),
    [
        # R-CALL-6, R-EDP-3(2): until the deadline, not at it, not a second after.
        (DEADLINE - HOUR, OPEN, True),
        (DEADLINE - SECOND, OPEN, True),
        (DEADLINE, OPEN, False),
        (DEADLINE + SECOND, OPEN, False),
        # R-EDP-3(4): a moved item takes no more stances, nor does a decided or withdrawn one.
        (DEADLINE - HOUR, MOVED, False),
        (DEADLINE - HOUR, DECIDED, False),
        (DEADLINE - HOUR, ProcedureState.WITHDRAWN, False),
    ],
)
def test_stance_allowed(now: datetime, state: ProcedureState, allowed: bool) -> None:
    assert stance_allowed(now, DEADLINE, state) is allowed
    if allowed:
        check_stance_allowed(now, DEADLINE, state)
    else:
        with pytest.raises(InvalidTransition):
            check_stance_allowed(now, DEADLINE, state)


def test_a_late_stance_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidTransition) as refused:
        check_stance_allowed(DEADLINE + SECOND, DEADLINE, OPEN)
    assert refused.value.message == DEADLINE_PASSED
    with pytest.raises(InvalidTransition) as moved:
        check_stance_allowed(DEADLINE - HOUR, DEADLINE, MOVED)
    assert "moved to the meeting" in moved.value.message


ALLOWED = {
    (OPEN, ProcedureEvent.STANCE_STATED): OPEN,  # R-EDP-3(2), R-EDP-5
    (OPEN, ProcedureEvent.MEETING_DEMANDED): MOVED,  # R-EDP-3(4)
    (OPEN, ProcedureEvent.DEADLINE_PASSED_UNANSWERED): MOVED,  # R-EDP-3(4), R-EDP-4
    (OPEN, ProcedureEvent.DEADLINE_PASSED_ANSWERED): DECIDED,  # R-EDP-3(3)
    (OPEN, ProcedureEvent.WITHDRAWN): ProcedureState.WITHDRAWN,
}


@pytest.mark.parametrize(("state", "event"), list(product(ProcedureState, ProcedureEvent)))
def test_every_transition_is_allowed_or_refused(state: ProcedureState, event: ProcedureEvent) -> None:
    if (state, event) in ALLOWED:
        assert transition(state, event) == ALLOWED[state, event]
    else:
        with pytest.raises(InvalidTransition):
            transition(state, event)


@pytest.mark.parametrize(
    ("seats", "stances", "person", "rule", "allowed"),
    [
        # R-EDP-3(2): every member states a stance, also one who gave notice of being prevented.
        (SEATS, [], 1, CAUTIOUS, True),
        (PREVENTED, [], 2, CAUTIOUS, True),
        # R-EDP-4 CAUTIOUS: a deputy only for a disqualified member.
        (SEATS, [], 12, CAUTIOUS, False),
        (SEATS, [disqualified(2)], 12, CAUTIOUS, True),
        (PREVENTED, [], 12, CAUTIOUS, False),
        # DEPUTY_FOR_PREVENTED: also for a prevented member who has not answered.
        (PREVENTED, [], 12, FOR_PREVENTED, True),
        (PREVENTED, [accept(2)], 12, FOR_PREVENTED, False),
        # DECLARATION_ANSWERS: never a deputy.
        (SEATS, [disqualified(2)], 12, DECLARATION, False),
        # R-EDP-6: nobody without a seat.
        (SEATS, [], 99, FOR_PREVENTED, False),
    ],
)
def test_may_state(
    seats: tuple[Seat, ...], stances: list[StatedStance], person: int, rule: DeputyRule, allowed: bool
) -> None:
    current = current_stances(stances, deadline=DEADLINE, now=DEADLINE - HOUR)
    assert may_state(seats, person, current, rule) is allowed


def test_malformed_facts_are_refused() -> None:
    with pytest.raises(ValueError, match="ground"):
        StatedStance(1, Stance.DISQUALIFIED, DEADLINE)
    with pytest.raises(ValueError, match="ground"):
        StatedStance(1, Stance.ACCEPT, DEADLINE, DisqualificationGround.PARTY)
    with pytest.raises(ValueError, match="timezone-aware"):
        StatedStance(1, Stance.ACCEPT, DEADLINE.replace(tzinfo=None))
    with pytest.raises(ValueError, match="timezone-aware"):
        settle(SEATS, [], deadline=DEADLINE, now=DEADLINE.replace(tzinfo=None))
    with pytest.raises(ValueError, match="one seat"):
        settle((Seat(1, 11), Seat(2, 11)), [], deadline=DEADLINE, now=DEADLINE)


SENT = DEADLINE - 7 * 24 * HOUR
MEETING_AT = DEADLINE + 4 * 24 * HOUR


def facts(kind: BodyKind = BodyKind.EXECUTIVE, allowed: bool = True) -> BodyFacts:
    return BodyFacts(kind, 4, CallDayCount.SENDING_DAY_EXCLUDED, True, allowed)


def item(
    mode: DecisionMode = DecisionMode.DECISION_PROCEDURE, deadline: datetime | None = DEADLINE
) -> ItemFacts:
    return ItemFacts(5, "Avustushakemus", Publicity.PUBLIC, "", mode, deadline)


def meeting(*items: ItemFacts, public: bool = False) -> MeetingFacts:
    return MeetingFacts(MEETING_AT, MeetingMode.IN_PERSON, public, items)


@pytest.mark.parametrize(
    ("body", "meeting_facts", "rules"),
    [
        # R-EDP-1: not the council, not an item of a public meeting.
        (facts(BodyKind.COUNCIL), meeting(item()), ["R-EDP-1"]),
        (facts(), meeting(item(), public=True), ["R-EDP-1"]),
        # R-EDP-2: only where the administrative rules allow it.
        (facts(allowed=False), meeting(item()), ["R-EDP-2"]),
        # R-CALL-6 and R-EDP-3(1): the call states a deadline between the call and the meeting.
        (facts(), meeting(item(deadline=None)), ["R-CALL-6"]),
        (facts(), meeting(item(deadline=MEETING_AT + HOUR)), ["R-EDP-3"]),
        (facts(), meeting(item()), []),
        # A confidential item is not refused for lacking its basis here: that is the call's own problem.
        (
            facts(),
            meeting(ItemFacts(5, "x", Publicity.CONFIDENTIAL, "", DecisionMode.DECISION_PROCEDURE, DEADLINE)),
            [],
        ),
    ],
)
def test_eligibility(body: BodyFacts, meeting_facts: MeetingFacts, rules: list[str]) -> None:
    (only,) = meeting_facts.items
    assert [p.rule for p in eligibility_problems(body, meeting_facts, only, SENT)] == rules
    assert eligible_items(body, meeting_facts, SENT) == (() if rules else (only,))


def test_eligible_items_are_those_marked_for_the_procedure() -> None:
    marked, in_meeting = item(), item(DecisionMode.MEETING, None)
    assert eligible_items(facts(), meeting(marked, in_meeting), SENT) == (marked,)
    # Asked about the other one, the rules name what it would need: a deadline (R-CALL-6).
    problems = eligibility_problems(facts(), meeting(marked, in_meeting), in_meeting, SENT)
    assert [p.rule for p in problems] == ["R-CALL-6"]


PEOPLE = st.sampled_from([1, 2, 3, 11, 12])
STANCES = st.builds(
    said,
    PEOPLE,
    st.sampled_from(Stance),
    st.integers(-3600, 3 * 24 * 3600).map(lambda seconds: timedelta(seconds=seconds)),
)
MOMENTS = st.integers(-3600, 3 * 24 * 3600).map(lambda seconds: DEADLINE - timedelta(seconds=seconds))


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(STANCES, max_size=12), MOMENTS, MOMENTS, st.sampled_from(DeputyRule))
def test_a_settled_item_stays_settled(
    stances: list[StatedStance], one: datetime, other: datetime, rule: DeputyRule
) -> None:
    """R-EDP-3: never decided before the deadline; once settled, later moments give the same answer."""
    earlier, later = sorted((one, other))
    first = settle(PREVENTED, stances, deadline=DEADLINE, now=earlier, rule=rule)
    second = settle(PREVENTED, stances, deadline=DEADLINE, now=later, rule=rule)
    if first.state != OPEN:
        assert second == first
        assert first.settled_at is not None
        assert first.settled_at <= min(earlier, DEADLINE)
    if earlier < DEADLINE:
        assert first.state != DECIDED
    if first.state == DECIDED:
        assert first.missing == ()
        assert all(seat.answer and seat.answer.stance != Stance.DEMAND_MEETING for seat in first.seats)
