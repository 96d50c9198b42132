"""An access token's session id must name a login of the token's own user."""

from __future__ import annotations

from datetime import timedelta

import httpx

from auth.tokens import ACCESS
from tests.factories import api_login, audit_entries, make_user
from web.context import AppContext


def session_of(context: AppContext, headers: dict[str, str]) -> str:
    token = headers["Authorization"].removeprefix("Bearer ")
    claims = context.auth.tokens.decode(token, audience=ACCESS, now=context.db.clock())
    return str(claims.extra["sid"])


async def test_a_token_naming_another_users_session_is_refused(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    liisa = await make_user(context, "liisa")
    await make_user(context, "pekka")
    own = await api_login(client, "liisa")
    assert (await client.post("/api/auth/logout", headers=own)).status_code == 204
    pekkas_session = session_of(context, await api_login(client, "pekka"))
    # Signed with the service's own key: only the pairing of user and session is wrong.
    forged = context.auth.tokens.issue(
        subject=str(liisa.id),
        audience=ACCESS,
        now=context.db.clock(),
        lifetime=timedelta(minutes=10),
        sid=pekkas_session,
        amr=["pwd"],
        csrf="x",
        auth_time=int(context.db.clock().timestamp()),
    )
    response = await client.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    denied = (await audit_entries(context, "access.denied"))[-1]
    assert (denied.actor, denied.subject) == ("anonymous", "route:GET /api/me")
    assert '"reason":"not signed in"' in denied.data
