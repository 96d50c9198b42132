"""Browser-facing pages: cookies, CSRF, security headers, languages and safe redirects."""

from __future__ import annotations

import re

import httpx

from auth import totp
from core.clock import FixedClock
from tests.factories import PASSWORD, audit_entries, make_user
from web.context import AppContext


def csrf_from(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def form_login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, next_path: str = "/"
) -> httpx.Response:
    page = await client.get("/login")
    return await client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_from(page.text),
            "next": next_path,
        },
    )


async def test_login_page_is_finnish_by_default_and_accessible(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert page.status_code == 200
    assert '<html lang="fi">' in page.text
    assert '<a class="skip-link" href="#content">' in page.text
    assert '<label for="username">' in page.text
    assert 'id="username"' in page.text
    assert page.cookies.get("kokous_csrf")


async def test_language_follows_the_choice_and_the_browser(client: httpx.AsyncClient) -> None:
    swedish = await client.get("/login", headers={"accept-language": "sv-FI,sv;q=0.9"})
    assert '<html lang="sv">' in swedish.text
    chosen = await client.get("/language", params={"lang": "en", "next": "/login"})
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/login"
    assert '<html lang="en">' in (await client.get("/login")).text


async def test_form_login_sets_strict_httponly_cookies(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    await make_user(context, "liisa")
    response = await form_login(client, "liisa", next_path="/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    cookies = response.headers.get_list("set-cookie")
    access = next(c for c in cookies if c.startswith("kokous_access="))
    refresh = next(c for c in cookies if c.startswith("kokous_refresh="))
    device = next(c for c in cookies if c.startswith("kokous_device="))  # a known device (docs/security.md)
    for cookie in (access, refresh, device):
        assert "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        assert "Secure" in cookie
    assert "Path=/auth/refresh" in refresh
    assert "Path=/login" in device
    account = await client.get("/account")
    assert account.status_code == 200
    assert "Liisa" in account.text


async def test_wrong_password_keeps_the_username_and_explains(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    await make_user(context, "liisa")
    response = await form_login(client, "liisa", "wrong password!")
    assert response.status_code == 401
    assert 'value="liisa"' in response.text
    assert 'role="alert"' in response.text
    assert "kokous_access" not in response.headers.get("set-cookie", "")


async def test_login_form_without_csrf_token_is_refused(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    await make_user(context, "liisa")
    await client.get("/login")
    response = await client.post(
        "/login", data={"username": "liisa", "password": PASSWORD}, headers={"accept": "text/html"}
    )
    assert response.status_code == 403
    assert len(await audit_entries(context, "session.started")) == 0


async def test_cookie_session_needs_csrf_for_changes(client: httpx.AsyncClient, context: AppContext) -> None:
    await make_user(context, "liisa")
    await form_login(client, "liisa")
    token = client.cookies["kokous_csrf"]
    refused = await client.post("/api/auth/logout")
    assert refused.status_code == 403
    planted = await client.post("/api/auth/logout", headers={"x-csrf-token": "planted-by-a-sibling-site"})
    assert planted.status_code == 403
    accepted = await client.post("/api/auth/logout", headers={"x-csrf-token": token})
    assert accepted.status_code == 204


async def test_expired_page_session_goes_through_refresh(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    await make_user(context, "liisa")
    await form_login(client, "liisa")
    clock.advance(minutes=11)
    page = await client.get("/account", headers={"accept": "text/html"})
    assert page.status_code == 303
    assert page.headers["location"] == "/auth/refresh?next=%2Faccount"
    renewed = await client.get(page.headers["location"])
    assert renewed.status_code == 303
    assert renewed.headers["location"] == "/account"
    assert (await client.get("/account")).status_code == 200


async def test_sign_in_redirect_keeps_the_whole_address(client: httpx.AsyncClient) -> None:
    deep = await client.get("/audit?actor=a&action=b", headers={"accept": "text/html"})
    assert deep.headers["location"] == "/auth/refresh?next=%2Faudit%3Factor%3Da%26action%3Db"
    onward = await client.get(deep.headers["location"])
    assert onward.headers["location"] == "/login?next=%2Faudit%3Factor%3Da%26action%3Db"


async def test_logout_clears_cookies_and_ends_the_session(
    client: httpx.AsyncClient, context: AppContext
) -> None:
    await make_user(context, "liisa")
    await form_login(client, "liisa")
    access = client.cookies["kokous_access"]
    response = await client.post("/logout", data={"csrf_token": client.cookies["kokous_csrf"]})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    client.cookies.clear()
    after = await client.get("/api/me", headers={"Authorization": f"Bearer {access}"})
    assert after.status_code == 401


async def test_next_parameter_cannot_leave_the_site(client: httpx.AsyncClient, context: AppContext) -> None:
    await make_user(context, "liisa")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        client.cookies.clear()
        response = await form_login(client, "liisa", next_path=target)
        assert response.headers["location"] == "/"


async def test_security_headers_on_pages_and_api(client: httpx.AsyncClient) -> None:
    for path in ("/login", "/health", "/api/me"):
        response = await client.get(path)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["strict-transport-security"].startswith("max-age=")
    assert (await client.get("/login")).headers["cache-control"] == "no-store"


async def test_errors_leak_no_internals(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not found.", "status": 404}
    page = await client.get("/nothing-here", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "Traceback" not in page.text


async def test_openapi_schema_is_published(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/auth/login" in schema["paths"]
    assert "/api/audit/entries" in schema["paths"]


async def test_member_may_add_a_second_factor_and_then_needs_it(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    await make_user(context, "liisa")
    await form_login(client, "liisa")
    offer = await client.get("/account/second-factor")
    started = await client.post(
        "/account/second-factor/start",
        data={"current_password": PASSWORD, "csrf_token": csrf_from(offer.text)},
    )
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', started.text)
    assert secret
    ticket = re.search(r'name="ticket" value="([^"]+)"', started.text)
    assert ticket
    form = {"ticket": ticket.group(1), "csrf_token": csrf_from(started.text)}
    wrong = await client.post("/account/second-factor", data=form | {"code": "000000"})
    assert wrong.status_code == 422
    assert secret.group(0) in wrong.text  # a mistyped code keeps the new secret on the page
    code = totp.code_at(secret.group(1), clock())
    done = await client.post("/account/second-factor", data=form | {"code": code})
    assert done.status_code == 200
    assert done.text.count("<li><code>") == 10
    client.cookies.clear()
    again = await form_login(client, "liisa")
    assert again.headers["location"].startswith("/login/code")
    actions = [e.action for e in await audit_entries(context)]
    assert actions[-3:] == ["totp.enrolment_started", "totp.failed", "totp.enrolment_confirmed"]


async def test_csrf_refusal_is_recorded(client: httpx.AsyncClient, context: AppContext) -> None:
    await client.post("/login", data={"username": "x", "password": "y"}, headers={"accept": "text/html"})
    denied = await audit_entries(context, "access.denied")
    assert denied[-1].subject == "route:POST /login"
    assert "CSRF" in denied[-1].data
