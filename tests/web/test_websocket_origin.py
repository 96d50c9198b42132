"""WebSocket handshakes from other sites are refused: browsers send no CSRF token there (DESIGN.md §4)."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from tests.conftest import BASE_URL
from web.context import AppContext


def test_same_origin_socket_is_accepted(standalone_app: tuple[Litestar, AppContext]) -> None:
    app, _ = standalone_app
    with (
        TestClient(app, base_url=BASE_URL) as client,
        client.websocket_connect("/ws/health", headers={"origin": BASE_URL}) as socket,
    ):
        socket.send_text("ping")
        assert socket.receive_text() == "pong"


def ping(client: TestClient[Litestar], headers: dict[str, str]) -> str:
    with client.websocket_connect("/ws/health", headers=headers) as socket:
        socket.send_text("ping")
        return socket.receive_text()


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://kokous.test", ""])
def test_foreign_or_missing_origin_is_refused(
    standalone_app: tuple[Litestar, AppContext], origin: str
) -> None:
    app, _ = standalone_app
    headers = {"origin": origin} if origin else {}
    with TestClient(app, base_url=BASE_URL) as client, pytest.raises(WebSocketDisconnect) as refused:
        ping(client, headers)
    assert refused.value.code == 1008


async def test_refused_handshake_is_recorded(app: Litestar, context: AppContext) -> None:
    from tests.factories import audit_entries

    transport_scope = {
        "type": "websocket",
        "path": "/ws/health",
        "headers": [(b"origin", b"https://evil.example")],
        "client": ("192.0.2.7", 1),
        "app": app,
        "query_string": b"",
        "root_path": "",
    }
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app(transport_scope, receive, send)  # type: ignore[arg-type]
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "origin not allowed"}]
    denied = await audit_entries(context, "access.denied")
    assert denied[-1].subject == "route:WEBSOCKET /ws/health"
    assert "evil.example" in denied[-1].data
