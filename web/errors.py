"""One place that turns domain errors into HTTP responses: JSON for the API, a page for browsers."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlencode

import msgspec
import msgspec.inspect
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
)

from core.bounds import TOO_LONG
from core.errors import (
    Conflict,
    Forbidden,
    KokousError,
    NotAuthenticated,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from core.text import translatable
from meetings.storage import Damaged, TooLarge, UnsupportedType
from web.rendering import render
from web.schemas import Error

log = logging.getLogger("kokous.web")

STATUS: dict[type[KokousError], int] = {
    NotFound: HTTP_404_NOT_FOUND,
    NotAuthenticated: HTTP_401_UNAUTHORIZED,
    Forbidden: HTTP_403_FORBIDDEN,
    Conflict: HTTP_409_CONFLICT,
    ValidationFailed: HTTP_422_UNPROCESSABLE_ENTITY,
    RateLimited: HTTP_429_TOO_MANY_REQUESTS,
    TooLarge: HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    UnsupportedType: HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    Damaged: HTTP_500_INTERNAL_SERVER_ERROR,
}


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith(
        ("/api/", "/health", "/schema")
    ) or "text/html" not in request.headers.get("accept", "")


def status_of(exc: KokousError) -> int:
    """The HTTP status of a domain error, for the API's answers and the pages alike."""
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), HTTP_400_BAD_REQUEST)


def refused_form(
    request: Request[Any, Any, Any], template: str, context: dict[str, Any], exc: KokousError
) -> Response[Any]:
    """A form page again with `exc` in it (`error`), its status, and when to retry after a RateLimited."""
    headers = {"retry-after": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return render(request, template, context | {"error": exc}, status_code=status_of(exc), headers=headers)


def respond(
    request: Request[Any, Any, Any],
    status: int,
    message: str,
    *,
    error: KokousError | None = None,
    **extra: Any,
) -> Response[Any]:
    headers = {}
    if "retry_after" in extra:
        headers["retry-after"] = str(extra["retry_after"])
    if _wants_json(request):
        body = Error(error=str(message), status=status, **extra)
        return Response(body, status_code=status, headers=headers, media_type=MediaType.JSON)
    if status == HTTP_401_UNAUTHORIZED:
        # The refresh page renews an expired access cookie, or sends the person on to the login page.
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Response(
            b"", status_code=303, headers={"location": f"/auth/refresh?{urlencode({'next': here})}"}
        )
    return render(
        request,
        "error.html",
        {"status": status, "message": error or message},
        status_code=status,
        headers=headers,
    )


def kokous_error(request: Request[Any, Any, Any], exc: KokousError) -> Response[Any]:
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationFailed):
        extra["field"] = exc.field
    if isinstance(exc, RateLimited):
        extra["retry_after"] = exc.retry_after
    return respond(request, status_of(exc), exc.message, error=exc, **extra)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, NotFoundException):
        return respond(request, HTTP_404_NOT_FOUND, "Not found.")
    if isinstance(exc, ValidationException):
        bound = _beyond_bound(exc) or _not_a_choice(request, exc)
        if bound is not None:
            return kokous_error(request, bound)
        invalid = KokousError("The request is not valid: {problem}", problem=_first_problem(exc))
        return respond(request, HTTP_400_BAD_REQUEST, invalid.message, error=invalid)
    status = exc.status_code
    message = (
        exc.detail
        if status < HTTP_500_INTERNAL_SERVER_ERROR
        else translatable("Something went wrong on our side.")
    )
    return respond(request, status, message)


# msgspec's words for a value beyond a bound that a struct declares (core.bounds): a 422 naming the field, in
# the same words as the domain's own check, rather than a 400 about the request's shape.
TOO_MANY = translatable("At most {max} values fit here.")
AT_MOST = translatable("The number can be at most {max}.")
AT_LEAST = translatable("The number must be at least {min}.")
BOUNDS = (
    (re.compile(r"Expected `str` of length <= (\d+)"), TOO_LONG, "max"),
    (re.compile(r"Expected `array` of length <= (\d+)"), TOO_MANY, "max"),
    (re.compile(r"Expected `int` <= (-?\d+)"), AT_MOST, "max"),
    (re.compile(r"Expected `int` >= (-?\d+)"), AT_LEAST, "min"),
)


def _beyond_bound(exc: ValidationException) -> ValidationFailed | None:
    extra = exc.extra
    if not (isinstance(extra, list) and extra and isinstance(extra[0], dict)):
        return None
    message, key = str(extra[0].get("message", "")), extra[0].get("key")
    for pattern, template, bound in BOUNDS:
        if found := pattern.match(message):
            limit = {bound: int(found.group(1))}
            return ValidationFailed(template, field=str(key) if key else None, **limit)
    return None


def _not_a_choice(request: Request[Any, Any, Any], exc: ValidationException) -> ValidationFailed | None:
    """A word outside a body field's closed list (an enum or a Literal): a 422 that names the field and lists
    the words, as the domain's own check (core.bounds.check_choice) does."""
    extra = exc.extra
    if not (isinstance(extra, list) and extra and isinstance(extra[0], dict)):
        return None
    key = str(extra[0].get("key") or "").split(".")[0].split("[")[0]
    if not str(extra[0].get("message", "")).startswith("Invalid enum value") or not key:
        return None
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    try:
        info = msgspec.inspect.type_info(data.annotation) if data is not None else None
    except (TypeError, ValueError):
        return None
    fields = {f.encode_name: f.type for f in getattr(info, "fields", ())}
    allowed = ", ".join(str(word) for word in _words(fields[key])) if key in fields else ""
    if not allowed:
        return None
    return ValidationFailed("{name} must be one of: {allowed}.", field=key, name=key, allowed=allowed)


def _words(info: msgspec.inspect.Type) -> list[object]:
    if isinstance(info, msgspec.inspect.EnumType):
        return [member.value for member in info.cls]
    if isinstance(info, msgspec.inspect.LiteralType):
        return list(info.values)
    if isinstance(info, msgspec.inspect.UnionType):
        return [word for part in info.types for word in _words(part)]
    if isinstance(info, msgspec.inspect.ListType | msgspec.inspect.Metadata):
        return _words(info.item_type if isinstance(info, msgspec.inspect.ListType) else info.type)
    return []


def _first_problem(exc: ValidationException) -> str:
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        key = extra[0].get("key")
        detail = extra[0].get("message", "invalid value")
        return f"{key}: {detail}" if key else str(detail)
    return str(exc.detail)


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error", extra={"fields": {"path": request.url.path}})
    return respond(
        request, HTTP_500_INTERNAL_SERVER_ERROR, "Something went wrong on our side. Nothing was saved."
    )


HANDLERS: dict[type[Exception] | int, Any] = {
    KokousError: kokous_error,
    HTTPException: http_error,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error,
}
