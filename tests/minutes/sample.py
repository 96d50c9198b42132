"""A three-item minutes document of an executive board's electronic meeting, with everything R-MIN-2 asks for:
a tied vote decided by the chair (R-VOTE-2), a dissent (R-DISSENT-1), a disqualification (R-DISQ-5), a wholly
confidential item (R-PUB-2) and an item decided in the electronic decision procedure (R-EDP-3)."""

from __future__ import annotations

from datetime import date, datetime

from core.clock import LOCAL
from meetings.models import BodyKind, CheckingMethod, MeetingMode
from meetings.rules.dissent import Ground
from meetings.rules.voting import Choice, ProposalKind
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
    Meeting,
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
from minutes.instructions import instruction
from minutes.rules.appeal import InstructionKind

AUTHORITY = "Esimerkkilän kunnanhallitus"
ADDRESS = "PL 1, 99999 Esimerkkilä, kirjaamo@esimerkkila.example"
PRIVATE_NAME = "Olli Osallinen"  # a private person heard in § 10: personal data (R-PUB-4)
CONFIDENTIAL_TITLE = "Toimeentulotuen takaisinperinnästä luopuminen"
CONFIDENTIAL_BASIS = "JulkL 24 § 1 mom. 25 k."


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL)


PUBLISHED_AT = local(2026, 11, 30, 10)

PEOPLE = (
    Person("u1", "Paula Puheenjohtaja", "kesk"),
    Person("u2", "Veikko Varapuheenjohtaja", "sd"),
    Person("u3", "Jaana Jäsen", "vihr"),
    Person("u4", "Matti Mäkinen", "kok"),
    Person("u5", "Ville Varajäsen", "kok"),
    Person("u6", "Kaisa Kunnanjohtaja", "kunnanjohtaja"),
    Person("u7", "Sanna Sihteeri", "hallintojohtaja"),
    Person("u8", PRIVATE_NAME, "kuljetusyrittäjä"),
    Person("u9", "Tarja Tarkastaja", "ps"),
)

REMOTE = Connection.REMOTE
PARTICIPANTS = (
    Participant("u1", Capacity.MEMBER, True, chair=True, connection=Connection.ON_SITE),
    Participant("u2", Capacity.MEMBER, True, vice_chair=True, connection=REMOTE),
    Participant("u3", Capacity.MEMBER, True, connection=REMOTE),
    Participant("u5", Capacity.DEPUTY, True, deputy_for="u4", connection=REMOTE),
    Participant("u9", Capacity.MEMBER, True, connection=Connection.ON_SITE),
    Participant("u6", Capacity.PRESENTER, True, connection=Connection.ON_SITE),
    Participant("u7", Capacity.SECRETARY, True, connection=Connection.ON_SITE),
    Participant("u8", Capacity.EXPERT, True, connection=REMOTE, note="kuultavana § 10"),
    Participant("u4", Capacity.MEMBER, False, note="estynyt"),
)

ATTENDANCE = (
    AttendanceEvent("u2", AttendanceChange.DISCONNECTED, local(2026, 11, 24, 17, 40), 10),
    AttendanceEvent("u2", AttendanceChange.RECONNECTED, local(2026, 11, 24, 17, 43), 10),
    AttendanceEvent("u9", AttendanceChange.LEFT, local(2026, 11, 24, 18, 5), 11),
    AttendanceEvent("u9", AttendanceChange.ARRIVED, local(2026, 11, 24, 18, 15), 12),
)

TIED_VOTE = Vote(
    order=1,
    method=VotingMethod.ELECTRONIC,
    proposition="Jaa: esittelijän ehdotus (A), ei: Jaana Jäsenen vastaehdotus (B)",
    yes_for="A",
    no_for="B",
    stances=(
        Stance("u1", Choice.JAA),
        Stance("u9", Choice.JAA),
        Stance("u2", Choice.EI),
        Stance("u3", Choice.EI),
        Stance("u5", Choice.TYHJA),
    ),
    winner="A",
    tie_decided_by_chair=True,
)

RECTIFICATION = instruction(
    InstructionKind.RECTIFICATION, published_at=PUBLISHED_AT, authority=AUTHORITY, address=ADDRESS
)
APPEAL_BAN = instruction(InstructionKind.APPEAL_BAN, published_at=PUBLISHED_AT, provision="KL 136 §")

TRANSPORT = Item(
    section=10,
    title="Koulukuljetusten hankinta lukuvuodelle 2027–2028",
    presenter="u6",
    description=f"Kuljetusyrittäjä {PRIVATE_NAME} on pyytänyt, että reitti 4 jaetaan kahteen osaan.",
    base_proposal="Kunnanhallitus hyväksyy hankinnan ehdot liitteen 1 mukaisesti.",
    decision="Kunnanhallitus hyväksyi hankinnan ehdot liitteen 1 mukaisesti.",
    resolution=Resolution.AFTER_VOTE,
    instruction=RECTIFICATION,
    proposals=(
        Proposal("A", ProposalKind.BASE, "Esittelijän ehdotus", proposer="u6"),
        Proposal(
            "B", ProposalKind.COUNTER, "Reitti 4 jaetaan kahteen osaan.", proposer="u3", seconders=("u2",)
        ),
        Proposal("C", ProposalKind.TABLING, "Asia pannaan pöydälle.", proposer="u5"),
    ),
    votes=(TIED_VOTE,),
    elections=(
        Election(
            title="Hankinnan valvojan valinta",
            method=ElectionMethod.MAJORITY,
            secret_ballot=True,
            seats=1,
            candidates=(
                Candidate("Jaana Jäsen", 3, elected=True),
                Candidate("Veikko Varapuheenjohtaja", 2),
            ),
            ballots_cast=5,
        ),
    ),
    statements=(Statement("u8", "Kertoi reitin 4 ajoajoista.", local(2026, 11, 24, 17, 50)),),
    dissents=(
        Dissent("u3", Ground.VOTED_AGAINST, "Pitkä reitti vaarantaa pienten oppilaiden turvallisuuden."),
    ),
    personal_data=True,
    depersonalised="Koulukuljetusten hankinnan ehdot hyväksyttiin liitteen 1 mukaisesti.",
    attachments=("Liite 1: Hankinnan ehdot",),
)

CONFIDENTIAL = Item(
    section=11,
    title=CONFIDENTIAL_TITLE,
    presenter="u6",
    description="Asiakas 123 on hakenut takaisinperinnästä luopumista terveydellisin perustein.",
    base_proposal="Takaisinperinnästä luovutaan.",
    decision="Takaisinperinnästä luovuttiin.",
    resolution=Resolution.AS_PROPOSED,
    instruction=RECTIFICATION,
    confidentiality=Confidentiality(Publicity.CONFIDENTIAL, CONFIDENTIAL_BASIS),
    disqualifications=(Disqualification("u9", "Hakija on hänen sisarensa.", "HL 28 § 1 mom. 2 k."),),
    personal_data=True,
)

PROCEDURE = Item(
    section=12,
    title="Lausunto maakuntakaavan luonnoksesta",
    presenter="u6",
    description="Liitto pyytää lausuntoa kaavaluonnoksesta 31.12.2026 mennessä.",
    base_proposal="Kunnanhallitus antaa liitteen 2 mukaisen lausunnon.",
    decision="Kunnanhallitus antoi liitteen 2 mukaisen lausunnon.",
    resolution=Resolution.DECISION_PROCEDURE,
    instruction=APPEAL_BAN,
    decided_in_procedure=True,
)


def sample_minutes() -> MinutesDocument:
    meeting = Meeting(
        municipality="Esimerkkilän kunta",
        body="Kunnanhallitus",
        body_sv="Kommunstyrelsen",
        body_kind=BodyKind.EXECUTIVE,
        number=14,
        year=2026,
        mode=MeetingMode.ELECTRONIC,
        started_at=local(2026, 11, 24, 17),
        ended_at=local(2026, 11, 24, 18, 30),
        venue="Kunnantalo, valtuustosali, ja sähköinen kokousyhteys",
        convening=Convening(local(2026, 11, 18, 12), lawful=True, quorate=True, seats=5, members_present=5),
        checking=Checking(
            CheckingMethod.CHECKERS,
            checkers=("u3", "u9"),
            checked_on=date(2026, 11, 27),
            note="Pöytäkirja on tarkastettu ja hyväksytty.",
            decision_procedure_checked_on=date(2026, 11, 20),
        ),
        interruptions=(Interruption(local(2026, 11, 24, 17, 50), local(2026, 11, 24, 18), "tauko"),),
        participants=PARTICIPANTS,
        attendance=ATTENDANCE,
        sections=(10, 12),
    )
    return MinutesDocument(
        meeting=meeting,
        people=PEOPLE,
        items=(TRANSPORT, CONFIDENTIAL, PROCEDURE),
        legality=Legality(
            chair="u1",
            secretary="u7",
            public_display=PublicDisplay(PUBLISHED_AT, "https://esimerkkila.example/poytakirjat/kh-14-2026"),
        ),
        version=2,
    )
