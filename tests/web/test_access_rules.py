"""Every route has a declared access rule, and each rule is enforced (a table that must grow with the app)."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.factories import api_login, make_user
from web.context import AppContext

PUBLIC, SIGNED_IN, AUDITOR, ADMIN = "public", "signed in", "auditor", "admin"
# Rules that depend on the viewer's roles in the body: tests/web/test_meeting_permissions.py.
BODY = "by role in the body"

RULES: dict[tuple[str, str], str] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/login/code"): PUBLIC,
    ("POST", "/login/code"): PUBLIC,
    ("GET", "/login/enrol"): PUBLIC,
    ("POST", "/login/enrol"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/auth/refresh"): PUBLIC,
    ("GET", "/language"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/second-factor"): PUBLIC,
    ("POST", "/api/auth/enrolment"): PUBLIC,
    ("POST", "/api/auth/enrolment/confirm"): PUBLIC,
    ("POST", "/api/auth/refresh"): PUBLIC,
    ("POST", "/api/auth/logout"): SIGNED_IN,
    ("POST", "/api/auth/step-up"): SIGNED_IN,
    ("GET", "/api/me"): SIGNED_IN,
    ("POST", "/api/me/password"): SIGNED_IN,
    ("GET", "/account"): SIGNED_IN,
    ("POST", "/account/password"): SIGNED_IN,
    ("GET", "/account/second-factor"): SIGNED_IN,
    ("POST", "/account/second-factor/start"): SIGNED_IN,
    ("POST", "/account/second-factor"): SIGNED_IN,
    ("GET", "/audit"): AUDITOR,
    ("GET", "/audit/verify"): AUDITOR,
    ("GET", "/api/audit/entries"): AUDITOR,
    ("GET", "/api/audit/export"): AUDITOR,
    ("GET", "/api/audit/checkpoints"): AUDITOR,
    ("GET", "/api/audit/verify"): AUDITOR,
    ("GET", "/api/users"): ADMIN,
    ("POST", "/api/users"): ADMIN,
    ("POST", "/api/users/{user_id:int}/roles"): ADMIN,
    ("DELETE", "/api/users/{user_id:int}/roles/{role:str}"): ADMIN,
    ("POST", "/api/users/{user_id:int}/second-factor/reset"): ADMIN,
    ("GET", "/api/organisation"): ADMIN,
    ("PUT", "/api/organisation"): ADMIN,
    ("GET", "/api/bodies"): PUBLIC,
    ("POST", "/api/bodies"): ADMIN,
    ("GET", "/api/bodies/{body_id:int}"): PUBLIC,
    ("PUT", "/api/bodies/{body_id:int}"): ADMIN,
    ("GET", "/api/bodies/{body_id:int}/members"): PUBLIC,
    ("POST", "/api/bodies/{body_id:int}/members"): ADMIN,
    ("DELETE", "/api/bodies/{body_id:int}/members/{membership_id:int}"): ADMIN,
    ("GET", "/api/bodies/{body_id:int}/meetings"): BODY,
    ("POST", "/api/bodies/{body_id:int}/meetings"): SIGNED_IN,
    ("GET", "/api/meetings/{meeting_id:int}"): BODY,
    ("PUT", "/api/meetings/{meeting_id:int}"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/items"): SIGNED_IN,
    ("PUT", "/api/items/{item_id:int}"): SIGNED_IN,
    ("DELETE", "/api/items/{item_id:int}"): SIGNED_IN,
    ("PUT", "/api/meetings/{meeting_id:int}/order"): SIGNED_IN,
    ("GET", "/api/items/{item_id:int}/versions"): BODY,
    ("GET", "/api/meetings/{meeting_id:int}/call"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/call"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/cancel"): SIGNED_IN,
    ("GET", "/api/my/meetings"): SIGNED_IN,
    ("POST", "/api/items/{item_id:int}/disqualification"): SIGNED_IN,
    ("DELETE", "/api/items/{item_id:int}/disqualification"): SIGNED_IN,
    ("POST", "/api/bodies/{body_id:int}/members/import"): ADMIN,
    ("POST", "/api/items/{item_id:int}/attachments"): SIGNED_IN,
    ("GET", "/api/attachments/{attachment_id:int}"): BODY,
    ("DELETE", "/api/attachments/{attachment_id:int}"): SIGNED_IN,
    ("PATCH", "/api/attachments/{attachment_id:int}"): SIGNED_IN,
    ("GET", "/bodies"): PUBLIC,
    ("GET", "/search"): PUBLIC,
    ("GET", "/bodies/{slug:str}"): PUBLIC,
    ("GET", "/bodies/{slug:str}/feed.atom"): PUBLIC,
    ("POST", "/bodies/{slug:str}/meetings"): SIGNED_IN,
    ("GET", "/meetings/{meeting_id:int}"): BODY,
    ("GET", "/my/meetings"): SIGNED_IN,
    ("GET", "/meetings/{meeting_id:int}/items/{item_id:int}/disqualification"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/items/{item_id:int}/disqualification"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/items/{item_id:int}/disqualification/withdraw"): SIGNED_IN,
    ("GET", "/meetings/{meeting_id:int}/live"): BODY,  # and the public at a public meeting
    ("GET", "/meetings/{meeting_id:int}/live/panel"): BODY,
    (
        "POST",
        "/meetings/{meeting_id:int}/live/{action:str}",
    ): SIGNED_IN,  # then by role: web.pages.live
    ("GET", "/meetings/{meeting_id:int}/edit"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/edit"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/edit/items"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/edit/items/{item_id:int}"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/edit/items/{item_id:int}/move"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/edit/items/{item_id:int}/remove"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/edit/call"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/cancel"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/edit/items/{item_id:int}/attachments"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/attachments/{attachment_id:int}"): SIGNED_IN,
    ("GET", "/api/meetings/{meeting_id:int}/media"): BODY,
    ("GET", "/meetings/{meeting_id:int}/media"): BODY,
    ("POST", "/api/meetings/{meeting_id:int}/media/offer"): BODY,
    ("POST", "/api/meetings/{meeting_id:int}/media/renegotiate"): BODY,
    ("POST", "/api/meetings/{meeting_id:int}/media/leave"): BODY,
    ("POST", "/api/meetings/{meeting_id:int}/media/attest"): SIGNED_IN,
    ("GET", "/api/meetings/{meeting_id:int}/recordings"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/recording"): SIGNED_IN,
    ("GET", "/api/meetings/{meeting_id:int}/recordings/{name:str}"): SIGNED_IN,
    ("GET", "/meetings/{meeting_id:int}/recordings"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/recordings"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/recording/public"): SIGNED_IN,
    # The public gets a public item's recording once the minutes are published (tests/web/test_recordings.py).
    ("GET", "/api/public/meetings/{meeting_id:int}/recordings"): PUBLIC,
    ("GET", "/api/public/meetings/{meeting_id:int}/recordings/{name:str}"): PUBLIC,
    ("GET", "/meetings/{meeting_id:int}/recordings/public"): PUBLIC,
    ("POST", "/api/meetings/{meeting_id:int}/live/roll-call"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/roll-call/marks"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/roll-call/end"): SIGNED_IN,
    # The live meeting's API (by role in the body: tests/web/test_live_permissions.py).
    ("GET", "/api/meetings/{meeting_id:int}/live"): BODY,
    ("POST", "/api/meetings/{meeting_id:int}/live/open"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/lawful"): SIGNED_IN,
    ("PUT", "/api/meetings/{meeting_id:int}/live/checkers"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/suspend"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/resume"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/close"): SIGNED_IN,
    ("PUT", "/api/meetings/{meeting_id:int}/live/floor-rules"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/arrivals"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/departures"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/items/{item_id:int}/take-up"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/items/{item_id:int}/recusals"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/items/{item_id:int}/close-discussion"): SIGNED_IN,
    ("PUT", "/api/meetings/{meeting_id:int}/live/items/{item_id:int}/order"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/items/{item_id:int}/decision"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/items/{item_id:int}/floor"): SIGNED_IN,
    ("DELETE", "/api/meetings/{meeting_id:int}/live/floor/{request_id:int}"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/floor/{request_id:int}/grant"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/items/{item_id:int}/floor/end"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/items/{item_id:int}/proposals"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/proposals/{proposal_id:int}/seconding"): SIGNED_IN,
    ("PUT", "/api/meetings/{meeting_id:int}/live/proposals/{proposal_id:int}"): SIGNED_IN,
    ("DELETE", "/api/meetings/{meeting_id:int}/live/proposals/{proposal_id:int}"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/items/{item_id:int}/votes"): SIGNED_IN,
    ("PUT", "/api/meetings/{meeting_id:int}/live/votes/{vote_id:int}/ballot"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/votes/{vote_id:int}/close"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/items/{item_id:int}/dissents"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/items/{item_id:int}/elections"): SIGNED_IN,
    ("PUT", "/api/meetings/{meeting_id:int}/live/elections/{election_id:int}/ballot"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/elections/{election_id:int}/close"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/live/items/{item_id:int}/statements"): SIGNED_IN,
    # The decision procedure: tests/web/api/test_procedure.py and test_procedure_pages.py (R-EDP-6).
    ("GET", "/api/procedure"): SIGNED_IN,
    ("GET", "/api/procedure/{procedure_id:int}"): BODY,
    ("POST", "/api/procedure/{procedure_id:int}/stance"): BODY,
    ("GET", "/api/procedure/{procedure_id:int}/overview"): BODY,
    ("GET", "/procedure"): SIGNED_IN,
    ("GET", "/procedure/{procedure_id:int}"): BODY,
    ("POST", "/procedure/{procedure_id:int}/stance"): BODY,
    ("GET", "/admin"): ADMIN,
    ("GET", "/admin/users"): ADMIN,
    ("POST", "/admin/users"): ADMIN,
    ("GET", "/admin/users/{user_id:int}"): ADMIN,
    ("POST", "/admin/users/{user_id:int}/roles"): ADMIN,
    ("POST", "/admin/users/{user_id:int}/roles/revoke"): ADMIN,
    ("POST", "/admin/users/{user_id:int}/deactivate"): ADMIN,
    ("POST", "/admin/users/{user_id:int}/activate"): ADMIN,
    ("POST", "/admin/users/{user_id:int}/second-factor/reset"): ADMIN,
    ("GET", "/admin/organisation"): ADMIN,
    ("POST", "/admin/organisation"): ADMIN,
    ("GET", "/admin/bodies"): ADMIN,
    ("POST", "/admin/bodies"): ADMIN,
    ("GET", "/admin/bodies/{body_id:int}"): ADMIN,
    ("POST", "/admin/bodies/{body_id:int}"): ADMIN,
    ("POST", "/admin/bodies/{body_id:int}/members"): ADMIN,
    ("POST", "/admin/bodies/{body_id:int}/members/{membership_id:int}/end"): ADMIN,
    ("GET", "/admin/bodies/{body_id:int}/import"): ADMIN,
    ("POST", "/admin/bodies/{body_id:int}/import"): ADMIN,
    ("POST", "/admin/bodies/{body_id:int}/import/confirm"): ADMIN,
    # The minutes (docs/minutes.md; who takes each step: tests/web/api/test_minutes.py).
    ("POST", "/api/meetings/{meeting_id:int}/minutes"): SIGNED_IN,
    ("GET", "/api/minutes/{minutes_id:int}"): SIGNED_IN,
    ("GET", "/api/minutes/{minutes_id:int}/versions/{number:int}/changes"): SIGNED_IN,
    ("PUT", "/api/minutes/{minutes_id:int}/wording"): SIGNED_IN,
    ("POST", "/api/minutes/{minutes_id:int}/send"): SIGNED_IN,
    ("POST", "/api/minutes/{minutes_id:int}/reviews"): SIGNED_IN,
    ("POST", "/api/minutes/{minutes_id:int}/signatures"): SIGNED_IN,
    ("POST", "/api/minutes/{minutes_id:int}/publish"): SIGNED_IN,
    ("GET", "/api/minutes/{minutes_id:int}/signed.pdf"): SIGNED_IN,
    ("GET", "/api/minutes/{minutes_id:int}/signed.json"): SIGNED_IN,
    ("GET", "/api/public/minutes/{minutes_id:int}"): PUBLIC,
    ("GET", "/public/minutes/{minutes_id:int}"): PUBLIC,
    ("GET", "/public/minutes/{minutes_id:int}/minutes.pdf"): PUBLIC,
    ("GET", "/bodies/{slug:str}/minutes"): PUBLIC,
    ("GET", "/bodies/{slug:str}/minutes.atom"): PUBLIC,
    ("POST", "/api/verify"): PUBLIC,
    ("GET", "/verify"): PUBLIC,
    ("POST", "/verify"): PUBLIC,
    ("GET", "/minutes"): SIGNED_IN,
    ("GET", "/minutes/{minutes_id:int}"): SIGNED_IN,
    ("GET", "/minutes/{minutes_id:int}/document"): SIGNED_IN,
    ("GET", "/minutes/{minutes_id:int}/versions/{number:int}"): SIGNED_IN,
    ("GET", "/meetings/{meeting_id:int}/minutes"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/minutes"): SIGNED_IN,
    ("POST", "/minutes/{minutes_id:int}/wording"): SIGNED_IN,
    ("POST", "/minutes/{minutes_id:int}/send"): SIGNED_IN,
    ("POST", "/minutes/{minutes_id:int}/review"): SIGNED_IN,
    ("POST", "/minutes/{minutes_id:int}/publish"): SIGNED_IN,
    ("POST", "/minutes/{minutes_id:int}/sign"): SIGNED_IN,
    # The decision procedure's record checked before the meeting (R-CHECK-5; by role and by checker:
    # tests/web/api/test_procedure_check.py).
    ("GET", "/api/meetings/{meeting_id:int}/procedure-check"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/procedure-check"): SIGNED_IN,
    ("PUT", "/api/meetings/{meeting_id:int}/procedure-check/checkers"): SIGNED_IN,
    ("POST", "/api/meetings/{meeting_id:int}/procedure-check/reviews"): SIGNED_IN,
    ("GET", "/meetings/{meeting_id:int}/procedure-check"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/procedure-check"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/procedure-check/checkers"): SIGNED_IN,
    ("POST", "/meetings/{meeting_id:int}/procedure-check/review"): SIGNED_IN,
}
SKIPPED_PATHS = ("/static", "/schema")


def app_routes(app: Litestar) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(SKIPPED_PATHS):
            continue
        for method in route.methods:
            if method not in ("HEAD", "OPTIONS"):
                found.add((method, route.path.rstrip("/") or "/"))
    return found


def concrete(path: str) -> str:
    names = ("user_id", "body_id", "membership_id", "meeting_id", "item_id", "attachment_id")
    for name in (*names, "request_id", "proposal_id", "vote_id", "election_id", "minutes_id", "number"):
        path = path.replace(f"{{{name}:int}}", "1")
    return path.replace("{role:str}", "member").replace("{slug:str}", "kh")


def test_every_route_has_a_rule(app: Litestar) -> None:
    assert app_routes(app) == set(RULES), "add the new route to RULES with its access rule"


@pytest.mark.parametrize(("method", "path"), [k for k, v in RULES.items() if v not in (PUBLIC, BODY)])
async def test_anonymous_is_refused(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, concrete(path), json={})
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path"), [k for k, v in RULES.items() if v in (AUDITOR, ADMIN)])
async def test_plain_member_is_refused(
    client: httpx.AsyncClient, context: AppContext, method: str, path: str
) -> None:
    await make_user(context, "liisa")
    headers = await api_login(client, "liisa")
    response = await client.request(method, concrete(path), headers=headers, json={})
    assert response.status_code == 403
