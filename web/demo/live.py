"""The demo's live meeting: every seat filled, and an executive board meeting called for today.

The executive board gets its nine members, each with a personal deputy (R-DEP-2), and a presenter; the
council its 27 councillors in four groups, and deputy councillors by group in the order of the election result
(R-DEP-1).
The board's meeting starts at the quarter hour before the seeding, so that after `make run` the chair can open
it at once, mark or let members check in, and run an item to a vote and its result, or hold the election of
its fourth item, two representatives and two deputies, by open or secret ballot. Its public items are
recorded (the secretary's setting), so the recordings page fills as the items are taken up.

A call must go out days before the meeting (R-CALL-5), so the whole demo is seeded as of a week ago: the demo
calls `as_of_last_week` first, and every audit entry of the seeding carries that time, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import actions
from auth.models import User
from core.clock import LOCAL, Clock
from core.db import session_clock
from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.actions.memberships import MembershipSpec, do_add_membership
from meetings.models import Body, Meeting, MemberRole, Membership
from web.demo.people import DemoPerson
from web.recordings import set_recording

ACTOR = "system:demo"
SEEDED_BEFORE = timedelta(days=7)


# The board's members beside the demo's chair and member, and the personal deputies of all nine.
BOARD = (
    ("jasen3", "Antti Aaltonen"),
    ("jasen4", "Elina Björklund"),
    ("jasen5", "Juha Heikkinen"),
    ("jasen6", "Kaisa Korhonen"),
    ("jasen7", "Markku Lindqvist"),
    ("jasen8", "Outi Mäkinen"),
    ("jasen9", "Petri Nieminen"),
)
DEPUTIES = {
    "chair": ("vara1", "Riitta Ojala"),
    "jasen3": ("vara3", "Seppo Rantanen"),
    "jasen4": ("vara4", "Tuula Salonen"),
    "jasen5": ("vara5", "Ulla Tuominen"),
    "jasen6": ("vara6", "Veikko Virtanen"),
    "jasen7": ("vara7", "Åsa Westerlund"),
    "jasen8": ("vara8", "Jari Peltonen"),
    "jasen9": ("vara9", "Hanna Laaksonen"),
}
PRESENTER = ("johtaja", "Kari Johtaja")
# The council's groups, with the demo's chair and member in two of them; the rest cannot sign in.
GROUPS = (("Keskusta", 9, 3), ("Kokoomus", 7, 3), ("SDP", 6, 2), ("Perussuomalaiset", 5, 2))
COUNCIL_GROUP = {"chair": "Kokoomus", "member": "SDP"}


def as_of_last_week(session: AsyncSession) -> None:
    """Seed on a clock running a week behind, so that the call of today's meeting went out in time."""
    real = session_clock(session)

    def behind() -> datetime:
        return real() - SEEDED_BEFORE

    clock: Clock = behind
    session.sync_session.info["clock"] = clock


async def _membership(session: AsyncSession, body: Body, username: str, role: str) -> Membership:
    query = (
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.body_id == body.id, User.username == username, Membership.role == role)
    )
    return (await session.execute(query)).scalar_one()


async def _person(session: AsyncSession, username: str, name: str, password: str | None) -> User:
    return await actions.do_create_user(
        session,
        username=username,
        display_name=name,
        password=password,
        email=f"{username}@demo.kokous.test" if password else None,
        actor=ACTOR,
    )


async def _seat(
    session: AsyncSession, body: Body, user: User, role: str, term: date, **extra: object
) -> Membership:
    spec = MembershipSpec(user_id=user.id, role=role, term_start=term, **extra)  # type: ignore[arg-type]
    return await do_add_membership(session, body=body, spec=spec, actor=ACTOR)


async def _board(
    session: AsyncSession, body: Body, term: date, password: Callable[[], str]
) -> list[tuple[DemoPerson, str]]:
    logins = []
    for username, name in BOARD:
        secret = password()
        user = await _person(session, username, name, secret)
        await _seat(session, body, user, MemberRole.MEMBER, term)
        logins.append((DemoPerson(username, name, (), (("kh", "member"),)), secret))
    for member, (username, name) in DEPUTIES.items():
        secret = password()
        user = await _person(session, username, name, secret)
        principal = await _membership(session, body, member, MemberRole.MEMBER)
        await _seat(session, body, user, MemberRole.DEPUTY, term, deputy_for_id=principal.id)
        logins.append((DemoPerson(username, name, (), (("kh", f"deputy of {member}"),)), secret))
    secret = password()
    user = await _person(session, *PRESENTER, secret)
    await _seat(session, body, user, MemberRole.PRESENTER, term)
    logins.append((DemoPerson(*PRESENTER, (), (("kh", "presenter"),)), secret))
    return logins


async def _council(session: AsyncSession, body: Body, term: date) -> None:
    """27 councillors in four groups and their deputy councillors by group, ranked (R-DEP-1). They cannot
    sign in: an administrator sets a password for anyone who should."""
    taken = {COUNCIL_GROUP[name] for name in COUNCIL_GROUP}
    number = 0
    for group, seats, deputies in GROUPS:
        for _ in range(seats - (1 if group in taken else 0)):
            number += 1
            user = await _person(session, f"valtuutettu{number:02d}", f"Valtuutettu {number} ({group})", None)
            await _seat(session, body, user, MemberRole.MEMBER, term, group=group)
        for rank in range(1, deputies + 1):
            user = await _person(
                session, f"varavaltuutettu-{group.lower()}-{rank}", f"Varavaltuutettu {rank} ({group})", None
            )
            await _seat(session, body, user, MemberRole.DEPUTY, term, group=group, rank=rank)


async def _meeting_today(
    session: AsyncSession, body: Body, now: datetime, presenter: int, actor: str, base_url: str, sender: str
) -> Meeting:
    local = now.astimezone(LOCAL)
    starts = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    meeting = await do_create_meeting(
        session,
        body=body,
        spec=MeetingSpec(
            starts_at=starts,
            ends_at=starts + timedelta(hours=3),
            place="Kunnantalo, kokoushuone Pihlaja, ja etäyhteys",
            mode="hybrid",
            is_public=True,
        ),
        actor=actor,
    )
    for spec in (
        ItemSpec(
            title="Kunnantalon peruskorjauksen hankesuunnitelma",
            presenter_id=presenter,
            preparer="tekninen johtaja Tiina Rakentaja",
            description="Peruskorjauksen kustannusarvio on 2,4 miljoonaa euroa; työt alkaisivat keväällä.",
            proposal="Kunnanhallitus hyväksyy hankesuunnitelman ja esittää valtuustolle 2,4 miljoonan euron "
            "määrärahaa.",
        ),
        ItemSpec(
            title="Kirjaston aukioloajat 1.2.2027 alkaen",
            presenter_id=presenter,
            description="Omatoimikirjasto on auki arkisin kello 7–22.",
            proposal="Kunnanhallitus vahvistaa kirjaston aukioloajat liitteen mukaisesti.",
        ),
        ItemSpec(
            title="Virantoimituksesta pidättäminen",
            presenter_id=presenter,
            publicity="confidential",
            confidentiality_basis="JulkL 24 § 1 mom 32 k",
            description="Henkilöstöasia, jonka asiakirjat ovat salassa pidettäviä.",
            proposal="Kunnanhallitus päättää esityksen mukaisesti.",
        ),
        ItemSpec(
            title="Edustajien valinta jätehuoltoyhtymän yhtymäkokoukseen",
            presenter_id=presenter,
            description="Kunta valitsee yhtymäkokoukseen kaksi edustajaa ja kaksi varaedustajaa. "
            "Ehdolla ovat Antti Aaltonen, Elina Björklund ja Kaisa Korhonen; kokouksessa voidaan asettaa "
            "muitakin ehdokkaita. Puheenjohtaja toimittaa vaalin kohdasta Toimita vaali.",
            proposal="Kunnanhallitus valitsee yhtymäkokoukseen kaksi edustajaa ja kaksi varaedustajaa.",
        ),
        ItemSpec(
            title="Ilmoitusasiat",
            presenter_id=presenter,
            proposal="Kunnanhallitus merkitsee ilmoitusasiat tiedoksi.",
        ),
    ):
        await do_add_item(session, meeting=meeting, spec=spec, actor=actor)
    await do_send_call(session, meeting=meeting, base_url=base_url, sender=sender, actor=actor)
    return meeting


async def seed_live(
    session: AsyncSession,
    bodies: dict[str, Body],
    *,
    now: datetime,
    term: date,
    password: Callable[[], str],
    base_url: str,
    sender: str,
) -> list[tuple[DemoPerson, str]]:
    """Fill the board's and the council's seats and call the board's meeting for today; the new accounts'
    logins (the board's, its deputies' and the presenter's) for `describe`."""
    logins = await _board(session, bodies["kh"], term, password)
    await _council(session, bodies["valtuusto"], term)
    presenter = (await _membership(session, bodies["kh"], PRESENTER[0], MemberRole.PRESENTER)).user_id
    secretary = (await _membership(session, bodies["kh"], "secretary", MemberRole.SECRETARY)).user_id
    meeting = await _meeting_today(
        session, bodies["kh"], now, presenter, f"user:{secretary}", base_url, sender
    )
    # Its public items are recorded once sound and picture are in use (docs/media.md, "Recording"): the files
    # appear on the meeting's recordings page as the chair takes up items; the closed item has none.
    await set_recording(session, meeting, on=True, actor=f"user:{secretary}")
    return logins
