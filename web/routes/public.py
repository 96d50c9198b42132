"""Placeholder: filled in by the work on public."""

from litestar import Router

public_router = Router(path="/", route_handlers=[])
