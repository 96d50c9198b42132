"""Server-rendered pages: one Jinja environment, the user's language and the CSRF token in every context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import MediaType, Request, Response
from litestar.datastructures import Cookie

from auth.queries import Principal
from core.errors import KokousError
from meetings.imports import Rejection
from meetings.rules.call import Problem
from web import i18n
from web.cache import CachedPage
from web.security import CSRF_COOKIE, LANG_COOKIE, new_csrf_token

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html",)),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _say(translate: i18n.Translate, error: KokousError | Problem | Rejection | str) -> str:
    """A person-readable message in the page's language: a template is translated, then filled."""
    if isinstance(error, Rejection):
        return error.say(translate)
    if isinstance(error, KokousError | Problem):
        return translate(error.template).format(**error.params) if error.params else translate(error.template)
    return translate(error)


def language_of(request: Request[Any, Any, Any]) -> str:
    return i18n.negotiate(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def _csrf(request: Request[Any, Any, Any], cookies: list[Cookie]) -> str:
    """The page's CSRF token; a new one (and its cookie) for a browser that has none."""
    csrf = request.cookies.get(CSRF_COOKIE)
    planned = next((c.value for c in cookies if c.key == CSRF_COOKIE and c.value), None)
    if planned:
        return planned
    if csrf:
        return csrf
    csrf = new_csrf_token()
    https = request.app.state.context.settings.https
    cookies.append(Cookie(key=CSRF_COOKIE, value=csrf, path="/", secure=https, samesite="strict"))
    return csrf


def render_page(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any] | None = None,
    *,
    csrf: str = "",
) -> str:
    """The page's HTML in the person's language."""
    lang = language_of(request)
    translate = i18n.translator(lang)
    context = dict(context or {})
    # A page answering the request that signed the person in shows them signed in (`signed_in`).
    user = context.pop("signed_in", None) or request.scope.get("user")
    return _env.get_template(template).render(
        _=translate,
        say=lambda error: _say(translate, error),
        lang=lang,
        languages=i18n.NAMES,
        user=user if isinstance(user, Principal) else None,
        csrf_token=csrf,
        path=request.url.path,
        **context,
    )


# Stands for the CSRF token in a cached rendering; tokens are URL-safe base64, so nothing needs escaping.
CSRF_SLOT = "kokous-csrf-slot-0f6c"


def cacheable(request: Request[Any, Any, Any], template: str, context: dict[str, Any]) -> CachedPage:
    """A rendering to keep in the page cache: the CSRF token is left as a slot for `rendered`."""
    return CachedPage.of(render_page(request, template, context, csrf=CSRF_SLOT), CSRF_SLOT)


def rendered(request: Request[Any, Any, Any], page: CachedPage, *, status_code: int = 200) -> Response[bytes]:
    """A page rendered earlier, with this browser's CSRF token (and cookie, if it has none yet)."""
    cookies: list[Cookie] = []
    body = page.fill(_csrf(request, cookies))
    return Response(body, status_code=status_code, cookies=cookies, media_type=MediaType.HTML)


def render(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    cookies: list[Cookie] | None = None,
) -> Response[str]:
    cookies = list(cookies or [])
    page = render_page(request, template, context, csrf=_csrf(request, cookies))
    return Response(
        page, status_code=status_code, headers=headers, cookies=cookies, media_type=MediaType.HTML
    )
