"""The organisation's settings, its bodies and their members: set up by admins, listed for everyone."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from litestar import Router, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from auth.models import Role
from core.bounds import MAX_ID, length_of
from core.errors import NotFound
from meetings.access import Viewer, access_body
from meetings.actions.bodies import BODY_TEXT, BodySpec, do_create_body, do_update_body
from meetings.actions.memberships import MembershipSpec, do_add_membership, do_end_membership
from meetings.actions.organisation import ORGANISATION_TEXT, OrganisationSettings, do_update_organisation
from meetings.models import (
    Body,
    BodyKind,
    CallDayCount,
    CheckingMethod,
    MemberRole,
    Membership,
    Organisation,
)
from meetings.queries import BodyView, MemberView, bodies, body_members, body_view, organisation
from web.guards import has_role, principal_of, recent_step_up
from web.http import Req
from web.schemas import Id
from web.security import BOUNDED_READS
from web.viewer import local_today

admin = has_role(Role.ADMIN)


OrganisationName = Annotated[str, msgspec.Meta(max_length=ORGANISATION_TEXT["name"])]
Fraction = Annotated[str, msgspec.Meta(max_length=ORGANISATION_TEXT["council_tabling_minority"])]
BodyName = Annotated[str, msgspec.Meta(max_length=BODY_TEXT["name"])]
Slug = Annotated[str, msgspec.Meta(max_length=length_of(Body.slug))]
Title = Annotated[str, msgspec.Meta(max_length=length_of(Membership.title))]
# Counts and days: the domain checks their ranges; these only keep them within the INTEGER columns.
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_ID)]


class OrganisationIO(msgspec.Struct, forbid_unknown_fields=True):
    name: OrganisationName
    name_sv: OrganisationName = ""
    default_call_period_days: Count = 4
    call_day_count: CallDayCount = CallDayCount.SENDING_DAY_EXCLUDED
    council_tabling_minority: Fraction = "1/4"
    minutes_retention_days: Count = 365
    default_checking_method: CheckingMethod = CheckingMethod.CHECKERS
    attachment_max_bytes: Annotated[int, msgspec.Meta(ge=0, le=2**62)] = 50 * 1024 * 1024


class BodyIn(msgspec.Struct, forbid_unknown_fields=True):
    slug: Slug
    name: BodyName
    kind: BodyKind
    seats: Count
    name_sv: BodyName = ""
    parent_id: Id | None = None
    call_period_days: Count | None = None
    electronic_meetings_allowed: bool = False
    decision_procedure_allowed: bool = False
    checking_method: CheckingMethod | None = None
    meetings_public_by_default: bool | None = None


class MembershipIn(msgspec.Struct, forbid_unknown_fields=True):
    user_id: Id
    role: MemberRole
    term_start: date
    term_end: date | None = None
    deputy_for_id: Id | None = None
    title: Title = ""


def organisation_out(org: Organisation | None) -> OrganisationIO:
    if org is None:
        return OrganisationIO(name="")
    fields = {f: getattr(org, f) for f in OrganisationIO.__struct_fields__}
    return OrganisationIO(**fields)


@get("/organisation", guards=[admin])
async def get_organisation(session: NamedDependency[AsyncSession]) -> OrganisationIO:
    return organisation_out(await organisation(session))


@put("/organisation", guards=[admin, recent_step_up])
async def put_organisation(
    request: Req, session: NamedDependency[AsyncSession], data: JSONBody[OrganisationIO]
) -> OrganisationIO:
    settings = OrganisationSettings(**msgspec.structs.asdict(data))
    org = await do_update_organisation(session, settings=settings, actor=principal_of(request).actor)
    return organisation_out(org)


@get("/bodies")
async def list_bodies(
    session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer]
) -> list[BodyView]:
    """Every active body; public information (R-CALL-7), as the bodies' pages show it."""
    return [body_view(viewer, b) for b in await bodies(session, include_inactive=viewer.is_admin)]


@post("/bodies", guards=[admin, recent_step_up], status_code=201)
async def create_body(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    data: JSONBody[BodyIn],
) -> BodyView:
    spec = BodySpec(**msgspec.structs.asdict(data))
    body = await do_create_body(session, spec=spec, actor=principal_of(request).actor)
    return body_view(viewer, body)


@get("/bodies/{body_id:int}")
async def get_body(
    session: NamedDependency[AsyncSession], viewer: NamedDependency[Viewer], body_id: FromPath[int]
) -> BodyView:
    return body_view(viewer, await access_body(session, viewer, body_id))


@put("/bodies/{body_id:int}", guards=[admin, recent_step_up])
async def update_body(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    body_id: FromPath[int],
    data: JSONBody[BodyIn],
) -> BodyView:
    body = await access_body(session, viewer, body_id)
    spec = BodySpec(**msgspec.structs.asdict(data))
    await do_update_body(session, body=body, spec=spec, actor=principal_of(request).actor)
    return body_view(viewer, body)


@get("/bodies/{body_id:int}/members")
async def list_members(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    body_id: FromPath[int],
) -> list[MemberView]:
    """Who sits in a body is public, as its page shows; e-mail addresses and other personal data are not."""
    body = await access_body(session, viewer, body_id)
    return await body_members(session, viewer, body, on=local_today(request))


@post("/bodies/{body_id:int}/members", guards=[admin, recent_step_up], status_code=201)
async def add_member(
    request: Req,
    session: NamedDependency[AsyncSession],
    viewer: NamedDependency[Viewer],
    body_id: FromPath[int],
    data: JSONBody[MembershipIn],
) -> MemberView:
    body = await access_body(session, viewer, body_id)
    spec = MembershipSpec(**msgspec.structs.asdict(data))
    membership = await do_add_membership(session, body=body, spec=spec, actor=principal_of(request).actor)
    added = await body_members(session, viewer, body, on=spec.term_start)
    return next(m for m in added if m.membership_id == membership.id)


@delete("/bodies/{body_id:int}/members/{membership_id:int}", guards=[admin, recent_step_up], status_code=204)
async def end_member(
    request: Req, session: NamedDependency[AsyncSession], body_id: FromPath[int], membership_id: FromPath[int]
) -> None:
    membership = await session.get(Membership, membership_id)
    if membership is None or membership.body_id != body_id:
        raise NotFound("No such membership in this body.")
    await do_end_membership(session, membership=membership, actor=principal_of(request).actor)


bodies_router = Router(
    path="/api",
    opt=BOUNDED_READS,
    route_handlers=[
        get_organisation,
        put_organisation,
        list_bodies,
        create_body,
        get_body,
        update_body,
        list_members,
        add_member,
        end_member,
    ],
    tags=["organisation"],
)
