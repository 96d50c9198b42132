"""Route guards: thin adapters that refuse, record the refusal in the audit log, and raise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from auth.models import Role
from auth.queries import Principal
from core.bounds import valid_id
from core.errors import Forbidden, NotAuthenticated, NotFound
from web.security import app_context, auth_failure, record_denial

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]
STEP_UP_SECONDS = 600


async def deny(connection: ASGIConnection[Any, Any, Any, Any], reason: str, *, kind: str) -> None:
    await record_denial(connection, reason, kind=kind)


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal):
        raise NotAuthenticated(auth_failure(connection) or "Please sign in.")
    return principal


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not isinstance(connection.scope.get("user"), Principal):
        await deny(connection, "not signed in", kind="not_signed_in")
        principal_of(connection)


def has_role(*roles: Role) -> Guard:
    """Any one of `roles`, organisation-wide."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        await signed_in(connection, handler)
        principal = principal_of(connection)
        if not any(principal.has_role(role) for role in roles):
            await deny(connection, f"requires role {' or '.join(roles)}", kind="role")
            raise Forbidden("You do not have the right to do this.")

    return guard


async def recent_step_up(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Admin changes need password and second factor proven within the last ten minutes."""
    claims = connection.scope.get("auth")
    now = app_context(connection).db.clock().timestamp()
    auth_time = claims.extra.get("auth_time", 0) if claims is not None else 0
    methods = set(claims.extra.get("amr", [])) if claims is not None else set()
    if now - auth_time > STEP_UP_SECONDS or not methods & {"otp", "recovery"}:
        await deny(connection, "step-up authentication required", kind="step_up")
        raise Forbidden("Confirm your identity again (password and code) to make this change.")


async def ids_in_range(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The app's first guard: every number in a route's path is an id (`{meeting_id:int}` …), and one that
    no row can have (0, negative, beyond the INTEGER keys) is not found, as a missing one is, before any
    other guard or the database sees it (a database fails on a number wider than its column)."""
    if any(isinstance(value, int) and not valid_id(value) for value in connection.path_params.values()):
        raise NotFound("Not found.")
