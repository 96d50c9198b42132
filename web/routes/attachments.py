"""Placeholder: filled in by the work on attachments."""

from litestar import Router

attachments_router = Router(path="/", route_handlers=[])
