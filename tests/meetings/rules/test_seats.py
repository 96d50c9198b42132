"""Who holds each seat as people arrive, leave, drop out and are disqualified: event sequences as tables."""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings.models import BodyKind
from meetings.rules.seats import (
    Arrival,
    Cover,
    Departure,
    Disconnection,
    Disqualification,
    Event,
    GroupDeputies,
    ItemChange,
    Member,
    Reconnection,
    Reseating,
    Roster,
    SeatChange,
    Seating,
    empty_seating,
    reseat,
    waiting,
)

# A committee of five: member n has the personal deputy 100 + n (R-DEP-2).
COMMITTEE = Roster(BodyKind.COMMITTEE, tuple(Member(n, deputy=100 + n) for n in range(1, 6)))
COMMITTEE_NO_DISQ = Roster(COMMITTEE.kind, COMMITTEE.members, deputy_for_disqualified=False)
# A council of seven: 1-3 in group A, 4-6 in group B, 7 in none; group deputies in election order (R-DEP-1).
COUNCIL = Roster(
    BodyKind.COUNCIL,
    (*(Member(n, group="A") for n in (1, 2, 3)), *(Member(n, group="B") for n in (4, 5, 6)), Member(7)),
    (GroupDeputies("A", (201, 202, 203)), GroupDeputies("B", (211, 212))),
)
EVERYONE = tuple(Arrival(n) for n in range(1, 8))


def play(roster: Roster, events: Sequence[Event]) -> Reseating:
    start = Reseating(empty_seating(roster), ())
    return reduce(lambda done, event: reseat(roster, done.seating, event), events, start)


def holders(seating: Seating) -> dict[int, int | None]:
    return {seat.member: seat.holder for seat in seating.seats}


@pytest.mark.parametrize(
    ("roster", "events", "seat", "holder", "last"),
    [
        pytest.param(
            COMMITTEE,
            [Arrival(1)],
            1,
            1,
            (SeatChange(1, None, 1, Cover.MEMBER),),
            id="R-DEP-3 a member who arrives to an empty seat takes it at once",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(102)],
            2,
            102,
            (SeatChange(2, None, 102, Cover.PREVENTED),),
            id="R-DEP-2 the personal deputy of a prevented member takes the seat",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(2), Arrival(102)],
            2,
            2,
            (),
            id="R-DEP-3 a deputy whose member is here stays without a seat",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(103)],
            2,
            None,
            (SeatChange(3, None, 103, Cover.PREVENTED),),
            id="R-DEP-2 a personal deputy sits only for their own member",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(102), Arrival(2)],
            2,
            102,
            (),
            id="R-DEP-3 a member arriving while their deputy sits waits: no change in the middle of an item",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(102), Arrival(2), ItemChange()],
            2,
            2,
            (SeatChange(2, 102, 2, Cover.MEMBER),),
            id="R-DEP-3 the member takes the seat back at the start of the next item",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(102), Arrival(2), ItemChange(frozenset({2}))],
            2,
            102,
            (),
            id="R-DEP-3 R-DEP-2 a member disqualified in the next item leaves the deputy in the seat",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(3), Arrival(103), Disqualification(3)],
            3,
            103,
            (SeatChange(3, 3, 103, Cover.DISQUALIFIED),),
            id="R-DEP-2 R-DISQ-3 where the rules say so the deputy sits for a disqualified member",
        ),
        pytest.param(
            COMMITTEE_NO_DISQ,
            [Arrival(3), Arrival(103), Disqualification(3)],
            3,
            None,
            (SeatChange(3, 3, None, Cover.VACANT),),
            id="R-DEP-2 R-DISQ-3 where they do not the disqualified member's seat stays empty",
        ),
        pytest.param(
            COMMITTEE_NO_DISQ,
            [Arrival(103), Disqualification(3)],
            3,
            103,
            (),
            id="R-DEP-2 a prevented member's deputy sits whatever the disqualification setting",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(3), Arrival(103), ItemChange(frozenset({3}))],
            3,
            103,
            (SeatChange(3, 3, 103, Cover.DISQUALIFIED),),
            id="R-DISQ-3 a disqualification known when the item starts seats the deputy for the item",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(3), Arrival(103), ItemChange(frozenset({3})), ItemChange()],
            3,
            3,
            (SeatChange(3, 103, 3, Cover.MEMBER),),
            id="R-DEP-3 R-DISQ-3 the member sits again in the next item",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(4), Arrival(104), Departure(4)],
            4,
            104,
            (SeatChange(4, 4, 104, Cover.PREVENTED),),
            id="R-DEP-2 a member who leaves is replaced by their deputy at once",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(102), Departure(102)],
            2,
            None,
            (SeatChange(2, 102, None, Cover.VACANT),),
            id="R-DEP-3 a deputy who leaves empties the seat",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(4), Arrival(104), Disconnection(4)],
            4,
            4,
            (),
            id="R-EMEET-8 a disconnection does not give the seat to the deputy",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(4), Arrival(104), Disconnection(4), Reconnection(4)],
            4,
            4,
            (),
            id="R-EMEET-8 the member who reconnects still holds the seat",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(4), Disconnection(4), Departure(4), Arrival(104)],
            4,
            104,
            (SeatChange(4, None, 104, Cover.PREVENTED),),
            id="R-EMEET-8 R-DEP-2 once the departure is recorded the deputy may sit",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(4), Arrival(104), Disconnection(104), Departure(4)],
            4,
            None,
            (SeatChange(4, 4, None, Cover.VACANT),),
            id="R-EMEET-8 a disconnected deputy cannot take a freed seat",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(4), Arrival(104), Disconnection(104), Departure(4), Reconnection(104)],
            4,
            104,
            (SeatChange(4, None, 104, Cover.PREVENTED),),
            id="R-EMEET-8 R-DEP-2 the deputy takes the empty seat on reconnecting",
        ),
        pytest.param(
            COMMITTEE,
            [Arrival(5), Disconnection(5), Departure(5), Arrival(5)],
            5,
            5,
            (SeatChange(5, None, 5, Cover.MEMBER),),
            id="R-DEP-3 a member who comes back to an empty seat takes it at once",
        ),
        pytest.param(
            COUNCIL,
            [*EVERYONE, Arrival(202), Arrival(201), Departure(1)],
            1,
            201,
            (SeatChange(1, 1, 201, Cover.PREVENTED),),
            id="R-DEP-1 council: the first deputy of the group in election order takes the seat",
        ),
        pytest.param(
            COUNCIL,
            [*EVERYONE, Arrival(203), Arrival(202), Departure(1)],
            1,
            202,
            (SeatChange(1, 1, 202, Cover.PREVENTED),),
            id="R-DEP-1 council: an absent deputy is skipped for the next available one",
        ),
        pytest.param(
            COUNCIL,
            [*EVERYONE, Arrival(211), Departure(1)],
            1,
            None,
            (SeatChange(1, 1, None, Cover.VACANT),),
            id="R-DEP-1 council: a deputy of another group does not take the seat",
        ),
        pytest.param(
            COUNCIL,
            [*EVERYONE, Arrival(201), Departure(1), Departure(2), Arrival(202)],
            2,
            202,
            (SeatChange(2, None, 202, Cover.PREVENTED),),
            id="R-DEP-1 council: a deputy arriving fills the group's empty seat",
        ),
        pytest.param(
            COUNCIL,
            [*EVERYONE, Arrival(212), Disqualification(5)],
            5,
            212,
            (SeatChange(5, 5, 212, Cover.DISQUALIFIED),),
            id="R-DEP-1 R-DISQ-3 council: a deputy is called in for a disqualified councillor",
        ),
        pytest.param(
            COUNCIL,
            [*EVERYONE, Arrival(201), Departure(7)],
            7,
            None,
            (SeatChange(7, 7, None, Cover.VACANT),),
            id="R-DEP-1 council: a councillor in no group has no deputy",
        ),
        pytest.param(
            COUNCIL,
            [*EVERYONE, Departure(1), Arrival(202), Arrival(201), ItemChange()],
            1,
            202,
            (),
            id="R-DEP-1 R-DEP-3 council: a deputy earlier in the order does not displace one who sits",
        ),
        pytest.param(
            COUNCIL,
            [*EVERYONE, Arrival(201), Disqualification(1), Disqualification(201)],
            1,
            None,
            (SeatChange(1, 201, None, Cover.VACANT),),
            id="R-DISQ-3 council: a deputy disqualified in the item leaves the seat too",
        ),
    ],
)
def test_seat_holders(
    roster: Roster, events: list[Event], seat: int, holder: int | None, last: tuple[SeatChange, ...]
) -> None:
    result = play(roster, events)
    assert holders(result.seating)[seat] == holder
    assert result.changes == last


def test_waiting_lists_members_who_take_their_seat_at_the_next_item() -> None:
    """R-DEP-3: the page can say who sits again when the next item starts."""
    result = play(COMMITTEE, [Arrival(102), Arrival(104), Arrival(2), Arrival(4), Arrival(5)])
    assert waiting(result.seating) == (2, 4)
    after = reseat(COMMITTEE, result.seating, ItemChange())
    assert waiting(after.seating) == ()
    assert [(c.member, c.left, c.took) for c in after.changes] == [(2, 102, 2), (4, 104, 4)]


def test_a_returning_councillor_frees_a_deputy_for_another_seat_of_the_group() -> None:
    """R-DEP-1, R-DEP-3: at the start of the next item the member sits and the deputy is free again."""
    start = play(COUNCIL, [*EVERYONE[1:], Arrival(201), Departure(2)])
    assert holders(start.seating)[1] == 201
    assert holders(start.seating)[2] is None
    after = play(COUNCIL, [*EVERYONE[1:], Arrival(201), Departure(2), Arrival(1), ItemChange()])
    assert holders(after.seating) == {1: 1, 2: 201, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7}
    assert after.changes == (
        SeatChange(1, 201, 1, Cover.MEMBER),
        SeatChange(2, None, 201, Cover.PREVENTED),
    )


def test_the_attendance_facts_follow_the_events() -> None:
    result = play(
        COMMITTEE, [Arrival(1), Arrival(2), Disconnection(2), Departure(1), ItemChange(frozenset({3}))]
    )
    assert result.seating.present == {2}
    assert result.seating.disconnected == {2}
    assert result.seating.disqualified == {3}


people = st.sampled_from([*range(1, 8), 101, 102, 103, 104, 105, 201, 202, 203, 211, 212])
events = st.one_of(
    st.builds(Arrival, people),
    st.builds(Departure, people),
    st.builds(Disconnection, people),
    st.builds(Reconnection, people),
    st.builds(Disqualification, people),
    st.builds(ItemChange, st.frozensets(people, max_size=3)),
)


@settings(deadline=None)  # a slow CI machine must not fail a correct example
@given(st.sampled_from([COMMITTEE, COMMITTEE_NO_DISQ, COUNCIL]), st.lists(events, max_size=30))
def test_a_seat_is_held_by_one_person_who_may_sit_in_it(roster: Roster, sequence: list[Event]) -> None:
    """R-DEP-3: one holder per seat, one seat per person; holders are here, not disqualified, and are the
    member or one of the member's own deputies (R-DEP-1/2, R-DISQ-3)."""
    seating = play(roster, sequence).seating
    seated = [seat.holder for seat in seating.seats if seat.holder is not None]
    assert len(seated) == len(set(seated))
    groups = {deputies.group: deputies.persons for deputies in roster.group_deputies}
    for member, seat in zip(roster.members, seating.seats, strict=True):
        if seat.holder is None:
            continue
        assert seat.holder in seating.present
        assert seat.holder not in seating.disqualified
        allowed = {member.person, member.deputy, *groups.get(member.group, ())}
        assert seat.holder in allowed
