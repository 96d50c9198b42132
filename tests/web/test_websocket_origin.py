"""WebSocket handshakes from other sites are refused: browsers send no CSRF token there (DESIGN.md §4)."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from tests.conftest import BASE_URL


def test_same_origin_socket_is_accepted(app: Litestar) -> None:
    with TestClient(app, base_url=BASE_URL) as client, client.websocket_connect(
        "/ws/health", headers={"origin": BASE_URL}
    ) as socket:
        socket.send_text("ping")
        assert socket.receive_text() == "pong"


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://kokous.test", ""])
def test_foreign_or_missing_origin_is_refused(app: Litestar, origin: str) -> None:
    headers = {"origin": origin} if origin else {}
    with TestClient(app, base_url=BASE_URL) as client, pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/ws/health", headers=headers) as socket:
            socket.send_text("ping")
            socket.receive_text()
    assert refused.value.code == 1008
