"""Browser pages for signing in and out, the second factor at sign-in, and language choice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from auth import actions
from auth.login import DEVICE_DAYS
from auth.queries import load_principal
from auth.tokens import ACCESS
from core.errors import Conflict, NotAuthenticated, RateLimited
from web.errors import refused_form
from web.http import Req
from web.i18n import LANGUAGES
from web.openapi import answers
from web.rendering import render
from web.security import (
    BOUNDED_READS,
    DEVICE_COOKIE,
    LANG_COOKIE,
    REFRESH_COOKIE,
    STEP_COOKIE,
    app_context,
    cleared_cookies,
    client_address,
    session_cookies,
)

FORM = {"browser_form": True}


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//other.example` or a full URL (open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def with_next(path: str, target: str | None) -> str:
    """`path` with a URL-encoded, same-site `next` target."""
    return f"{path}?{urlencode({'next': safe_next(target)})}"


def _agent(request: Req) -> str:
    return request.headers.get("user-agent", "")[:200]


def _signed_in(request: Req, tokens: actions.SessionTokens, target: str) -> Response[Any]:
    context = app_context(request)
    cookies = session_cookies(
        context.settings.https,
        access=tokens.access_token,
        refresh=tokens.refresh_token,
        csrf=tokens.csrf_token,
        refresh_days=context.settings.refresh_token_days,
    )
    cookies.append(_login_cookie(request, STEP_COOKIE, "", max_age=0))
    if tokens.device:  # this browser is now a known device of the account (docs/security.md)
        cookies.append(_login_cookie(request, DEVICE_COOKIE, tokens.device, max_age=DEVICE_DAYS * 86400))
    return Redirect(safe_next(target), status_code=303, cookies=cookies)


def _step_cookie(request: Req, token: str) -> Cookie:
    return _login_cookie(
        request, STEP_COOKIE, token, max_age=app_context(request).settings.mfa_token_minutes * 60
    )


def _login_cookie(request: Req, key: str, value: str, *, max_age: int) -> Cookie:
    """A cookie only the sign-in pages (/login…) get back: HttpOnly, SameSite=Strict, Secure over HTTPS."""
    https = app_context(request).settings.https
    return Cookie(
        key=key, value=value, path="/login", httponly=True, secure=https, samesite="strict", max_age=max_age
    )


@dataclass
class LoginForm:
    username: str = ""
    password: str = ""
    next: str = "/"
    csrf_token: str = ""


@dataclass
class CodeForm:
    code: str = ""
    next: str = "/"
    csrf_token: str = ""


@get("/login", media_type=MediaType.HTML)
async def login_page(request: Req, next: FromQuery[str] = "/") -> Response[str]:
    return render(request, "login.html", {"next": safe_next(next), "username": ""})


@post("/login", media_type=MediaType.HTML, opt=FORM, responses=answers(401, 429))
async def login_submit(request: Req, data: URLEncodedBody[LoginForm]) -> Response[Any]:
    target = safe_next(data.next)
    try:
        step = await app_context(request).login.password(
            username=data.username,
            password=data.password,
            address=client_address(request),
            user_agent=_agent(request),
            device=request.cookies.get(DEVICE_COOKIE, ""),
        )
    except (NotAuthenticated, RateLimited) as exc:
        return refused_form(request, "login.html", {"next": target, "username": data.username}, exc)
    if step.tokens is not None:
        return _signed_in(request, step.tokens, target)
    where = "/login/code" if step.next_step == "verify" else "/login/enrol"
    return Redirect(
        with_next(where, target), status_code=303, cookies=[_step_cookie(request, step.step_token or "")]
    )


@get("/login/code", media_type=MediaType.HTML, responses=answers(303))
async def code_page(request: Req, next: FromQuery[str] = "/") -> Response[Any]:
    if not request.cookies.get(STEP_COOKIE):
        return Redirect(with_next("/login", next), status_code=303)
    return render(request, "code.html", {"next": safe_next(next)})


@post("/login/code", media_type=MediaType.HTML, opt=FORM, responses=answers(401, 429))
async def code_submit(request: Req, data: URLEncodedBody[CodeForm]) -> Response[Any]:
    target = safe_next(data.next)
    try:
        tokens = await app_context(request).login.second_factor(
            step_token=request.cookies.get(STEP_COOKIE, ""),
            code=data.code,
            address=client_address(request),
            user_agent=_agent(request),
        )
    except (NotAuthenticated, RateLimited) as exc:
        return refused_form(request, "code.html", {"next": target}, exc)
    return _signed_in(request, tokens, target)


@get("/login/enrol", media_type=MediaType.HTML, responses=answers(303))
async def enrol_page(request: Req, next: FromQuery[str] = "/") -> Response[Any]:
    try:
        enrolment = await app_context(request).login.start_enrolment(
            step_token=request.cookies.get(STEP_COOKIE, ""), address=client_address(request)
        )
    except (NotAuthenticated, RateLimited):
        return Redirect(with_next("/login", next), status_code=303)
    return render(request, "enrol.html", {"next": safe_next(next), "enrolment": enrolment})


@post("/login/enrol", media_type=MediaType.HTML, opt=FORM, responses=answers(401, 429))
async def enrol_submit(request: Req, data: URLEncodedBody[CodeForm]) -> Response[Any]:
    target = safe_next(data.next)
    try:
        tokens, codes = await app_context(request).login.confirm_enrolment(
            step_token=request.cookies.get(STEP_COOKIE, ""),
            code=data.code,
            address=client_address(request),
            user_agent=_agent(request),
        )
    except (NotAuthenticated, RateLimited, Conflict) as exc:
        return refused_form(request, "enrol.html", {"next": target, "enrolment": None}, exc)
    signed = _signed_in(request, tokens, target)
    context = app_context(request)
    claims = context.auth.tokens.decode(tokens.access_token, audience=ACCESS, now=context.db.clock())
    async with context.db.read(bounded=True) as session:
        person = await load_principal(
            session,
            user_id=int(claims.subject),
            family=tokens.family,
            methods=tuple(claims.extra.get("amr", ())),
            via="cookie",
        )
    shown = {"codes": codes, "next": target, "signed_in": person}
    return render(request, "recovery.html", shown, cookies=list(signed.cookies))


@post("/logout", media_type=MediaType.HTML, opt=FORM)
async def logout(request: Req, session: NamedDependency[AsyncSession]) -> Response[Any]:
    principal = request.scope.get("user")
    if principal is not None:
        await actions.do_end_session(session, user_id=principal.user_id, family=principal.session_family)
    return Redirect("/login", status_code=303, cookies=cleared_cookies(app_context(request).settings.https))


@get("/auth/refresh", media_type=MediaType.HTML, responses=answers(303))
async def refresh(request: Req, next: FromQuery[str] = "/") -> Response[Any]:
    """Browsers come here when their short-lived access cookie has expired."""
    target = safe_next(next)
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        return Redirect(with_next("/login", target), status_code=303)
    try:
        tokens = await app_context(request).login.refresh(
            refresh_token=token, address=client_address(request)
        )
    except (NotAuthenticated, RateLimited):
        return Redirect(
            with_next("/login", target),
            status_code=303,
            cookies=cleared_cookies(app_context(request).settings.https),
        )
    return _signed_in(request, tokens, target)


@get("/language", media_type=MediaType.HTML, responses=answers(303))
async def language(request: Req, lang: FromQuery[str] = "fi", next: FromQuery[str] = "/") -> Response[Any]:
    chosen = lang if lang in LANGUAGES else "fi"
    cookie = Cookie(
        key=LANG_COOKIE,
        value=chosen,
        path="/",
        max_age=365 * 86400,
        samesite="lax",
        secure=app_context(request).settings.https,
    )
    return Redirect(safe_next(next), status_code=303, cookies=[cookie])


pages_router = Router(
    path="/",
    opt=BOUNDED_READS,
    route_handlers=[
        login_page,
        login_submit,
        code_page,
        code_submit,
        enrol_page,
        enrol_submit,
        logout,
        refresh,
        language,
    ],
)
