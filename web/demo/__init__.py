"""`kokous demo`: a demo municipality with its bodies, people and two called meetings to look at."""

from __future__ import annotations

import io
import os
import secrets
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import actions
from auth.models import Role, User
from auth.queries import user_by_username
from core.clock import LOCAL
from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.actions.attachments import do_add_attachment
from meetings.actions.bodies import BodySpec, do_create_body
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_create_meeting
from meetings.actions.memberships import MembershipSpec, do_add_membership
from meetings.actions.organisation import OrganisationSettings, do_update_organisation
from meetings.models import AgendaItem, Body, Meeting
from meetings.storage import AttachmentStore
from web.demo import live as demo_live
from web.demo import procedure as demo_procedure
from web.demo.minutes import seed_minutes
from web.demo.people import DemoPerson

ACTOR = "system:demo"


PEOPLE = (
    DemoPerson("admin", "Aino Ylläpitäjä", (Role.ADMIN,), ()),
    DemoPerson("auditor", "Tapio Tarkastaja", (Role.AUDITOR,), ()),
    DemoPerson(
        "chair", "Helena Puheenjohtaja", (), (("kh", "chair"), ("kh", "member"), ("valtuusto", "member"))
    ),
    DemoPerson(
        "secretary",
        "Mikko Sihteeri",
        (),
        (("kh", "secretary"), ("valtuusto", "secretary"), ("sivla", "secretary")),
    ),
    DemoPerson("member", "Liisa Jäsen", (), (("kh", "member"), ("valtuusto", "member"))),
    DemoPerson("deputy", "Ville Varajäsen", (), (("kh", "deputy"),)),
    DemoPerson("teacher", "Sanna Sivistys", (), (("sivla", "member"),)),
)

BODIES = (
    BodySpec(slug="valtuusto", name="Kunnanvaltuusto", name_sv="Kommunfullmäktige", kind="council", seats=27),
    BodySpec(
        slug="kh",
        name="Kunnanhallitus",
        name_sv="Kommunstyrelsen",
        kind="executive",
        seats=9,
        electronic_meetings_allowed=True,
        decision_procedure_allowed=True,
    ),
    BodySpec(
        slug="sivla",
        name="Sivistyslautakunta",
        name_sv="Bildningsnämnden",
        kind="committee",
        seats=9,
        electronic_meetings_allowed=True,
        decision_procedure_allowed=True,
    ),
)


async def is_empty(session: AsyncSession) -> bool:
    return int((await session.execute(select(func.count()).select_from(User))).scalar_one()) == 0


def _password() -> str:
    return "-".join(secrets.token_hex(3) for _ in range(3))


async def _people(session: AsyncSession, bodies: dict[str, Body], term: date) -> list[tuple[DemoPerson, str]]:
    logins = []
    members: dict[str, int] = {}
    for person in PEOPLE:
        password = _password()
        user = await actions.do_create_user(
            session,
            username=person.username,
            display_name=person.display_name,
            password=password,
            email=f"{person.username}@demo.kokous.test",
            actor=ACTOR,
        )
        for role in person.roles:
            await actions.do_grant_role(session, user=user, role=role, actor=ACTOR)
        for slug, seat in person.seats:
            deputy_for = members.get("member") if seat == "deputy" else None
            group = demo_live.COUNCIL_GROUP.get(person.username, "") if slug == "valtuusto" else ""
            spec = MembershipSpec(
                user_id=user.id, role=seat, term_start=term, deputy_for_id=deputy_for, group=group
            )
            membership = await do_add_membership(session, body=bodies[slug], spec=spec, actor=ACTOR)
            if slug == "kh" and seat == "member":
                members[person.username] = membership.id
        logins.append((person, password))
    return logins


def _local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LOCAL)


# A one-page PDF: enough for the demo's confidential attachment.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


async def _confidential_attachment(
    session: AsyncSession, store: AttachmentStore, meeting: Meeting, item: AgendaItem, actor: str
) -> None:
    stored = await store.put(
        io.BytesIO(DEMO_PDF), limit=1024 * 1024, filename="selvitys.pdf", declared="application/pdf"
    )
    await do_add_attachment(
        session,
        item=item,
        meeting=meeting,
        title="Selvitys virkasuhteen päättämisestä",
        filename=stored.filename,
        content_type=stored.media_type,
        sha256=stored.sha256,
        size=stored.size,
        is_public=False,
        confidentiality_basis="JulkL 24 § 1 mom 32 k",
        actor=actor,
    )


async def _executive_meeting(
    session: AsyncSession, body: Body, today: date, actor: str, store: AttachmentStore
) -> Meeting:
    """A closed, hybrid executive board meeting with every kind of item."""
    day = today + timedelta(days=8)
    meeting = await do_create_meeting(
        session,
        body=body,
        spec=MeetingSpec(
            starts_at=_local(day, 16),
            ends_at=_local(day, 19),
            place="Kunnantalo, kokoushuone Pihlaja, ja etäyhteys",
            mode="hybrid",
            is_public=False,
        ),
        actor=actor,
    )
    for spec in (
        ItemSpec(
            title="Talousarvion toteutuminen tammi–lokakuussa",
            preparer="talousjohtaja Pekka Laskija",
            preparer_contact="pekka.laskija@demo.kokous.test",
            description="Käyttötalouden menot ovat toteutuneet 81-prosenttisesti.",
            proposal="Kunnanhallitus merkitsee toteutuman tiedoksi.",
        ),
        ItemSpec(
            title="Virkasuhteen päättäminen",
            publicity="confidential",
            confidentiality_basis="JulkL 24 § 1 mom 32 k",
            description="Henkilöstöasia, jonka asiakirjat ovat salassa pidettäviä.",
            proposal="Kunnanhallitus päättää esityksen mukaisesti.",
        ),
        ItemSpec(
            title="Lausunto maakuntakaavan luonnoksesta",
            decision_mode="decision_procedure",
            deadline_at=_local(day - timedelta(days=2), 12),
            description="Liitto pyytää lausuntoa maakuntakaavan luonnoksesta.",
            proposal="Kunnanhallitus antaa liitteen mukaisen lausunnon.",
        ),
        ItemSpec(
            title="Avustus Kylätalo ry:n kattoremonttiin",
            decision_mode="decision_procedure",
            deadline_at=_local(day - timedelta(days=2), 12),
            description="Kylätalo ry hakee 4 000 euron avustusta kylätalon katon korjaamiseen.",
            proposal="Kunnanhallitus myöntää Kylätalo ry:lle 4 000 euron avustuksen kattoremonttiin.",
        ),
    ):
        item = await do_add_item(session, meeting=meeting, spec=spec, actor=actor)
        if spec.publicity == "confidential":
            await _confidential_attachment(session, store, meeting, item, actor)
    return meeting


async def _council_meeting(session: AsyncSession, body: Body, today: date, actor: str) -> Meeting:
    """A public council meeting: the public agenda shows its public items."""
    day = today + timedelta(days=10)
    meeting = await do_create_meeting(
        session,
        body=body,
        spec=MeetingSpec(
            starts_at=_local(day, 18), place="Kunnantalo, valtuustosali", mode="in_person", is_public=True
        ),
        actor=actor,
    )
    for spec in (
        ItemSpec(
            title="Kokouksen laillisuus ja päätösvaltaisuus",
            proposal="Todetaan kokous lailliseksi ja päätösvaltaiseksi.",
        ),
        ItemSpec(
            title="Veroprosentit vuodelle 2027",
            preparer="talousjohtaja Pekka Laskija",
            description="Kunnallisveroprosentiksi esitetään 8,40.",
            proposal="Valtuusto vahvistaa tuloveroprosentiksi 8,40.",
        ),
        ItemSpec(
            title="Kiinteistön myynti",
            publicity="partly_confidential",
            confidentiality_basis="JulkL 24 § 1 mom 17 k",
            public_summary="Kunta myy Teollisuustie 4:n kiinteistön; hinta julkistetaan kaupan jälkeen.",
            description="Tarjoukset ja neuvotteluasiakirjat ovat salassa pidettäviä.",
            proposal="Valtuusto hyväksyy kaupan.",
        ),
    ):
        await do_add_item(session, meeting=meeting, spec=spec, actor=actor)
    return meeting


async def _user_id(session: AsyncSession, username: str) -> int:
    user = await user_by_username(session, username)
    if user is None:
        raise LookupError(f"demo user {username} was not created")
    return user.id


async def seed(
    session: AsyncSession,
    *,
    now: datetime,
    base_url: str,
    sender: str,
    store: AttachmentStore,
    data_dir: Path | None = None,
) -> list[tuple[DemoPerson, str]]:
    """The demo municipality: bodies, people, two meetings whose calls have been sent, and the executive
    board's meeting called for today (web.demo.live), all seeded as of a week ago. With `data_dir`, the
    board's past public meeting gets a short generated clip per public item as its recordings."""
    demo_live.as_of_last_week(session)
    await do_update_organisation(
        session,
        settings=OrganisationSettings(name="Esimerkkilän kunta", name_sv="Exempelby kommun"),
        actor=ACTOR,
    )
    bodies = {spec.slug: await do_create_body(session, spec=spec, actor=ACTOR) for spec in BODIES}
    today = now.astimezone(LOCAL).date()
    logins = await _people(session, bodies, today - timedelta(days=200))
    secretary = f"user:{await _user_id(session, 'secretary')}"
    for meeting in (
        await _executive_meeting(session, bodies["kh"], today, secretary, store),
        await _council_meeting(session, bodies["valtuusto"], today, secretary),
    ):
        await do_send_call(session, meeting=meeting, base_url=base_url, sender=sender, actor=secretary)
    logins += await demo_live.seed_live(
        session,
        bodies,
        now=now,
        term=today - timedelta(days=200),
        password=_password,
        base_url=base_url,
        sender=sender,
    )
    await demo_procedure.open_soon(session, now=now, base_url=base_url)
    await seed_minutes(session, bodies["kh"], now=now, base_url=base_url, sender=sender, recordings=data_dir)
    await demo_procedure.decided_for_checking(session, now=now, base_url=base_url)
    return logins


def describe(logins: list[tuple[DemoPerson, str]]) -> str:
    lines = ["Demo logins (second factor: enrol with an authenticator app at first sign-in where marked *):"]
    for person, password in logins:
        needs_code = set(person.roles) | {seat for _, seat in person.seats} & {"chair", "secretary"}
        mark = "*" if needs_code else " "
        roles = ", ".join([*person.roles, *(f"{seat} {slug}" for slug, seat in person.seats)])
        lines.append(f"  {mark} {person.username:<10} {password:<20} {person.display_name} ({roles})")
    return "\n".join(lines) + "\n"


def save(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
