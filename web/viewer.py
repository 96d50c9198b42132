"""The request's viewer (a person's roles in each body, or the public) and the recording of refusals."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from auth.queries import Principal
from core.clock import LOCAL
from core.errors import Forbidden, NotFound
from meetings.access import Hidden, Viewer, viewer_for
from web.security import app_context, record_denial


def local_today(request: Request[Any, Any, Any]) -> date:
    """The request's day in Helsinki, by the app's clock: the day whose terms and roles count."""
    return app_context(request).db.clock().astimezone(LOCAL).date()


async def current_viewer(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession]) -> Viewer:
    principal = request.scope.get("user")
    return await viewer_for(
        session, principal if isinstance(principal, Principal) else None, on=local_today(request)
    )


async def record_hidden(exc: Exception, scope: Any) -> None:
    """After-exception hook: a hidden or missing object or a refused action is a denied access (DESIGN.md §4).

    Guards record their own refusals; this catches those raised by access functions and handlers. A missing
    object is recorded exactly as a hidden one (same kind, same work), so that neither the answer nor its
    timing tells whether the object exists; only the reason, for the auditor, says which it was.
    """
    if scope.get("type") != "http" or scope.get("kokous_denied"):
        return
    request: Request[Any, Any, Any] = Request(scope)
    if isinstance(exc, NotFound):
        found = "hidden" if isinstance(exc, Hidden) else "missing"
        await record_denial(request, f"{found}: {exc.message}", kind="not_found")
    elif isinstance(exc, Forbidden):
        await record_denial(request, f"forbidden: {exc.message}", kind="forbidden")
