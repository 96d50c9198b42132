"""The request type that every route takes, named once."""

from __future__ import annotations

from typing import Any

from litestar import Request

Req = Request[Any, Any, Any]
