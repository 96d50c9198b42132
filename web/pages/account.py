"""The account pages: one's password and second factor, each changed only after proving who one is again.

The changes run in the credential flow's own short transactions (auth/credentials.py), so these handlers take
no request transaction: one held open here would wait on the flow's writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Response, Router, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect

from auth.queries import user_by_id
from core.errors import Conflict, RateLimited, ValidationFailed
from web.errors import refused_form
from web.guards import principal_of, signed_in
from web.http import Req
from web.openapi import answers
from web.rendering import render
from web.security import BOUNDED_READS, app_context, client_address

SECOND_FACTOR_PAGE = "account_enrol.html"


@dataclass
class PasswordForm:
    current_password: str = ""
    new_password: str = ""
    repeat_password: str = ""
    csrf_token: str = ""


@dataclass
class ProofForm:
    current_password: str = ""
    code: str = ""
    csrf_token: str = ""


@dataclass
class NewCodeForm:
    code: str = ""
    ticket: str = ""
    csrf_token: str = ""


@get("/account", media_type=MediaType.HTML, guards=[signed_in])
async def account(request: Req, done: FromQuery[str] = "") -> Response[str]:
    return render(request, "account.html", {"done": done})


@post("/account/password", media_type=MediaType.HTML, guards=[signed_in], responses=answers(429))
async def account_password(request: Req, data: URLEncodedBody[PasswordForm]) -> Response[Any]:
    """This session stays; the others end, and the owner is e-mailed."""
    try:
        if data.new_password != data.repeat_password:
            raise ValidationFailed("The new passwords do not match.", field="repeat_password")
        await app_context(request).credentials.change_password(
            principal_of(request),
            current=data.current_password,
            new=data.new_password,
            address=client_address(request),
        )
    except (ValidationFailed, RateLimited) as exc:
        return refused_form(request, "account.html", {}, exc)
    return Redirect("/account?done=password-changed", status_code=303)


@get("/account/second-factor", media_type=MediaType.HTML, guards=[signed_in])
async def account_second_factor(request: Req) -> Response[str]:
    """Anyone may add a second factor; roles that require it were made to at sign-in."""
    return render(request, SECOND_FACTOR_PAGE, {"enrolment": None, "enabled": await _enabled(request)})


@post("/account/second-factor/start", media_type=MediaType.HTML, guards=[signed_in], responses=answers(429))
async def account_second_factor_start(request: Req, data: URLEncodedBody[ProofForm]) -> Response[Any]:
    """The password, and a code of the second factor in use: then a new secret to scan."""
    try:
        change = await app_context(request).credentials.start_second_factor_change(
            principal_of(request),
            password=data.current_password,
            code=data.code,
            address=client_address(request),
        )
    except (ValidationFailed, RateLimited, Conflict) as exc:
        return refused_form(request, SECOND_FACTOR_PAGE, await _start_again(request), exc)
    return render(request, SECOND_FACTOR_PAGE, {"enrolment": change, "enabled": await _enabled(request)})


@post("/account/second-factor", media_type=MediaType.HTML, guards=[signed_in], responses=answers(429))
async def account_second_factor_confirm(request: Req, data: URLEncodedBody[NewCodeForm]) -> Response[Any]:
    """A code from the new app makes it the second factor; the other sessions end, the owner is e-mailed."""
    try:
        codes = await app_context(request).credentials.confirm_second_factor_change(
            principal_of(request), ticket=data.ticket, code=data.code, address=client_address(request)
        )
    except (ValidationFailed, RateLimited, Conflict) as exc:
        # A mistyped code keeps the new secret on the page; anything else starts again.
        change = await app_context(request).credentials.pending_change(principal_of(request), data.ticket)
        again = await _start_again(request)
        return refused_form(request, SECOND_FACTOR_PAGE, again | {"enrolment": change}, exc)
    return render(request, "recovery.html", {"codes": codes, "next": "/account"})


async def _enabled(request: Req) -> bool:
    async with app_context(request).db.read(bounded=True) as session:
        user = await user_by_id(session, principal_of(request).user_id)
        return user is not None and user.totp_secret is not None


async def _start_again(request: Req) -> dict[str, Any]:
    return {"enrolment": None, "enabled": await _enabled(request)}


account_router = Router(
    path="/",
    opt=BOUNDED_READS,
    route_handlers=[
        account,
        account_password,
        account_second_factor,
        account_second_factor_start,
        account_second_factor_confirm,
    ],
)
