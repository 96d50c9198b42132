"""Elections (vaali): who is elected, who becomes a deputy, and ties decided by a reproducible lot.

R-ELECT-1 (the most votes are elected), R-ELECT-2 (how many members may demand a proportional election),
R-ELECT-3 (non-personal deputies are the next highest), R-ELECT-4 and R-ELECT-5 (comparison numbers within
lists, equal votes or comparison numbers ordered by lot), R-ELECT-6 (a majority ballot names at most as many
candidates as there are seats). The lot is a pure function of a seed the chair's action draws and records,
so anyone holding the audit entry can draw it again and get the same order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from meetings.rules.call import Problem

MAX_SEATS = 99
MAX_CANDIDATES = 200


class Method(StrEnum):
    MAJORITY = "majority"  # enemmistövaali (R-ELECT-1)
    PROPORTIONAL = "proportional"  # suhteellinen vaali (R-ELECT-2, R-ELECT-5)


class Place(StrEnum):
    ELECTED = "elected"
    DEPUTY = "deputy"  # a non-personal deputy, the next highest (R-ELECT-3)
    NOT_ELECTED = "not_elected"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A nominated candidate; in a proportional election on list `list_no` at `position` (1 first)."""

    id: int
    list_no: int | None = None
    position: int = 0


@dataclass(frozen=True, slots=True)
class Ranked:
    candidate: int
    votes: int  # a majority election: the candidate's votes; proportional: the list's total
    comparison: Fraction | None  # proportional only (R-ELECT-5)
    place: Place


@dataclass(frozen=True, slots=True)
class Outcome:
    """Every candidate from first to last, and the tie groups whose order the lot decided a place in."""

    ranking: tuple[Ranked, ...]
    by_lot: tuple[tuple[int, ...], ...]

    @property
    def elected(self) -> tuple[int, ...]:
        return tuple(r.candidate for r in self.ranking if r.place == Place.ELECTED)

    @property
    def deputies(self) -> tuple[int, ...]:
        return tuple(r.candidate for r in self.ranking if r.place == Place.DEPUTY)


def proportional_threshold(present: int, seats: int) -> int:
    """How many of the members present must demand it for the election to be proportional (R-ELECT-2):
    ceil(present / (seats + 1)), in whole numbers so that 27 present and 9 seats give exactly 3."""
    return -(-present // (seats + 1))


def proportional_demanded(demanders: int, present: int, seats: int) -> bool:
    return demanders >= proportional_threshold(present, seats)


def lot_order(seed: str, tied: Sequence[int]) -> tuple[int, ...]:
    """The lot (R-ELECT-4, R-ELECT-5): `tied` in the order drawn from `seed`. Each candidate's ticket is
    SHA-256 of the seed and its id: the same draw whoever repeats it, whatever order `tied` is in."""

    def ticket(candidate: int) -> bytes:
        return hashlib.sha256(f"{seed}:{candidate}".encode()).digest()

    return tuple(sorted(tied, key=ticket))


def ballot_problems(choice: Sequence[int], candidates: Sequence[Candidate], seats: int) -> list[Problem]:
    """What is wrong with a majority ballot naming `choice` (empty: a blank ballot). R-ELECT-6."""
    problems = []
    known = {c.id for c in candidates}
    if len(set(choice)) != len(choice):
        problems.append(Problem("twice", "R-ELECT-6", "A ballot names each candidate at most once."))
    if len(set(choice)) > seats:
        problems.append(
            Problem(
                "too_many",
                "R-ELECT-6",
                "A ballot names at most {seats} candidates: as many as there are seats.",
                params={"seats": str(seats)},
            )
        )
    if not set(choice) <= known:
        problems.append(Problem("unknown", "R-ELECT-1", "A ballot names only the nominated candidates."))
    return problems


def majority_result(
    candidates: Sequence[Candidate], votes: Mapping[int, int], *, seats: int, deputies: int, seed: str
) -> Outcome:
    """R-ELECT-1: the `seats` with the most votes are elected, the next `deputies` are deputies (R-ELECT-3);
    equal votes are ordered by lot (R-ELECT-4). Nobody is elected without a vote [INTERP]."""
    scores = {c.id: Fraction(votes.get(c.id, 0)) for c in candidates}
    return _outcome(scores, {c.id: votes.get(c.id, 0) for c in candidates}, seats, deputies, seed, False)


def comparison_numbers(candidates: Sequence[Candidate], list_votes: Mapping[int, int]) -> dict[int, Fraction]:
    """R-ELECT-5: the first of a list gets the list's votes, the second half of them, the third a third …,
    in the order the list gives (the hallintosääntö model), as exact fractions."""
    return {
        c.id: Fraction(list_votes.get(c.list_no or 0, 0), c.position)
        for c in candidates
        if c.list_no is not None and c.position > 0
    }


def proportional_result(
    candidates: Sequence[Candidate], list_votes: Mapping[int, int], *, seats: int, deputies: int, seed: str
) -> Outcome:
    """R-ELECT-5: candidates sorted by comparison number, the top `seats` elected and the next `deputies`
    deputies (R-ELECT-3); equal comparison numbers ordered by lot. A list without votes elects nobody."""
    scores = comparison_numbers(candidates, list_votes)
    totals = {c.id: list_votes.get(c.list_no or 0, 0) for c in candidates}
    return _outcome(scores, totals, seats, deputies, seed, True)


def _outcome(
    scores: Mapping[int, Fraction],
    votes: Mapping[int, int],
    seats: int,
    deputies: int,
    seed: str,
    proportional: bool,
) -> Outcome:
    groups = _tie_groups(scores, seed)
    order = [c for group in groups for c in group]
    places = _places(order, scores, seats, deputies)
    by_lot = tuple(tuple(g) for g in groups if len(g) > 1 and len({places[c] for c in g}) > 1)
    ranking = tuple(Ranked(c, votes[c], scores[c] if proportional else None, places[c]) for c in order)
    return Outcome(ranking, by_lot)


def _tie_groups(scores: Mapping[int, Fraction], seed: str) -> list[tuple[int, ...]]:
    """Candidates grouped by equal score, highest first; each group in the lot's order."""
    levels = sorted(set(scores.values()), reverse=True)
    return [lot_order(seed, sorted(c for c, s in scores.items() if s == level)) for level in levels]


def _places(order: list[int], scores: Mapping[int, Fraction], seats: int, deputies: int) -> dict[int, Place]:
    places = {}
    for rank, candidate in enumerate(order):
        if scores[candidate] <= 0 or rank >= seats + deputies:
            places[candidate] = Place.NOT_ELECTED
        else:
            places[candidate] = Place.ELECTED if rank < seats else Place.DEPUTY
    return places
