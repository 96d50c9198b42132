"""The content of a body's minutes (R-MIN-2, R-MIN-3): frozen facts that drafting fills and rendering reads.

Everything a lawful minutes document must say is a field here; nothing here is computed from a database or a
clock. People are named once in `MinutesDocument.people` and referred to by their id everywhere else, so a
name is corrected, and removed from a public copy (R-PUB-4), in one place. Enumerations shared with the live
meeting (proposal kinds, choices, dissent grounds, checking methods) are the meeting rules' own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from meetings.models import BodyKind, CheckingMethod, MeetingMode
from meetings.rules.dissent import Ground
from meetings.rules.voting import Choice, ProposalKind
from minutes.rules.appeal import InstructionKind

SCHEMA = "kokous-minutes/1"


class Capacity(StrEnum):
    """In what capacity someone was at the meeting (R-MIN-2 "who was present and in what capacity")."""

    MEMBER = "member"
    DEPUTY = "deputy"  # sits for `Participant.deputy_for` (R-DEP-1, R-DEP-2)
    PRESENTER = "presenter"  # esittelijä
    SECRETARY = "secretary"  # pöytäkirjanpitäjä
    ATTENDEE = "attendee"  # right to attend and speak, no vote
    EXPERT = "expert"  # heard in one or more items


class AttendanceChange(StrEnum):
    """A change of presence during the meeting, recorded with time and item (R-MIN-3)."""

    ARRIVED = "arrived"
    LEFT = "left"
    DISCONNECTED = "disconnected"  # media lost in an electronic meeting (R-EMEET-8)
    RECONNECTED = "reconnected"
    IDENTIFIED = "identified"  # recognised in the picture at a roll call (R-EMEET-1(1), R-EMEET-9)
    NOT_IDENTIFIED = "not_identified"


class Connection(StrEnum):
    ON_SITE = "on_site"
    REMOTE = "remote"  # took part through the electronic meeting (R-EMEET-*)


class VotingMethod(StrEnum):
    ELECTRONIC = "electronic"
    ROLL_CALL = "roll_call"  # nimenhuutoäänestys
    SHOW_OF_HANDS = "show_of_hands"


class ElectionMethod(StrEnum):
    MAJORITY = "majority"  # enemmistövaali (R-ELECT-1)
    PROPORTIONAL = "proportional"  # suhteellinen vaali (R-ELECT-2, R-ELECT-5)


class Resolution(StrEnum):
    """How a decision was reached (the resolution kinds of Finnish open decision data, domain.md §6)."""

    AS_PROPOSED = "as_proposed"  # unanimously as the presenter proposed (R-PROP-3)
    AFTER_VOTE = "after_vote"
    REVISED_BY_PRESENTER = "revised_by_presenter"  # R-PROP-6
    MODIFIED = "modified"  # unanimously, as modified in the meeting
    REJECTED = "rejected"
    NOTED = "noted"
    RETURNED = "returned"  # palautettiin valmisteltavaksi (R-PROP-4)
    TABLED = "tabled"  # pantiin pöydälle (R-PROP-4)
    REMOVED = "removed"
    ELECTION = "election"
    DECISION_PROCEDURE = "decision_procedure"  # made in the electronic decision procedure (R-EDP-3)


class Publicity(StrEnum):
    PUBLIC = "public"
    PARTLY_CONFIDENTIAL = "partly_confidential"  # the public part is published (JulkL 10 §, R-PUB-2)
    CONFIDENTIAL = "confidential"  # only a mention is published (KL 140 §, R-PUB-2)


class CopyKind(StrEnum):
    AUTHORITATIVE = "authoritative"  # the signed record, kept unredacted (R-PUB-4)
    PUBLIC = "public"  # what the public network shows (R-PUB-1 … R-PUB-4)


class SignerRole(StrEnum):
    CHAIR = "chair"  # allekirjoitus (R-CHECK-1)
    SECRETARY = "secretary"  # varmennus


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    title: str = ""  # e.g. "kunnanjohtaja" or the party group, as the body's minutes usually show it


@dataclass(frozen=True, slots=True)
class Participant:
    """Someone called to the meeting, present or not (R-MIN-2)."""

    person: str
    capacity: Capacity
    present: bool
    chair: bool = False  # who chaired; with `vice_chair`, the chair's role is not a capacity of its own
    vice_chair: bool = False
    deputy_for: str | None = None  # the member a deputy sits for
    connection: Connection | None = None  # how a present person took part
    note: str = ""  # "poistui 15.10 § 5 aikana" is an AttendanceEvent; this is e.g. "estynyt"


@dataclass(frozen=True, slots=True)
class AttendanceEvent:
    """An arrival, departure or lost connection, with its time and the item under way (R-MIN-3)."""

    person: str
    change: AttendanceChange
    at: datetime
    section: int | None = None  # the § being handled, None between items


@dataclass(frozen=True, slots=True)
class Interruption:
    started_at: datetime
    ended_at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Convening:
    """The chair's declaration of lawful convening and quorum (R-QUORUM-2), with the facts behind it."""

    call_sent_at: datetime
    lawful: bool
    quorate: bool
    seats: int
    members_present: int
    statement: str = ""  # the wording of the declaration, when it is more than the usual one


@dataclass(frozen=True, slots=True)
class Checking:
    """How the minutes are checked (R-CHECK-1 … R-CHECK-3, R-CHECK-5) and the note that they were."""

    method: CheckingMethod
    checkers: tuple[str, ...] = ()
    checked_on: date | None = None  # None until checked
    note: str = ""  # e.g. "Pöytäkirja on tarkastettu ja hyväksytty."
    decision_procedure_checked_on: date | None = None  # R-CHECK-5: checked before the meeting
    decision_procedure_sections: tuple[
        int, ...
    ] = ()  # the §s so checked: the checkers do not check them again


@dataclass(frozen=True, slots=True)
class Meeting:
    """The organisation data (R-MIN-2)."""

    municipality: str
    body: str
    body_kind: BodyKind
    number: int  # the meeting's number in the year
    year: int
    mode: MeetingMode
    started_at: datetime
    ended_at: datetime
    venue: str
    convening: Convening
    checking: Checking
    body_sv: str = ""
    interruptions: tuple[Interruption, ...] = ()
    participants: tuple[Participant, ...] = ()
    attendance: tuple[AttendanceEvent, ...] = ()
    sections: tuple[int, int] = (0, 0)  # the first and last § of these minutes


@dataclass(frozen=True, slots=True)
class Confidentiality:
    """Why (part of) an item is confidential; its legal basis is always recorded (R-MIN-3, R-PUB-2)."""

    publicity: Publicity
    legal_basis: str = ""  # e.g. "JulkL 24 § 1 mom. 25 k."
    public_description: str = ""  # partly confidential: what the public copy shows instead of the description


@dataclass(frozen=True, slots=True)
class Disqualification:
    """A disqualified person and the grounds (R-DISQ-5), who left while the item was handled (R-DISQ-3)."""

    person: str
    grounds: str
    provision: str = ""  # e.g. "HL 28 § 1 mom. 2 k."


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposal made in the meeting, with who made and who seconded it (R-PROP-2, R-VOTE-1)."""

    key: str  # short label used by votes, e.g. "A" or "base"
    kind: ProposalKind
    text: str
    proposer: str | None = None  # the base proposal is the presenter's
    seconders: tuple[str, ...] = ()
    withdrawn: bool = False

    @property
    def seconded(self) -> bool:
        return bool(self.seconders)

    @property
    def standing(self) -> bool:
        """R-PROP-2: the base always goes to the vote; any other proposal only when seconded."""
        return not self.withdrawn and (self.kind == ProposalKind.BASE or self.seconded)


@dataclass(frozen=True, slots=True)
class Stance:
    person: str
    choice: Choice


@dataclass(frozen=True, slots=True)
class Vote:
    """One vote (R-VOTE-1, R-VOTE-3): method, place in the order, proposition and every member's stance."""

    order: int  # 1, 2 … within the item
    method: VotingMethod
    proposition: str  # e.g. "Jaa: esittelijän ehdotus, ei: Virtasen vastaehdotus"
    yes_for: str  # the key of the proposal "jaa" stands for
    no_for: str  # the key of the proposal (or the alternative, e.g. "continue") "ei" stands for
    stances: tuple[Stance, ...]
    winner: str  # a proposal key or the alternative
    tie_decided_by_chair: bool = False  # R-VOTE-2

    def count(self, choice: Choice) -> int:
        return sum(1 for s in self.stances if s.choice == choice)


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    votes: int
    comparison_number: str = ""  # proportional elections (R-ELECT-5), as an exact fraction "12/3"
    elected: bool = False
    deputy_for: str = ""  # personal deputies are elected with their member (R-ELECT-3)
    deputy: bool = False  # a non-personal deputy: the next highest (R-ELECT-3)


@dataclass(frozen=True, slots=True)
class Election:
    """An election (R-ELECT-*): method, whether by secret ballot, and its result; never who voted how."""

    title: str
    method: ElectionMethod
    secret_ballot: bool
    seats: int
    candidates: tuple[Candidate, ...]
    ballots_cast: int
    drawn_by_lot: bool = False  # R-ELECT-4
    blank: int = 0  # blank ballots among those cast
    lot_seed: str = ""  # the seed the lot was drawn from, as audited (meetings.rules.elections.lot_order)


@dataclass(frozen=True, slots=True)
class Statement:
    """A person heard in the item (R-MIN-2 "statements by persons heard")."""

    person: str
    summary: str
    at: datetime | None = None  # when they were heard


@dataclass(frozen=True, slots=True)
class Dissent:
    """A dissenting opinion announced after the decision (R-DISSENT-1), with its written reasons if any."""

    person: str
    ground: Ground
    reasons: str = ""


@dataclass(frozen=True, slots=True)
class Instruction:
    """The rectification or appeal instructions, or the appeal ban, an item carries (R-RECT-5, KL 141 §)."""

    kind: InstructionKind
    provision: str  # the law that gives or bars the remedy
    authority: str = ""  # to whom the claim or appeal goes
    address: str = ""
    notified_on: date | None = None  # members of the municipality: publication + 7 days (R-PUB-5)
    last_day: date | None = None  # R-RECT-3, R-RECT-4; None for an appeal ban


@dataclass(frozen=True, slots=True)
class Item:
    """One § of the minutes (R-MIN-2 item data, R-MIN-3)."""

    section: int  # the §, numbered through the year
    title: str
    presenter: str | None
    description: str
    base_proposal: str
    decision: str
    resolution: Resolution
    instruction: Instruction
    decided_in_procedure: bool = False  # R-EDP-3 step 5: the minutes say which decisions were made in ESPM
    confidentiality: Confidentiality = Confidentiality(Publicity.PUBLIC)
    disqualifications: tuple[Disqualification, ...] = ()
    proposals: tuple[Proposal, ...] = ()
    votes: tuple[Vote, ...] = ()
    elections: tuple[Election, ...] = ()
    statements: tuple[Statement, ...] = ()
    dissents: tuple[Dissent, ...] = ()
    personal_data: bool = False  # the texts name private persons: removed when the period ends (R-PUB-4)
    depersonalised: str = ""  # what the public copy says instead, once personal data is removed
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PublicDisplay:
    """When and where the checked minutes are placed in the public network (R-PUB-1, R-PUB-5)."""

    published_at: datetime
    url: str = ""


@dataclass(frozen=True, slots=True)
class Legality:
    """The legality data (R-MIN-2): who signs, the checking note and the public display note.

    The signatures themselves are not content: they are made over this content (PAdES in the PDF, JWS
    beside the JSON) and would change it if they were inside.
    """

    chair: str
    secretary: str
    public_display: PublicDisplay | None = None


@dataclass(frozen=True, slots=True)
class Redaction:
    """What was taken out of a public copy, so that a reader sees that something was (R-PUB-2, R-PUB-4)."""

    made_at: datetime
    personal_data_removed: bool


@dataclass(frozen=True, slots=True)
class MinutesDocument:
    """A version of a meeting's minutes. Every correction is a new version (DESIGN.md §8)."""

    meeting: Meeting
    people: tuple[Person, ...]
    items: tuple[Item, ...]
    legality: Legality
    version: int = 1
    language: str = "fi"
    copy: CopyKind = CopyKind.AUTHORITATIVE
    redaction: Redaction | None = None
    schema: str = field(default=SCHEMA)

    def person(self, person_id: str) -> Person:
        for person in self.people:
            if person.id == person_id:
                return person
        raise KeyError(f"minutes name no person {person_id!r}")

    @property
    def modes(self) -> tuple[str, ...]:
        """The decision modes used (R-MIN-2): the meeting's, and the procedure's when an item used it."""
        modes = [self.meeting.mode.value]
        if any(item.decided_in_procedure for item in self.items):
            modes.append(Resolution.DECISION_PROCEDURE.value)
        return tuple(modes)
