"""The request's viewer (a person's roles in each body, or the public) and the recording of refusals."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from auth.queries import Principal
from core.clock import LOCAL
from core.errors import Forbidden
from meetings.access import Hidden, Viewer, viewer_for
from web.security import app_context, record_denial


async def current_viewer(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession]) -> Viewer:
    principal = request.scope.get("user")
    today = app_context(request).db.clock().astimezone(LOCAL).date()
    return await viewer_for(session, principal if isinstance(principal, Principal) else None, on=today)


async def record_hidden(exc: Exception, scope: Any) -> None:
    """After-exception hook: a hidden object or a refused action is a denied access (DESIGN.md §4).

    Guards record their own refusals; this catches those raised by access functions and handlers.
    """
    if scope.get("type") != "http" or scope.get("kokous_denied"):
        return
    if isinstance(exc, Hidden | Forbidden):
        request: Request[Any, Any, Any] = Request(scope)
        await record_denial(request, f"{'hidden' if isinstance(exc, Hidden) else 'forbidden'}: {exc.message}")
