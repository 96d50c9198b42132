"""The admin's pages: accounts and roles, the organisation's settings, bodies, members, the member import.

Every change runs the same action as the admin API (auth.actions, meetings.actions.*, meetings.imports) and,
as the API does, needs a step-up: each change form asks for the admin's password and a code from the app again
(docs/security.md: one step-up, one change). The step-up runs in the credential flow's own transaction, so the
handlers that change something take no request transaction; they open one write transaction after it, spend
the step-up in it and run the action there, and the browser gets the step-up's new session cookies whatever
the action's outcome (the step-up renewed the session's tokens).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from litestar import MediaType, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.models import AuditAction, AuditEntry, names_of
from auth import actions
from auth.models import Role, User
from auth.queries import user_by_id
from auth.tokens import ACCESS
from core.errors import Conflict, KokousError, NotAuthenticated, NotFound, RateLimited, ValidationFailed
from meetings import imports
from meetings.access import Viewer
from meetings.actions.bodies import BodySpec, do_create_body, do_update_body
from meetings.actions.memberships import MembershipSpec, body_scope, do_add_membership, do_end_membership
from meetings.actions.organisation import OrganisationSettings, do_update_organisation
from meetings.models import Body, BodyKind, CallDayCount, CheckingMethod, MemberRole, Membership, Organisation
from meetings.queries import bodies, organisation
from web.errors import status_of
from web.formatting import Times
from web.forms import calendar_day, optional_id, whole_number
from web.guards import has_role, principal_of
from web.http import Req
from web.limits import IMPORT_BODY
from web.openapi import answers
from web.pages.context import page_context
from web.rendering import render
from web.security import app_context, client_address, session_cookies
from web.uploads import Collected, multipart_boundary, read_upload
from web.viewer import current_viewer, local_today

admin = has_role(Role.ADMIN)
ORGANISATION_ROLES = (Role.ADMIN, Role.AUDITOR, Role.MEMBER)
# The import's confirmation carries the checked file back, base64-encoded, with the step-up fields.
CONFIRM_LIMIT = IMPORT_BODY * 2


# ---- step-up ------------------------------------------------------------------------------------------


@dataclass
class Proof:
    """What a change form carries besides its own fields: the CSRF token and the step-up."""

    confirm_password: str = ""
    confirm_code: str = ""


@dataclass
class Stepped:
    """The write transaction of one stepped-up change, and the session cookies the step-up renewed."""

    session: AsyncSession
    viewer: Viewer
    actor: str
    cookies: list[Cookie] = field(default_factory=list)


async def _step_up(request: Req, proof: Proof) -> tuple[str, list[Cookie]]:
    """Password and code again (auth.credentials.CredentialFlow.step_up): the step-up's nonce and cookies."""
    if not proof.confirm_password or not proof.confirm_code:
        raise ValidationFailed(
            "Confirm the change with your password and a code from your app.", field="confirm_password"
        )
    context = app_context(request)
    tokens = await context.credentials.step_up(
        principal_of(request),
        password=proof.confirm_password,
        code=proof.confirm_code,
        address=client_address(request),
    )
    claims = context.auth.tokens.decode(tokens.access_token, audience=ACCESS, now=context.db.clock())
    cookies = session_cookies(
        context.settings.https,
        access=tokens.access_token,
        refresh=tokens.refresh_token,
        csrf=tokens.csrf_token,
        refresh_days=context.settings.refresh_token_days,
    )
    return str(claims.extra.get("sup", "")), cookies


@asynccontextmanager
async def stepped_up(request: Req, proof: Proof, cookies: list[Cookie]) -> AsyncIterator[Stepped]:
    """One change after a step-up: `cookies` receives the renewed session's cookies as soon as there are
    any, so that a refused change still hands them to the browser."""
    nonce, renewed = await _step_up(request, proof)
    cookies.extend(renewed)
    principal = principal_of(request)
    context = app_context(request)
    async with context.db.write() as session:
        await actions.do_use_step_up(
            session, nonce=nonce, user_id=principal.user_id, family=principal.session_family
        )
        viewer = await current_viewer(request, session)
        yield Stepped(session, viewer, principal.actor, renewed)


Change = Callable[[Stepped], Awaitable[str]]  # runs the action; returns where to go next
Again = Callable[[AsyncSession, KokousError], Awaitable[tuple[str, dict[str, Any]]]]  # the page to show again

# Every change here carries the password and code again (a step-up), which are throttled like a sign-in.
STEP_UP_FORM = answers(429)
REFUSALS = (ValidationFailed, Conflict, NotAuthenticated, RateLimited, NotFound)


async def change(request: Req, proof: Proof, work: Change, again: Again) -> Response[Any]:
    """Step up, run `work` in its transaction, and go where it says; on a refusal show the form again
    (`again`) with the error, keeping the person's input, and the renewed cookies if the step-up was made."""
    cookies: list[Cookie] = []
    try:
        async with stepped_up(request, proof, cookies) as stepped:
            target = await work(stepped)
    except REFUSALS as exc:
        async with app_context(request).db.read() as session:
            template, context = await again(session, exc)
        headers = {"retry-after": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        context["error"] = exc
        status = status_of(exc)
        return render(request, template, context, status_code=status, headers=headers, cookies=cookies)
    return Redirect(target, status_code=303, cookies=cookies)


# ---- reading --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserRow:
    user: User
    last_sign_in: datetime | None


async def last_sign_ins(session: AsyncSession) -> dict[str, datetime]:
    """Each account's last successful sign-in, from the audit log (session.started, and its former name), by
    `user:N`."""
    rows = await session.execute(
        select(AuditEntry.subject, func.max(AuditEntry.ts))
        .where(AuditEntry.action.in_(names_of(AuditAction.SESSION_STARTED)))
        .group_by(AuditEntry.subject)
    )
    return {subject: datetime.fromisoformat(ts.replace("Z", "+00:00")) for subject, ts in rows}


async def _user(session: AsyncSession, user_id: int) -> User:
    user = await user_by_id(session, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


async def _body(session: AsyncSession, body_id: int) -> Body:
    body = await session.get(Body, body_id)
    if body is None:
        raise NotFound("No such body.")
    return body


def _context(request: Req, **values: Any) -> dict[str, Any]:
    return page_context(request, **values)


# ---- overview and users -----------------------------------------------------------------------------------


@get("/admin", media_type=MediaType.HTML, guards=[admin])
async def overview(request: Req, session: NamedDependency[AsyncSession]) -> Response[str]:
    users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
    found = await bodies(session, include_inactive=True)
    return render(request, "admin.html", _context(request, users=users, bodies=found))


@dataclass
class NewUserForm(Proof):
    username: str = ""
    display_name: str = ""
    email: str = ""
    password: str = ""
    role: str = ""
    csrf_token: str = ""


async def users_context(request: Req, session: AsyncSession, **extra: Any) -> dict[str, Any]:
    found = (await session.execute(select(User).order_by(User.username))).scalars().all()
    signed = await last_sign_ins(session)
    rows = [UserRow(u, signed.get(actions.user_subject(u))) for u in found]
    names = {str(b.id): b.name for b in await bodies(session, include_inactive=True)}
    context = {"rows": rows, "body_names": names, "new_user": NewUserForm(), "done": ""}
    return _context(request, **(context | extra))


@get("/admin/users", media_type=MediaType.HTML, guards=[admin])
async def users_page(
    request: Req, session: NamedDependency[AsyncSession], done: FromQuery[str] = ""
) -> Response[str]:
    return render(request, "admin_users.html", await users_context(request, session, done=done))


def _organisation_role(value: str) -> Role | None:
    if not value:
        return None
    if value not in {r.value for r in ORGANISATION_ROLES}:
        raise ValidationFailed("Choose one of the roles offered.", field="role")
    return Role(value)


@post("/admin/users", guards=[admin], responses=STEP_UP_FORM)
async def create_user(request: Req, data: URLEncodedBody[NewUserForm]) -> Response[Any]:
    async def work(s: Stepped) -> str:
        role = _organisation_role(data.role)
        user = await actions.do_create_user(
            s.session,
            username=data.username.strip(),
            display_name=data.display_name.strip(),
            password=data.password,
            email=data.email.strip() or None,
            actor=s.actor,
        )
        if role is not None:
            await actions.do_grant_role(s.session, user=user, role=role, actor=s.actor)
        return f"/admin/users/{user.id}?done=user-created"

    async def again(session: AsyncSession, _: KokousError) -> tuple[str, dict[str, Any]]:
        kept = NewUserForm(
            username=data.username, display_name=data.display_name, email=data.email, role=data.role
        )
        return "admin_users.html", await users_context(request, session, new_user=kept, failed="user")

    return await change(request, data, work, again)


@dataclass
class RoleForm(Proof):
    role: str = ""
    scope: str = ""  # "" (organisation-wide) or a body's id
    csrf_token: str = ""


@dataclass
class ConfirmForm(Proof):
    csrf_token: str = ""


async def user_context(request: Req, session: AsyncSession, user_id: int, **extra: Any) -> dict[str, Any]:
    user = await _user(session, user_id)
    signed = await last_sign_ins(session)
    found = await bodies(session, include_inactive=True)
    held = await session.execute(
        select(Membership, Body.name)
        .join(Body, Body.id == Membership.body_id)
        .where(Membership.user_id == user.id, Membership.ended_at.is_(None))
        .order_by(Body.name, Membership.term_start)
    )
    context = {
        "person": user,
        "last_sign_in": signed.get(actions.user_subject(user)),
        "bodies": found,
        "body_names": {f"body:{b.id}": b.name for b in found},
        "memberships": list(held),
        "role_form": RoleForm(),
        "done": "",
    }
    return _context(request, **(context | extra))


@get("/admin/users/{user_id:int}", media_type=MediaType.HTML, guards=[admin])
async def user_page(
    request: Req, session: NamedDependency[AsyncSession], user_id: FromPath[int], done: FromQuery[str] = ""
) -> Response[str]:
    return render(request, "admin_user.html", await user_context(request, session, user_id, done=done))


def _role_change(data: RoleForm) -> tuple[Role, str]:
    """An organisation-wide role, or a body's chair or secretary role (the scope `body:N`)."""
    scope = data.scope.strip()
    if scope:
        body_id = optional_id(scope.removeprefix("body:"), "scope", "Choose one of the bodies offered.")
        scope = body_scope(body_id) if body_id else ""
    allowed = {r.value for r in Role} if scope else {r.value for r in ORGANISATION_ROLES}
    if data.role not in allowed:
        raise ValidationFailed("Choose one of the roles offered.", field="role")
    return Role(data.role), scope


def _user_change(
    request: Req, user_id: int, data: Proof, work: Callable[[Stepped, User], Awaitable[str]]
) -> Awaitable[Response[Any]]:
    async def run(s: Stepped) -> str:
        return await work(s, await _user(s.session, user_id))

    async def again(session: AsyncSession, _: KokousError) -> tuple[str, dict[str, Any]]:
        return "admin_user.html", await user_context(request, session, user_id)

    return change(request, data, run, again)


@post("/admin/users/{user_id:int}/roles", guards=[admin], responses=STEP_UP_FORM)
async def grant_role(request: Req, user_id: FromPath[int], data: URLEncodedBody[RoleForm]) -> Response[Any]:
    async def work(s: Stepped, user: User) -> str:
        role, scope = _role_change(data)
        await actions.do_grant_role(s.session, user=user, role=role, scope=scope, actor=s.actor)
        return f"/admin/users/{user_id}?done=role-granted"

    return await _user_change(request, user_id, data, work)


@post("/admin/users/{user_id:int}/roles/revoke", guards=[admin], responses=STEP_UP_FORM)
async def revoke_role(request: Req, user_id: FromPath[int], data: URLEncodedBody[RoleForm]) -> Response[Any]:
    async def work(s: Stepped, user: User) -> str:
        role, scope = _role_change(data)
        await actions.do_revoke_role(s.session, user=user, role=role, scope=scope, actor=s.actor)
        return f"/admin/users/{user_id}?done=role-revoked"

    return await _user_change(request, user_id, data, work)


@post("/admin/users/{user_id:int}/deactivate", guards=[admin], responses=STEP_UP_FORM)
async def deactivate(
    request: Req, user_id: FromPath[int], data: URLEncodedBody[ConfirmForm]
) -> Response[Any]:
    async def work(s: Stepped, user: User) -> str:
        if user.id == principal_of(request).user_id:
            raise Conflict("You cannot deactivate your own account.")
        await actions.do_set_active(s.session, user=user, active=False, actor=s.actor)
        return f"/admin/users/{user_id}?done=user-deactivated"

    return await _user_change(request, user_id, data, work)


@post("/admin/users/{user_id:int}/activate", guards=[admin], responses=STEP_UP_FORM)
async def activate(request: Req, user_id: FromPath[int], data: URLEncodedBody[ConfirmForm]) -> Response[Any]:
    async def work(s: Stepped, user: User) -> str:
        await actions.do_set_active(s.session, user=user, active=True, actor=s.actor)
        return f"/admin/users/{user_id}?done=user-activated"

    return await _user_change(request, user_id, data, work)


@post("/admin/users/{user_id:int}/second-factor/reset", guards=[admin], responses=STEP_UP_FORM)
async def reset_second_factor(
    request: Req, user_id: FromPath[int], data: URLEncodedBody[ConfirmForm]
) -> Response[Any]:
    async def work(s: Stepped, user: User) -> str:
        await actions.do_reset_totp(s.session, user=user, actor=s.actor, address=client_address(request))
        return f"/admin/users/{user_id}?done=second-factor-reset"

    return await _user_change(request, user_id, data, work)


# ---- the organisation -------------------------------------------------------------------------------------


@dataclass
class OrganisationForm(Proof):
    name: str = ""
    name_sv: str = ""
    default_call_period_days: str = "4"
    call_day_count: str = CallDayCount.SENDING_DAY_EXCLUDED.value
    council_tabling_minority: str = "1/4"
    minutes_retention_days: str = "365"
    default_checking_method: str = CheckingMethod.CHECKERS.value
    attachment_max_mib: str = "50"
    csrf_token: str = ""


def organisation_form(org: Organisation | None) -> OrganisationForm:
    if org is None:
        return OrganisationForm()
    return OrganisationForm(
        name=org.name,
        name_sv=org.name_sv,
        default_call_period_days=str(org.default_call_period_days),
        call_day_count=org.call_day_count,
        council_tabling_minority=org.council_tabling_minority,
        minutes_retention_days=str(org.minutes_retention_days),
        default_checking_method=org.default_checking_method,
        attachment_max_mib=f"{org.attachment_max_bytes / 2**20:g}",
    )


def organisation_settings(form: OrganisationForm) -> OrganisationSettings:
    try:
        mib = float(form.attachment_max_mib.replace(",", ".").strip())
    except ValueError:
        raise ValidationFailed("The attachment limit is 1 KiB – 2 GiB.", field="attachment_max_mib") from None
    if not 0 < mib <= 2048:
        raise ValidationFailed("The attachment limit is 1 KiB – 2 GiB.", field="attachment_max_mib")
    return OrganisationSettings(
        name=form.name.strip(),
        name_sv=form.name_sv.strip(),
        default_call_period_days=whole_number(
            form.default_call_period_days, "default_call_period_days", "The call period must be 1–60 days."
        ),
        call_day_count=form.call_day_count,
        council_tabling_minority=form.council_tabling_minority.strip(),
        minutes_retention_days=whole_number(
            form.minutes_retention_days, "minutes_retention_days", "Retention is 1–36500 days."
        ),
        default_checking_method=form.default_checking_method,
        attachment_max_bytes=int(mib * 2**20),
    )


@get("/admin/organisation", media_type=MediaType.HTML, guards=[admin])
async def organisation_page(
    request: Req, session: NamedDependency[AsyncSession], done: FromQuery[str] = ""
) -> Response[str]:
    form = organisation_form(await organisation(session))
    return render(request, "admin_organisation.html", _context(request, form=form, done=done))


@post("/admin/organisation", guards=[admin], responses=STEP_UP_FORM)
async def save_organisation(request: Req, data: URLEncodedBody[OrganisationForm]) -> Response[Any]:
    async def work(s: Stepped) -> str:
        await do_update_organisation(s.session, settings=organisation_settings(data), actor=s.actor)
        return "/admin/organisation?done=organisation-saved"

    async def again(session: AsyncSession, _: KokousError) -> tuple[str, dict[str, Any]]:
        kept = OrganisationForm(**{k: v for k, v in vars(data).items() if not k.startswith("confirm_")})
        return "admin_organisation.html", _context(request, form=kept)

    return await change(request, data, work, again)


# ---- bodies and their members -------------------------------------------------------------------------


@dataclass
class BodyForm(Proof):
    slug: str = ""
    name: str = ""
    name_sv: str = ""
    kind: str = BodyKind.COMMITTEE.value
    seats: str = ""
    parent_id: str = ""
    call_period_days: str = ""
    electronic_meetings_allowed: str = ""
    decision_procedure_allowed: str = ""
    checking_method: str = ""
    meetings_public_by_default: str = ""  # "", "yes" or "no": "" follows the law's default for the kind
    csrf_token: str = ""


def body_form(body: Body) -> BodyForm:
    public = body.meetings_public_by_default
    return BodyForm(
        slug=body.slug,
        name=body.name,
        name_sv=body.name_sv,
        kind=body.kind,
        seats=str(body.seats),
        parent_id=str(body.parent_id or ""),
        call_period_days=str(body.call_period_days or ""),
        electronic_meetings_allowed="yes" if body.electronic_meetings_allowed else "",
        decision_procedure_allowed="yes" if body.decision_procedure_allowed else "",
        checking_method=body.checking_method or "",
        meetings_public_by_default="" if public is None else ("yes" if public else "no"),
    )


def body_spec(form: BodyForm) -> BodySpec:
    public = {"yes": True, "no": False}.get(form.meetings_public_by_default)
    return BodySpec(
        slug=form.slug.strip(),
        name=form.name.strip(),
        kind=form.kind,
        seats=whole_number(form.seats, "seats", "Give the number of seats as a whole number."),
        name_sv=form.name_sv.strip(),
        parent_id=optional_id(form.parent_id, "parent_id", "Choose one of the bodies offered."),
        call_period_days=(
            whole_number(form.call_period_days, "call_period_days", "The call period must be 1–60 days.")
            if form.call_period_days.strip()
            else None
        ),
        electronic_meetings_allowed=form.electronic_meetings_allowed == "yes",
        decision_procedure_allowed=form.decision_procedure_allowed == "yes",
        checking_method=form.checking_method or None,
        meetings_public_by_default=public,
    )


async def bodies_context(request: Req, session: AsyncSession, **extra: Any) -> dict[str, Any]:
    found = await bodies(session, include_inactive=True)
    parents = [(str(b.id), b.name) for b in found]
    return _context(
        request, **({"bodies": found, "parents": parents, "new_body": BodyForm(), "done": ""} | extra)
    )


@get("/admin/bodies", media_type=MediaType.HTML, guards=[admin])
async def bodies_page(
    request: Req, session: NamedDependency[AsyncSession], done: FromQuery[str] = ""
) -> Response[str]:
    return render(request, "admin_bodies.html", await bodies_context(request, session, done=done))


@post("/admin/bodies", guards=[admin], responses=STEP_UP_FORM)
async def create_body(request: Req, data: URLEncodedBody[BodyForm]) -> Response[Any]:
    async def work(s: Stepped) -> str:
        body = await do_create_body(s.session, spec=body_spec(data), actor=s.actor)
        return f"/admin/bodies/{body.id}?done=body-created"

    async def again(session: AsyncSession, _: KokousError) -> tuple[str, dict[str, Any]]:
        return "admin_bodies.html", await bodies_context(request, session, new_body=_kept_body(data))

    return await change(request, data, work, again)


def _kept_body(data: BodyForm) -> BodyForm:
    return BodyForm(**{k: v for k, v in vars(data).items() if not k.startswith("confirm_")})


@dataclass
class MemberForm(Proof):
    user_id: str = ""
    role: str = MemberRole.MEMBER.value
    term_start: str = ""
    term_end: str = ""
    deputy_for_id: str = ""
    title: str = ""
    csrf_token: str = ""


@dataclass(frozen=True, slots=True)
class Seat:
    membership: Membership
    name: str
    username: str
    deputy_for: str  # the name of the member a personal deputy stands in for


async def body_context(request: Req, session: AsyncSession, body_id: int, **extra: Any) -> dict[str, Any]:
    body = await _body(session, body_id)
    rows = await session.execute(
        select(Membership, User.display_name, User.username)
        .join(User, User.id == Membership.user_id)
        .where(Membership.body_id == body.id, Membership.ended_at.is_(None))
        .order_by(Membership.role, User.display_name, Membership.term_start)
    )
    held = list(rows)
    names = {m.id: name for m, name, _ in held}
    seats = [Seat(m, name, username, names.get(m.deputy_for_id or 0, "")) for m, name, username in held]
    people = (
        await session.execute(select(User).where(User.is_active.is_(True)).order_by(User.display_name))
    ).scalars()
    members = [s for s in seats if s.membership.role == MemberRole.MEMBER]
    context = {
        "body": body,
        "form": body_form(body),
        "seats": seats,
        "people": [(str(u.id), f"{u.display_name} ({u.username})") for u in people],
        "principals": [(str(s.membership.id), s.name) for s in members],
        "member_form": MemberForm(term_start=Times.calendar(local_today(request))),
        "parents": [
            (str(b.id), b.name) for b in await bodies(session, include_inactive=True) if b.id != body.id
        ],
        "done": "",
    }
    return _context(request, **(context | extra))


@get("/admin/bodies/{body_id:int}", media_type=MediaType.HTML, guards=[admin])
async def body_page(
    request: Req, session: NamedDependency[AsyncSession], body_id: FromPath[int], done: FromQuery[str] = ""
) -> Response[str]:
    return render(request, "admin_body.html", await body_context(request, session, body_id, done=done))


@post("/admin/bodies/{body_id:int}", guards=[admin], responses=STEP_UP_FORM)
async def update_body(request: Req, body_id: FromPath[int], data: URLEncodedBody[BodyForm]) -> Response[Any]:
    async def work(s: Stepped) -> str:
        body = await _body(s.session, body_id)
        await do_update_body(s.session, body=body, spec=body_spec(data), actor=s.actor)
        return f"/admin/bodies/{body_id}?done=body-saved"

    async def again(session: AsyncSession, _: KokousError) -> tuple[str, dict[str, Any]]:
        context = await body_context(request, session, body_id, form=_kept_body(data), failed="body")
        return "admin_body.html", context

    return await change(request, data, work, again)


def membership_spec(form: MemberForm) -> MembershipSpec:
    start = calendar_day(form.term_start, "term_start")
    if start is None:
        raise ValidationFailed("Give the first day of the term, e.g. 1.6.2025.", field="term_start")
    return MembershipSpec(
        user_id=optional_id(form.user_id, "user_id", "Choose a person.") or 0,
        role=form.role,
        term_start=start,
        term_end=calendar_day(form.term_end, "term_end"),
        deputy_for_id=optional_id(form.deputy_for_id, "deputy_for_id", "Choose one of the members offered."),
        title=form.title.strip(),
    )


@post("/admin/bodies/{body_id:int}/members", guards=[admin], responses=STEP_UP_FORM)
async def add_member(request: Req, body_id: FromPath[int], data: URLEncodedBody[MemberForm]) -> Response[Any]:
    async def work(s: Stepped) -> str:
        body = await _body(s.session, body_id)
        await do_add_membership(s.session, body=body, spec=membership_spec(data), actor=s.actor)
        return f"/admin/bodies/{body_id}?done=member-added#members"

    async def again(session: AsyncSession, _: KokousError) -> tuple[str, dict[str, Any]]:
        kept = MemberForm(**{k: v for k, v in vars(data).items() if not k.startswith("confirm_")})
        context = await body_context(request, session, body_id, member_form=kept, failed="member")
        return "admin_body.html", context

    return await change(request, data, work, again)


@post("/admin/bodies/{body_id:int}/members/{membership_id:int}/end", guards=[admin], responses=STEP_UP_FORM)
async def end_member(
    request: Req, body_id: FromPath[int], membership_id: FromPath[int], data: URLEncodedBody[ConfirmForm]
) -> Response[Any]:
    async def work(s: Stepped) -> str:
        membership = await s.session.get(Membership, membership_id)
        if membership is None or membership.body_id != body_id:
            raise NotFound("No such membership in this body.")
        await do_end_membership(s.session, membership=membership, actor=s.actor)
        return f"/admin/bodies/{body_id}?done=member-ended#members"

    async def again(session: AsyncSession, _: KokousError) -> tuple[str, dict[str, Any]]:
        return "admin_body.html", await body_context(request, session, body_id, failed="end")

    return await change(request, data, work, again)


# ---- the member import ------------------------------------------------------------------------------------


@get("/admin/bodies/{body_id:int}/import", media_type=MediaType.HTML, guards=[admin])
async def import_page(
    request: Req, session: NamedDependency[AsyncSession], body_id: FromPath[int]
) -> Response[str]:
    body = await _body(session, body_id)
    return render(request, "admin_import.html", _context(request, body=body, report=None, sheet=""))


@post(
    "/admin/bodies/{body_id:int}/import",
    media_type=MediaType.HTML,
    guards=[admin],
    request_max_body_size=IMPORT_BODY,
)
async def preview_import(request: Req, body_id: FromPath[int]) -> Response[str]:
    """Check the chosen file and show what it would do, row by row; nothing is saved (no step-up needed)."""
    media_type, options = request.content_type
    if media_type != "multipart/form-data":
        raise ValidationFailed("Choose the CSV file to check.", field="file")
    collected = Collected()
    form = await read_upload(request.stream(), multipart_boundary(options), collected, fields=frozenset())
    async with app_context(request).db.read() as session:
        body = await _body(session, body_id)
        try:
            if form.filename is None or not collected.data:
                raise ValidationFailed("Choose the CSV file to check.", field="file")
            data = bytes(collected.data)
            report = await imports.preview_members_import(session, body=body, csv_bytes=data)
        except ValidationFailed as exc:
            context = _context(request, body=body, report=None, sheet="", error=exc)
            return render(request, "admin_import.html", context, status_code=422)
    sheet = base64.b64encode(data).decode() if not report.rejections else ""
    status = 422 if report.rejections else 200
    context = _context(request, body=body, report=report, sheet=sheet, filename=form.filename)
    return render(request, "admin_import.html", context, status_code=status)


@dataclass
class ImportForm(Proof):
    sheet: str = ""  # the previewed file, base64
    sha256: str = ""  # the previewed file's digest, as the preview showed it
    csrf_token: str = ""


@post(
    "/admin/bodies/{body_id:int}/import/confirm",
    guards=[admin],
    request_max_body_size=CONFIRM_LIMIT,
    responses=STEP_UP_FORM,
)
async def confirm_import(
    request: Req, body_id: FromPath[int], data: URLEncodedBody[ImportForm]
) -> Response[Any]:
    """Import the previewed file, all rows or none, after a step-up (members.imported)."""
    try:
        sheet = base64.b64decode(data.sheet.encode(), validate=True)
    except (binascii.Error, ValueError):
        sheet = b""
    if not sheet or hashlib.sha256(sheet).hexdigest() != data.sha256:
        raise ValidationFailed("Check the file again before importing it.", field="file")
    outcome: list[imports.ImportReport] = []

    async def work(s: Stepped) -> str:
        body = await _body(s.session, body_id)
        report = await imports.do_import_members(s.session, body=body, csv_bytes=sheet, actor=s.actor)
        if report.rejections:  # the members changed since the preview: nothing was imported
            outcome.append(report)
            raise Conflict("The file no longer fits the body's members; nothing was imported.")
        return f"/admin/bodies/{body_id}?done=members-imported#members"

    async def again(session: AsyncSession, _: KokousError) -> tuple[str, dict[str, Any]]:
        body = await _body(session, body_id)
        report = (
            outcome[0]
            if outcome
            else await imports.preview_members_import(session, body=body, csv_bytes=sheet)
        )
        kept = "" if report.rejections else data.sheet
        return "admin_import.html", _context(request, body=body, report=report, sheet=kept)

    return await change(request, data, work, again)


admin_pages_router = Router(
    path="/",
    route_handlers=[
        overview,
        users_page,
        create_user,
        user_page,
        grant_role,
        revoke_role,
        deactivate,
        activate,
        reset_second_factor,
        organisation_page,
        save_organisation,
        bodies_page,
        create_body,
        body_page,
        update_body,
        add_member,
        end_member,
        import_page,
        preview_import,
        confirm_import,
    ],
)
