"""Which safe requests read on the event loop's thread (decision 0006): pages do, the audit log never."""

from __future__ import annotations

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute


def bounded_routes(app: Litestar) -> dict[tuple[str, str], bool]:
    found = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                assert isinstance(handler, HTTPRouteHandler)
                for method in handler.http_methods:
                    found[(method, route.path)] = bool(handler.opt.get("bounded_reads"))
    return found


def test_the_audit_log_is_never_read_on_the_event_loop(app: Litestar) -> None:
    routes = bounded_routes(app)
    audit = {key: bounded for key, bounded in routes.items() if "audit" in key[1]}
    assert audit
    assert not any(audit.values()), audit


def test_the_agenda_pages_and_their_api_read_on_the_event_loop(app: Litestar) -> None:
    routes = bounded_routes(app)
    for key in (
        ("GET", "/meetings/{meeting_id:int}"),
        ("GET", "/api/meetings/{meeting_id:int}"),
        ("GET", "/bodies/{slug:str}"),
        ("GET", "/meetings/{meeting_id:int}/edit"),
    ):
        assert routes[key], key
