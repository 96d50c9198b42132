"""Quorum, table by table: the statutory thresholds, then who counts and why not."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings.models import BodyKind
from meetings.rules.quorum import Gap, SeatGap, needed, quorum
from meetings.rules.seats import Seat, Seating

COUNCIL, EXECUTIVE, COMMITTEE = BodyKind.COUNCIL, BodyKind.EXECUTIVE, BodyKind.COMMITTEE


def seating(
    members: int,
    present: Iterable[int],
    *,
    holders: dict[int, int | None] | None = None,
    disqualified: Iterable[int] = (),
    disconnected: Iterable[int] = (),
) -> Seating:
    """Members 1..n each in their own seat unless `holders` says otherwise (a deputy, or None for nobody)."""
    holders = holders or {}
    seats = tuple(Seat(m, holders.get(m, m)) for m in range(1, members + 1))
    return Seating(seats, frozenset(present), frozenset(disconnected), frozenset(disqualified))


def first(n: int) -> range:
    return range(1, n + 1)


@pytest.mark.parametrize(
    ("kind", "seats", "present", "quorate"),
    [
        pytest.param(COUNCIL, 43, 29, True, id="R-QUORUM-1 council 2/3 of 43: 29 present is quorate"),
        pytest.param(COUNCIL, 43, 28, False, id="R-QUORUM-1 council 2/3 of 43: 28 present is not"),
        pytest.param(COUNCIL, 51, 34, True, id="R-QUORUM-1 council 2/3 of 51: 34 present is quorate"),
        pytest.param(COUNCIL, 51, 33, False, id="R-QUORUM-1 council 2/3 of 51: 33 present is not"),
        pytest.param(COUNCIL, 59, 40, True, id="R-QUORUM-1 council 2/3 of 59: 40 present is quorate"),
        pytest.param(COUNCIL, 59, 39, False, id="R-QUORUM-1 council 2/3 of 59: 39 present is not"),
        pytest.param(COUNCIL, 67, 45, True, id="R-QUORUM-1 council 2/3 of 67: 45 present is quorate"),
        pytest.param(COUNCIL, 67, 44, False, id="R-QUORUM-1 council 2/3 of 67: 44 present is not"),
        pytest.param(COUNCIL, 79, 53, True, id="R-QUORUM-1 council 2/3 of 79: 53 present is quorate"),
        pytest.param(COUNCIL, 79, 52, False, id="R-QUORUM-1 council 2/3 of 79: 52 present is not"),
        pytest.param(COUNCIL, 51, 51, True, id="R-QUORUM-1 council: everyone present"),
        pytest.param(EXECUTIVE, 9, 5, True, id="R-QUORUM-1 executive over half of 9: 5 present is quorate"),
        pytest.param(EXECUTIVE, 9, 4, False, id="R-QUORUM-1 executive over half of 9: 4 present is not"),
        pytest.param(EXECUTIVE, 11, 6, True, id="R-QUORUM-1 executive over half of 11: 6 present is quorate"),
        pytest.param(EXECUTIVE, 11, 5, False, id="R-QUORUM-1 executive over half of 11: 5 present is not"),
        pytest.param(COMMITTEE, 7, 4, True, id="R-QUORUM-1 committee over half of 7: 4 present is quorate"),
        pytest.param(COMMITTEE, 7, 3, False, id="R-QUORUM-1 committee over half of 7: 3 present is not"),
        pytest.param(COMMITTEE, 9, 5, True, id="R-QUORUM-1 committee over half of 9: 5 present is quorate"),
        pytest.param(COMMITTEE, 9, 4, False, id="R-QUORUM-1 committee over half of 9: 4 present is not"),
        pytest.param(COMMITTEE, 13, 7, True, id="R-QUORUM-1 committee over half of 13: 7 present is quorate"),
        pytest.param(COMMITTEE, 13, 6, False, id="R-QUORUM-1 committee over half of 13: 6 present is not"),
        pytest.param(COMMITTEE, 8, 5, True, id="R-QUORUM-1 committee of 8: 5 is more than half"),
        pytest.param(COMMITTEE, 8, 4, False, id="R-QUORUM-1 committee of 8: exactly half is not enough"),
        pytest.param(BodyKind.SUBCOMMITTEE, 5, 3, True, id="R-BASE-3 a sub-committee follows the same rule"),
        pytest.param(BodyKind.OTHER, 5, 2, False, id="R-QUORUM-1 any other body: 2 of 5 is not over half"),
    ],
)
def test_thresholds(kind: BodyKind, seats: int, present: int, quorate: bool) -> None:
    answer = quorum(kind, seats, seating(seats, first(present)))
    assert answer.quorate is quorate
    assert len(answer.counted) == present
    assert answer.shortfall == max(0, answer.needed - present)


@pytest.mark.parametrize(
    ("kind", "seats", "facts", "count", "quorate"),
    [
        pytest.param(
            COMMITTEE,
            7,
            seating(7, first(4), disqualified={4}),
            3,
            False,
            id="R-QUORUM-3 R-DISQ-3 committee 7: 4 present but one disqualified in the item is not quorate",
        ),
        pytest.param(
            COMMITTEE,
            7,
            seating(7, [1, 2, 3, 104], holders={4: 104}),
            4,
            True,
            id="R-DEP-3 R-QUORUM-1 committee 7: a deputy sitting in for a member counts",
        ),
        pytest.param(
            COMMITTEE,
            7,
            seating(7, [1, 2, 3, 104], holders={4: None}),
            3,
            False,
            id="R-DEP-3 committee 7: a deputy present without a seat does not count",
        ),
        pytest.param(
            COMMITTEE,
            7,
            seating(7, [1, 2, 3, 4, 104], holders={4: 104}),
            4,
            True,
            id="R-DEP-3 committee 7: the member waiting for the next item does not count beside the deputy",
        ),
        pytest.param(
            EXECUTIVE,
            9,
            seating(9, first(5), disconnected={5}),
            4,
            False,
            id="R-EMEET-8 executive 9: a member whose connection dropped does not count",
        ),
        pytest.param(
            EXECUTIVE,
            9,
            seating(9, first(6), disconnected={6}),
            5,
            True,
            id="R-EMEET-3 R-EMEET-8 executive 9: five connected of six joined still have quorum",
        ),
        pytest.param(
            COUNCIL,
            43,
            seating(41, first(29)),
            29,
            True,
            id="R-QUORUM-1 council 43 with two seats unfilled: 29 present is still quorate",
        ),
        pytest.param(
            COUNCIL,
            43,
            seating(41, first(28)),
            28,
            False,
            id="R-QUORUM-1 council 43 with two seats unfilled: 2/3 of 43, not of 41, is needed",
        ),
        pytest.param(
            COUNCIL,
            43,
            seating(43, [*first(28), 201], holders={29: 201}),
            29,
            True,
            id="R-DEP-1 R-QUORUM-1 council 43: a deputy councillor in a seat makes the 29th",
        ),
        pytest.param(
            COMMITTEE,
            7,
            seating(7, [1, 2, 3, 4], holders={5: 4}),
            4,
            True,
            id="R-QUORUM-1 committee 7: a person named in two seats counts once",
        ),
        pytest.param(
            COMMITTEE,
            7,
            seating(7, [1, 2, 3, 105], holders={5: 105}, disqualified={105}),
            3,
            False,
            id="R-DISQ-3 committee 7: a disqualified deputy does not count either",
        ),
        pytest.param(
            COMMITTEE,
            7,
            seating(7, [1, 2, 3, 5]),
            4,
            True,
            id="R-QUORUM-1 committee 7: who is present does not matter, only how many seats count",
        ),
    ],
)
def test_who_counts(kind: BodyKind, seats: int, facts: Seating, count: int, quorate: bool) -> None:
    answer = quorum(kind, seats, facts)
    assert len(answer.counted) == count
    assert answer.quorate is quorate


def test_the_answer_names_who_is_missing_disqualified_and_disconnected() -> None:
    """R-QUORUM-3: the chair is told why; a seat without a holder names its member (R-DISQ-3, R-EMEET-8)."""
    facts = seating(7, [1, 2, 3, 6, 107], holders={4: None, 7: 107}, disqualified={3}, disconnected={2})
    answer = quorum(COMMITTEE, 7, facts)
    assert answer.counted == {1, 6, 107}
    assert answer.needed == 4
    assert answer.shortfall == 1
    assert not answer.quorate
    assert answer.gaps == (
        SeatGap(2, 2, Gap.DISCONNECTED),
        SeatGap(3, 3, Gap.DISQUALIFIED),
        SeatGap(4, 4, Gap.ABSENT),
        SeatGap(5, 5, Gap.ABSENT),
    )
    assert (answer.missing, answer.disqualified, answer.disconnected) == ((4, 5), (3,), (2,))
    assert answer.unfilled == 0


def test_a_holder_who_left_is_named_rather_than_the_member() -> None:
    """R-DEP-3: the deputy holding the seat is the one missing from it."""
    answer = quorum(COMMITTEE, 7, seating(7, first(3), holders={4: 104}))
    assert SeatGap(4, 104, Gap.ABSENT) in answer.gaps


def test_unfilled_seats_are_counted_against_the_statutory_number() -> None:
    answer = quorum(COUNCIL, 43, seating(40, first(40)))
    assert (answer.unfilled, answer.needed, answer.quorate) == (3, 29, True)


kinds = st.sampled_from(list(BodyKind))


@settings(deadline=None)  # a slow CI machine must not fail a correct example
@given(kinds, st.integers(min_value=1, max_value=200), st.data())
def test_needed_is_the_formula_of_r_quorum_1(kind: BodyKind, seats: int, data: st.DataObject) -> None:
    """R-QUORUM-1: council `present*3 >= seats*2`, others `present*2 > seats`, at every count."""
    present = data.draw(st.integers(min_value=0, max_value=seats))
    formula = present * 3 >= seats * 2 if kind == COUNCIL else present * 2 > seats
    assert (present >= needed(kind, seats)) is formula


@st.composite
def attendance(draw: st.DrawFn) -> tuple[BodyKind, int, Seating, int]:
    seats = draw(st.integers(min_value=1, max_value=25))
    people = st.integers(min_value=1, max_value=seats + 5)
    holders = draw(st.dictionaries(st.integers(1, seats), st.none() | people))
    facts = seating(
        seats,
        draw(st.frozensets(people)),
        holders=holders,
        disqualified=draw(st.frozensets(people, max_size=3)),
        disconnected=draw(st.frozensets(people, max_size=3)),
    )
    return draw(kinds), seats, facts, draw(people)


@settings(deadline=None)  # a slow CI machine must not fail a correct example
@given(attendance())
def test_quorum_is_monotone_in_presence(case: tuple[BodyKind, int, Seating, int]) -> None:
    """Someone more arriving never loses quorum nor lowers the count (R-QUORUM-1)."""
    kind, seats, facts, arriving = case
    before = quorum(kind, seats, facts)
    after = quorum(
        kind, seats, Seating(facts.seats, facts.present | {arriving}, facts.disconnected, facts.disqualified)
    )
    assert before.counted <= after.counted
    assert after.quorate or not before.quorate
