"""Whether a body is quorate right now, who counts, and why not when it is not.

R-QUORUM-1 (council: two thirds of the statutory seats; other bodies: more than half), R-QUORUM-3 (quorum
holds for every item), R-EMEET-3 (electronic participants count as present), R-EMEET-8 (a lost connection
is an absence), R-DISQ-3 (a disqualified person does not count), R-DEP-3 (a deputy counts only while
holding a seat).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from meetings.models import BodyKind
from meetings.rules.seats import Seat, Seating


class Gap(StrEnum):
    """Why a seat does not count."""

    ABSENT = "absent"  # nobody here sits in it
    DISQUALIFIED = "disqualified"  # R-DISQ-3
    DISCONNECTED = "disconnected"  # R-EMEET-8


@dataclass(frozen=True, slots=True)
class SeatGap:
    member: int  # whose seat it is
    person: int  # who is missing from it: its holder, or the member when nobody sits in it
    gap: Gap


@dataclass(frozen=True, slots=True)
class Quorum:
    """The answer a page can say: `counted` of `seats` count, `needed` are needed, and the gaps."""

    kind: BodyKind
    seats: int  # the statutory seat count, filled or not
    needed: int
    counted: frozenset[int]  # the seat holders who count; also who may vote in the item (R-DISQ-3)
    gaps: tuple[SeatGap, ...]  # the seats with a member that do not count, in roster order
    unfilled: int  # statutory seats without a member at all

    @property
    def quorate(self) -> bool:
        return len(self.counted) >= self.needed

    @property
    def shortfall(self) -> int:
        return max(0, self.needed - len(self.counted))

    @property
    def missing(self) -> tuple[int, ...]:
        return self._people(Gap.ABSENT)

    @property
    def disqualified(self) -> tuple[int, ...]:
        return self._people(Gap.DISQUALIFIED)

    @property
    def disconnected(self) -> tuple[int, ...]:
        return self._people(Gap.DISCONNECTED)

    def _people(self, gap: Gap) -> tuple[int, ...]:
        return tuple(seat_gap.person for seat_gap in self.gaps if seat_gap.gap == gap)


def needed(kind: BodyKind, seats: int) -> int:
    """How many must count (R-QUORUM-1): council `present*3 >= seats*2`, others `present*2 > seats`."""
    if kind == BodyKind.COUNCIL:
        return -(-2 * seats // 3)
    return seats // 2 + 1


def quorum(kind: BodyKind, seats: int, seating: Seating) -> Quorum:
    """Quorum for the item being handled, always against the statutory seat count `seats` (R-QUORUM-1).

    A seat counts when its holder, member or deputy, is present in the room or online, connected and not
    disqualified; a person counts once however many seats name them; a deputy without a seat never counts.
    """
    counted: set[int] = set()
    gaps: list[SeatGap] = []
    for seat in seating.seats:
        gap = _gap(seat, seating)
        if gap is None and seat.holder is not None:
            counted.add(seat.holder)
        elif gap is not None:
            gaps.append(SeatGap(seat.member, seat.member if seat.holder is None else seat.holder, gap))
    unfilled = max(0, seats - len(seating.seats))
    return Quorum(kind, seats, needed(kind, seats), frozenset(counted), tuple(gaps), unfilled)


def _gap(seat: Seat, seating: Seating) -> Gap | None:
    person = seat.member if seat.holder is None else seat.holder
    if person in seating.disqualified:
        return Gap.DISQUALIFIED
    if person in seating.present and person in seating.disconnected:
        return Gap.DISCONNECTED
    if seat.holder is None or person not in seating.present:
        return Gap.ABSENT
    return None
