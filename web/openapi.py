"""The OpenAPI document at /schema/openapi.json, made to say what the app really answers (docs/security.md,
"Fuzzing"): every operation's refusals, redirects and media types are derived here, in one place, from the
route's own metadata (its guards, method, parameters and body limit), so a new route is documented truly as
soon as it exists. A route says more only where it is special: `answers(...)` for statuses no metadata shows
(a throttled sign-in's 429, a page that sends the browser on), `download(...)` for a file's media types.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute

from web.limits import SMALL_BODY
from web.schemas import Error

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
DOWNLOAD = "download"  # the `opt` key of a route that answers with a file: its media types
ERROR_REF = {"$ref": "#/components/schemas/Error"}
HTML = {"schema": {"type": "string"}}
REDIRECT = {
    "description": "See Other: where to go next (a form's result, or sign-in for a browser that is not).",
    "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
}
RETRY_AFTER = {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 0}}}
# Guards every route has (web/app.py); a route with any other guard refuses whoever it does not let in.
APP_GUARDS = frozenset({"ids_in_range", "csrf_guard"})
_STATE_KEY = "openapi_document"


def download(*media_types: str) -> dict[str, object]:
    """The `opt` of a route whose answer is a file of one of `media_types` rather than JSON or a page."""
    return {DOWNLOAD: media_types}


def answers(*statuses: int) -> dict[int, ResponseSpec]:
    """`responses=` of a route that can answer `statuses` for reasons its metadata does not show; their
    bodies and headers are filled in by `complete`, like every other refusal's."""
    return {
        status: ResponseSpec(data_container=Error, description=HTTPStatus(status).phrase)
        for status in statuses
    }


class DocumentPlugin(JsonRenderPlugin):
    """Serves `document(app)` instead of the document as Litestar generates it."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self.render_json(request, document(request.app))


def config() -> OpenAPIConfig:
    return OpenAPIConfig(title="Kokous", version="0.1.0", path="/schema", render_plugins=[DocumentPlugin()])


def document(app: Litestar) -> dict[str, Any]:
    """The completed document, built once per app on first use (building it costs as much as a request)."""
    if _STATE_KEY not in app.state:
        generated = copy.deepcopy(app.plugins.get(OpenAPIPlugin).provide_openapi_schema())
        app.state[_STATE_KEY] = complete(generated, app.routes)
    found: dict[str, Any] = app.state[_STATE_KEY]
    return found


def complete(doc: dict[str, Any], routes: Iterable[object]) -> dict[str, Any]:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = _error_schema()
    for route in routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            for method in handler.http_methods:
                operation = doc["paths"].get(route.path_format, {}).get(method.lower())
                if operation is not None:
                    _complete_operation(operation, handler, method, route.path_format)
    _refuse_unknown_fields(doc)
    return doc


def _error_schema() -> dict[str, Any]:
    _, components = msgspec.json.schema_components([Error], ref_template="#/components/schemas/{name}")
    schema: dict[str, Any] = components["Error"]
    return schema


def is_page(path: str, handler: HTTPRouteHandler) -> bool:
    """A page or a form of the browser interface: everything outside /api/ that is not a file or /health."""
    return not path.startswith("/api/") and path != "/health" and DOWNLOAD not in handler.opt


def _complete_operation(operation: dict[str, Any], handler: HTTPRouteHandler, method: str, path: str) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    page = is_page(path, handler)
    _document_success(responses, handler, method, page)
    for status in sorted(statuses(operation, handler, method, page)):
        described = responses.setdefault(str(status), {"description": HTTPStatus(status).phrase})
        if status == 303:
            responses[str(status)] = REDIRECT
            continue
        if status < 400:  # 304: nothing has changed since the copy the client names
            responses[str(status)] = {"description": HTTPStatus(status).phrase}
            continue
        described["content"] = {"application/json": {"schema": ERROR_REF}}
        if page:
            described["content"]["text/html"] = HTML  # a browser gets the page again, with the error in it
        if status == 429:
            described["headers"] = RETRY_AFTER


def _document_success(responses: dict[str, Any], handler: HTTPRouteHandler, method: str, page: bool) -> None:
    success = next((code for code in responses if code.startswith("2")), None)
    if DOWNLOAD in handler.opt and success is not None:
        binary = {"schema": {"type": "string", "format": "binary"}}
        responses[success]["content"] = dict.fromkeys(handler.opt[DOWNLOAD], binary)
    elif page and success is not None:
        if method in SAFE or handler.status_code == 200:  # a form answered by a page, not a redirect
            responses[success]["content"] = {"text/html": HTML}
        else:  # a form: the result is somewhere else (303)
            del responses[success]


def statuses(operation: dict[str, Any], handler: HTTPRouteHandler, method: str, page: bool) -> set[int]:
    """The refusals (and redirects) an operation can answer, from what the route declares."""
    found = {int(code) for code in operation["responses"] if code.isdigit() and int(code) >= 300}
    parameters = operation.get("parameters", [])
    guards = {getattr(guard, "__qualname__", "").split(".")[0] for guard in handler.resolve_guards()}
    if parameters or "requestBody" in operation or method not in SAFE:
        found |= {400, 422}
    if any(p["in"] == "path" for p in parameters):
        found.add(404)  # a missing object, one hidden from this viewer, or an id out of range
    if guards - APP_GUARDS:
        found |= {401, 403}
    if method not in SAFE:
        found |= {403, 409, 413}  # a cookie session's CSRF check; a state that forbids it; a body too large
    if is_upload(operation, handler, method):
        found.add(415)  # a file of a type that is not accepted
    if page and (method not in SAFE or guards - APP_GUARDS):
        found.add(303)
    return found


def is_upload(operation: dict[str, Any], handler: HTTPRouteHandler, method: str) -> bool:
    """A route that reads a file from its body itself (web.uploads), past the limit of JSON and forms."""
    large = (handler.resolve_request_max_body_size() or 0) > SMALL_BODY
    return method not in SAFE and large and "requestBody" not in operation


def _refuse_unknown_fields(doc: dict[str, Any]) -> None:
    """Request bodies refuse fields they do not know (msgspec's forbid_unknown_fields): say so."""
    names = set()
    for path in doc["paths"].values():
        for operation in path.values():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                ref = content.get("schema", {}).get("$ref", "")
                names.add(ref.rsplit("/", 1)[-1])
    for name in names:
        schema = doc["components"]["schemas"].get(name)
        if schema is not None and schema.get("type") == "object":
            schema.setdefault("additionalProperties", False)
