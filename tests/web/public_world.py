"""A body whose meetings show every kind of public fact and every kind of secret: the world of the tests that
compare what the public gets from the API and from the pages, and of those that probe hidden objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from auth.actions import do_create_user
from core.clock import LOCAL
from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.actions.attachments import do_add_attachment
from meetings.actions.bodies import BodySpec, do_create_body
from meetings.actions.call import do_send_call
from meetings.actions.meetings import MeetingSpec, do_cancel_meeting, do_create_meeting
from meetings.actions.memberships import MembershipSpec, do_add_membership
from meetings.models import AgendaItem, Body, Meeting
from tests.conftest import BASE_URL
from tests.factories import PASSWORD
from web.context import AppContext

SENDER = "Kokous <kokous@kokous.test>"
# Facts that must reach nobody outside the body, each unique so a leak anywhere is found by its text.
CLOSED_PLACE = "Salainen neuvotteluhuone"
SECRET_TITLE = "Oppilaan erityisen tuen päätös"
SECRET_TEXT = "Terveydentilaa koskeva selvitys."
SECRET_PROPOSAL = "Myönnetään tuki."
SECRET_BASIS = "JulkL 24 § 1 mom 30 k"
SECRET_PREPARER = "Rehtori Rauni Ruusu"
SECRET_FILE = "oppilaan-lausunto.pdf"
CONTACT = "puh. 040 123 4567"
PRESENTER = "Esko Esittelijä"
SECRETS = (
    CLOSED_PLACE,
    SECRET_TITLE,
    SECRET_TEXT,
    SECRET_PROPOSAL,
    SECRET_BASIS,
    SECRET_PREPARER,
    SECRET_FILE,
)


@dataclass
class PublicWorld:
    body: Body
    public: int  # a public meeting whose call was sent
    closed: int  # a closed meeting whose call was sent, in another place
    cancelled: int  # a public meeting called and then cancelled
    draft: int
    public_item: int
    secret_item: int  # wholly confidential, with a presenter, a preparer and an attachment
    partly_item: int
    closed_item: int
    public_attachment: int
    secret_attachment: int
    secretary: int


async def person(
    context: AppContext, body: Body, username: str, name: str, role: str, **extra: object
) -> tuple[int, int]:
    """A person with a role in the body: (membership id, user id)."""
    async with context.db.write() as session:
        user = await do_create_user(
            session,
            username=username,
            display_name=name,
            password=PASSWORD,
            email=f"{username}@kunta.test",
            actor="system:test",
        )
        spec = MembershipSpec(
            user_id=user.id, role=role, term_start=date(2025, 6, 1), term_end=date(2029, 5, 31), **extra
        )  # type: ignore[arg-type]
        membership = await do_add_membership(session, body=body, spec=spec, actor="system:test")
    return membership.id, user.id


async def _body(context: AppContext) -> Body:
    async with context.db.write() as session:
        spec = BodySpec(
            slug="sivistys",
            name="Sivistyslautakunta",
            kind="committee",
            seats=7,
            name_sv="Bildningsnämnden",
            electronic_meetings_allowed=True,
        )
        return await do_create_body(session, spec=spec, actor="system:test")


async def _meeting(context: AppContext, body: Body, *, public: bool, day: int, place: str) -> Meeting:
    async with context.db.write() as session:
        spec = MeetingSpec(
            starts_at=datetime(2026, 12, day, 16, 0, tzinfo=LOCAL),
            ends_at=datetime(2026, 12, day, 18, 30, tzinfo=LOCAL),
            place=place,
            mode="hybrid",
            is_public=public,
        )
        return await do_create_meeting(session, body=body, spec=spec, actor="system:test")


async def _item(context: AppContext, meeting: Meeting, actor: str, **values: object) -> int:
    async with context.db.write() as session:
        row = await session.get(Meeting, meeting.id)
        assert row is not None
        spec = ItemSpec(**values)  # type: ignore[arg-type]
        return (await do_add_item(session, meeting=row, spec=spec, actor=actor)).id


async def _attach(context: AppContext, item_id: int, filename: str, actor: str, *, public: bool) -> int:
    async with context.db.write() as session:
        item = await session.get(AgendaItem, item_id)
        assert item is not None
        meeting = await session.get(Meeting, item.meeting_id)
        assert meeting is not None
        attachment = await do_add_attachment(
            session,
            item=item,
            meeting=meeting,
            title=filename.removesuffix(".pdf").replace("-", " ").capitalize(),
            filename=filename,
            content_type="application/pdf",
            sha256="0" * 64,
            size=3000,
            is_public=public,
            confidentiality_basis="" if public else SECRET_BASIS,
            actor=actor,
        )
    return attachment.id


async def _call(context: AppContext, meeting: Meeting, actor: str) -> None:
    async with context.db.write() as session:
        row = await session.get(Meeting, meeting.id)
        assert row is not None
        await do_send_call(session, meeting=row, base_url=BASE_URL, sender=SENDER, actor=actor)


async def _cancel(context: AppContext, meeting: Meeting, actor: str) -> None:
    async with context.db.write() as session:
        row = await session.get(Meeting, meeting.id)
        assert row is not None
        await do_cancel_meeting(
            session, meeting=row, reason="Ei käsiteltävää.", base_url=BASE_URL, sender=SENDER, actor=actor
        )


async def build(context: AppContext) -> PublicWorld:
    body = await _body(context)
    _, secretary = await person(
        context, body, "sakari", "Sakari Sihteeri", "secretary", title="hallintosihteeri"
    )
    principal, _ = await person(context, body, "maija", "Maija Meikäläinen", "member")
    await person(context, body, "ville", "Ville Varajäsen", "deputy", deputy_for_id=principal)
    _, presenter_user = await person(context, body, "esko", PRESENTER, "presenter", title="sivistysjohtaja")
    actor = f"user:{secretary}"
    public = await _meeting(context, body, public=True, day=10, place="Kunnantalon valtuustosali")
    closed = await _meeting(context, body, public=False, day=11, place=CLOSED_PLACE)
    cancelled = await _meeting(context, body, public=True, day=12, place="Koulun juhlasali")
    draft = await _meeting(context, body, public=True, day=17, place="Kirjasto")
    shown = await _item(
        context,
        public,
        actor,
        title="Koulukuljetusten hankinta <2027> & ehdot",
        description="Hankinnan kuvaus, joka on julkinen.",
        proposal="Hyväksytään hankinta.",
        preparer="Suunnittelija Pirjo Pitkänen",
        preparer_contact=CONTACT,
        presenter_id=presenter_user,
    )
    secret = await _item(
        context,
        public,
        actor,
        title=SECRET_TITLE,
        description=SECRET_TEXT,
        proposal=SECRET_PROPOSAL,
        publicity="confidential",
        confidentiality_basis=SECRET_BASIS,
        preparer=SECRET_PREPARER,
        presenter_id=presenter_user,
    )
    partly = await _item(
        context,
        public,
        actor,
        title="Tontin vuokraaminen",
        description="Yrityksen liikesalaisuuksia koskeva selvitys.",
        publicity="partly_confidential",
        confidentiality_basis="JulkL 24 § 1 mom 20 k",
        public_summary="Kunta vuokraa tontin yritykselle.",
        preparer="Maankäyttöinsinööri Olli Ojala",
    )
    public_file = await _attach(context, shown, "hankintailmoitus.pdf", actor, public=True)
    secret_file = await _attach(context, secret, SECRET_FILE, actor, public=False)
    closed_item = await _item(context, closed, actor, title="Henkilöstöasia suljetussa kokouksessa")
    await _item(context, cancelled, actor, title="Peruttu asia")
    await _item(context, draft, actor, title="Luonnoksen asia")
    for meeting in (public, closed, cancelled):
        await _call(context, meeting, actor)
    await _cancel(context, cancelled, actor)
    return PublicWorld(
        body,
        public.id,
        closed.id,
        cancelled.id,
        draft.id,
        shown,
        secret,
        partly,
        closed_item,
        public_file,
        secret_file,
        secretary,
    )
