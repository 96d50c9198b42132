"""Who holds each seat of a body during a live meeting: its member, or a deputy sitting in for them.

R-DEP-1 (council: the group's deputies in election order), R-DEP-2 (personal deputies), R-DEP-3 (one
holder per seat; a returning member takes the seat back at the start of the next item), R-DISQ-3 (a
disqualified person leaves the seat for the item), R-EMEET-8 (a disconnection makes the holder absent but
does not give the seat away). Pure: a roster, the seating and one attendance event in; the new seating and
the changes to record out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from meetings.models import BodyKind


@dataclass(frozen=True, slots=True)
class Member:
    """A seat's member. Executive and committees name a personal deputy; the council a group (R-DEP-1/2)."""

    person: int
    deputy: int | None = None
    group: str = ""  # valtuustoryhmä or joint list


@dataclass(frozen=True, slots=True)
class GroupDeputies:
    group: str
    persons: tuple[int, ...]  # in the order of their election result (R-DEP-1)


@dataclass(frozen=True, slots=True)
class Roster:
    """Who may sit: the body's members and deputies and whether deputies sit for a disqualified member.

    `deputy_for_disqualified` is the administrative rules' choice for personal deputies (R-DEP-2, [MEMORY]);
    R-DEP-1 has council deputies called in for a disqualified councillor, so pass True for the council.
    """

    kind: BodyKind
    members: tuple[Member, ...]
    group_deputies: tuple[GroupDeputies, ...] = ()
    deputy_for_disqualified: bool = True


@dataclass(frozen=True, slots=True)
class Seat:
    member: int
    holder: int | None = None  # None: nobody sits in it now


@dataclass(frozen=True, slots=True)
class Seating:
    """The seats in roster order and the attendance facts they follow, for the item being handled."""

    seats: tuple[Seat, ...]
    present: frozenset[int] = frozenset()  # in the room or connected (R-EMEET-3)
    disconnected: frozenset[int] = frozenset()  # joined electronically, connection lost (R-EMEET-8)
    disqualified: frozenset[int] = frozenset()  # in the current item (R-DISQ-3)


class Cover(StrEnum):
    """Why a seat is held as it is, for the minutes (R-DEP-3, R-MIN-3)."""

    MEMBER = "member"
    PREVENTED = "prevented"  # a deputy sits: the member is not here
    DISQUALIFIED = "disqualified"  # a deputy sits: the member is disqualified in this item
    VACANT = "vacant"


@dataclass(frozen=True, slots=True)
class SeatChange:
    member: int
    left: int | None
    took: int | None
    cover: Cover


@dataclass(frozen=True, slots=True)
class Arrival:
    person: int


@dataclass(frozen=True, slots=True)
class Departure:
    person: int


@dataclass(frozen=True, slots=True)
class Disconnection:
    person: int


@dataclass(frozen=True, slots=True)
class Reconnection:
    person: int


@dataclass(frozen=True, slots=True)
class Disqualification:
    """Someone is found disqualified during the current item (declared or decided, R-DISQ-4/5)."""

    person: int


@dataclass(frozen=True, slots=True)
class ItemChange:
    """The next item starts; `disqualified` are those disqualified in it."""

    disqualified: frozenset[int] = frozenset()


Event = Arrival | Departure | Disconnection | Reconnection | Disqualification | ItemChange


@dataclass(frozen=True, slots=True)
class Reseating:
    seating: Seating
    changes: tuple[SeatChange, ...]


def empty_seating(roster: Roster) -> Seating:
    """Before anyone has arrived: every member's seat, nobody in it."""
    return Seating(tuple(Seat(member.person) for member in roster.members))


def reseat(roster: Roster, seating: Seating, event: Event) -> Reseating:
    """Apply one attendance event. Seats freed by it are filled at once; a member whose deputy sits waits for
    the next item (R-DEP-3). A disconnection moves no seat: the holder counts as absent until they reconnect
    (R-EMEET-8, quorum.py); only a recorded departure lets a deputy in."""
    facts = _record(seating, event)
    return _reconcile(roster, facts, item_start=isinstance(event, ItemChange))


def _record(seating: Seating, event: Event) -> Seating:
    match event:
        case Arrival(person) | Reconnection(person):
            return replace(
                seating, present=seating.present | {person}, disconnected=seating.disconnected - {person}
            )
        case Departure(person):
            return replace(
                seating, present=seating.present - {person}, disconnected=seating.disconnected - {person}
            )
        case Disconnection(person):
            return replace(seating, disconnected=seating.disconnected | {person})
        case Disqualification(person):
            return replace(seating, disqualified=seating.disqualified | {person})
        case ItemChange(disqualified):
            return replace(seating, disqualified=disqualified)


def cover(seat: Seat, seating: Seating) -> Cover:
    if seat.holder is None:
        return Cover.VACANT
    if seat.holder == seat.member:
        return Cover.MEMBER
    if seat.member in seating.present and seat.member in seating.disqualified:
        return Cover.DISQUALIFIED
    return Cover.PREVENTED


def waiting(seating: Seating) -> tuple[int, ...]:
    """Members here and able to sit whose deputy holds their seat until the next item starts (R-DEP-3)."""
    return tuple(
        seat.member
        for seat in seating.seats
        if seat.holder not in (None, seat.member) and _can_sit(seat.member, seating)
    )


def _can_sit(person: int, facts: Seating) -> bool:
    return person in facts.present and person not in facts.disconnected and person not in facts.disqualified


def _keeps(seat: Seat, facts: Seating, *, item_start: bool) -> bool:
    holder = seat.holder
    if holder is None or holder not in facts.present or holder in facts.disqualified:
        return False
    returning = holder != seat.member and item_start and _can_sit(seat.member, facts)
    return not returning


def _reconcile(roster: Roster, facts: Seating, *, item_start: bool) -> Reseating:
    kept = [seat if _keeps(seat, facts, item_start=item_start) else Seat(seat.member) for seat in facts.seats]
    seated = {seat.holder for seat in kept if seat.holder is not None}
    for index, seat in enumerate(kept):
        if seat.holder is None and seat.member not in seated and _can_sit(seat.member, facts):
            kept[index] = Seat(seat.member, seat.member)
            seated.add(seat.member)
    members = {member.person: member for member in roster.members}
    for index, seat in enumerate(kept):
        if seat.holder is None:
            deputy = _deputy(roster, members[seat.member], facts, seated)
            if deputy is not None:
                kept[index] = Seat(seat.member, deputy)
                seated.add(deputy)
    new = replace(facts, seats=tuple(kept))
    return Reseating(new, _changes(facts.seats, new))


def _deputy(roster: Roster, member: Member, facts: Seating, seated: set[int]) -> int | None:
    """The deputy who takes an empty seat now, if one may and can (R-DEP-1, R-DEP-2)."""
    person = member.person
    prevented = person not in facts.present
    if not (prevented or (person in facts.disqualified and roster.deputy_for_disqualified)):
        return None  # a member who is here and lost the connection is waited for (R-EMEET-8)
    for deputy in _candidates(roster, member):
        if deputy not in seated and _can_sit(deputy, facts):
            return deputy
    return None


def _candidates(roster: Roster, member: Member) -> tuple[int, ...]:
    if roster.kind != BodyKind.COUNCIL:
        return () if member.deputy is None else (member.deputy,)
    for deputies in roster.group_deputies:
        if member.group and deputies.group == member.group:
            return deputies.persons
    return ()


def _changes(before: tuple[Seat, ...], after: Seating) -> tuple[SeatChange, ...]:
    return tuple(
        SeatChange(new.member, old.holder, new.holder, cover(new, after))
        for old, new in zip(before, after.seats, strict=True)
        if old.holder != new.holder
    )
