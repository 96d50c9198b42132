import httpx

from tests.factories import api_login, audit_entries, make_user
from web.context import AppContext


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_member_logs_in_with_password(client: httpx.AsyncClient, context: AppContext) -> None:
    await make_user(context, "liisa")
    headers = await api_login(client, "liisa")
    me = await client.get("/api/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["username"] == "liisa"
    assert [e.action for e in await audit_entries(context, "session.started")] == ["session.started"]
