"""Server-rendered pages: one Jinja environment, the user's language and the CSRF token in every context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import MediaType, Request, Response
from litestar.datastructures import Cookie

from auth.queries import Principal
from core.errors import KokousError
from meetings.rules import Problem
from web import i18n
from web.security import CSRF_COOKIE, LANG_COOKIE, new_csrf_token

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html",)),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _say(translate: i18n.Translate, error: KokousError | Problem | str) -> str:
    """A person-readable message in the page's language: a template is translated, then filled."""
    if isinstance(error, KokousError | Problem):
        return translate(error.template).format(**error.params) if error.params else translate(error.template)
    return translate(error)


def language_of(request: Request[Any, Any, Any]) -> str:
    return i18n.negotiate(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def render(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    cookies: list[Cookie] | None = None,
) -> Response[str]:
    lang = language_of(request)
    csrf = request.cookies.get(CSRF_COOKIE)
    cookies = list(cookies or [])
    if not csrf and not any(c.key == CSRF_COOKIE for c in cookies):
        csrf = new_csrf_token()
        https = request.app.state.context.settings.https
        cookies.append(Cookie(key=CSRF_COOKIE, value=csrf, path="/", secure=https, samesite="strict"))
    csrf = next((c.value for c in cookies if c.key == CSRF_COOKIE and c.value), csrf)
    user = request.scope.get("user")
    translate = i18n.translator(lang)
    page = _env.get_template(template).render(
        _=translate,
        say=lambda error: _say(translate, error),
        lang=lang,
        languages=i18n.NAMES,
        user=user if isinstance(user, Principal) else None,
        csrf_token=csrf,
        path=request.url.path,
        **(context or {}),
    )
    return Response(
        page, status_code=status_code, headers=headers, cookies=cookies, media_type=MediaType.HTML
    )
