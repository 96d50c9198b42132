"""Placeholder: filled in by the work on imports."""

from litestar import Router

imports_router = Router(path="/", route_handlers=[])
