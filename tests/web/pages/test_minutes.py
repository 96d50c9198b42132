"""The minutes' pages: the forms take the same steps as the API and refuse the same people, with the refusal
shown on the page (the Chromium test, tests/browser/test_minutes.py, walks the whole way)."""

from __future__ import annotations

import httpx
import pytest

from core.clock import FixedClock
from tests.factories import audit_entries
from tests.web.minutes_world import People, people
from web.context import AppContext


@pytest.fixture
async def p(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> People:
    return await people(client, context, clock)


async def _opened(client: httpx.AsyncClient, p: People) -> int:
    meeting = p.held.board.meeting_id
    refused = await client.post(f"/meetings/{meeting}/minutes", headers=p.member)
    assert refused.status_code == 403  # only the body's secretary opens them
    page = await client.get(f"/meetings/{meeting}/minutes", headers=p.secretary)
    assert page.status_code == 200
    assert 'action="/meetings/' in page.text
    opened = await client.post(f"/meetings/{meeting}/minutes", headers=p.secretary)
    assert opened.status_code == 303
    return int(opened.headers["location"].rsplit("/", 1)[1])


async def test_the_secretary_opens_and_edits_and_others_read(
    client: httpx.AsyncClient, context: AppContext, p: People
) -> None:
    minutes_id = await _opened(client, p)
    assert (await client.get(f"/minutes/{minutes_id}", headers=p.outsider)).status_code == 404
    member_view = await client.get(f"/minutes/{minutes_id}", headers=p.member)
    assert member_view.status_code == 200
    assert f'action="/minutes/{minutes_id}/wording"' not in member_view.text
    own = await client.get(f"/minutes/{minutes_id}", headers=p.secretary)
    assert f'action="/minutes/{minutes_id}/wording"' in own.text
    form = {"description_1": "Tarkennettu kuvaus.", "decision_1": "", "note": "Kuvaus", "publish_at": "x"}
    unreadable = await client.post(f"/minutes/{minutes_id}/wording", headers=p.secretary, data=form)
    assert unreadable.status_code == 422
    form["publish_at"] = ""  # keeps the planned moment
    saved = await client.post(f"/minutes/{minutes_id}/wording", headers=p.secretary, data=form)
    assert saved.status_code == 303
    changes = await client.get(f"/minutes/{minutes_id}/versions/2", headers=p.checker)
    assert "Tarkennettu kuvaus." in changes.text
    refused = await client.post(f"/minutes/{minutes_id}/wording", headers=p.member, data=form)
    assert refused.status_code == 403
    assert 'role="alert"' in refused.text
    document = await client.get(f"/minutes/{minutes_id}/document", headers=p.member)
    assert "Tarkennettu kuvaus." in document.text
    assert "style-src 'unsafe-inline'" in document.headers["content-security-policy"]
    listed = await client.get("/minutes", headers=p.member)
    assert f"/minutes/{minutes_id}" in listed.text
    assert len(await audit_entries(context, "minutes.edited")) == 1


async def test_checkers_review_on_the_page(client: httpx.AsyncClient, context: AppContext, p: People) -> None:
    minutes_id = await _opened(client, p)
    assert (await client.post(f"/minutes/{minutes_id}/send", headers=p.member)).status_code == 403
    assert (await client.post(f"/minutes/{minutes_id}/send", headers=p.secretary)).status_code == 303
    page = await client.get(f"/minutes/{minutes_id}", headers=p.checker)
    assert f'action="/minutes/{minutes_id}/review"' in page.text
    reject = {"decision": "reject", "comment": ""}
    assert (
        await client.post(f"/minutes/{minutes_id}/review", headers=p.checker, data=reject)
    ).status_code == 422
    outsider = await client.post(f"/minutes/{minutes_id}/review", headers=p.member, data=reject)
    assert outsider.status_code == 403
    reject["comment"] = "§ 1: päätöksen sanamuoto."
    assert (
        await client.post(f"/minutes/{minutes_id}/review", headers=p.checker, data=reject)
    ).status_code == 303
    assert len(await audit_entries(context, "minutes.rejected")) == 1


async def test_signing_on_the_page_needs_the_password_and_code(
    client: httpx.AsyncClient, context: AppContext, p: People
) -> None:
    minutes_id = await _opened(client, p)
    await client.post(f"/minutes/{minutes_id}/send", headers=p.secretary)
    for checker in (p.checker, p.other_checker):
        data = {"decision": "approve", "comment": ""}
        assert (
            await client.post(f"/minutes/{minutes_id}/review", headers=checker, data=data)
        ).status_code == 303
    wrong = await client.post(
        f"/minutes/{minutes_id}/sign", headers=p.chair, data={"password": "väärä", "code": "000000"}
    )
    assert wrong.status_code == 401
    assert 'role="alert"' in wrong.text
    assert await audit_entries(context, "minutes.signed") == []
    member = await client.post(
        f"/minutes/{minutes_id}/sign", headers=p.member, data={"password": "x", "code": "1"}
    )
    assert member.status_code in (401, 403)
    assert await audit_entries(context, "minutes.signed") == []


async def test_an_over_long_text_is_refused_by_name_not_cut(
    client: httpx.AsyncClient, context: AppContext, p: People
) -> None:
    """A form's text beyond its limit is a 422 naming the field in the page's language; nothing is saved."""
    minutes_id = await _opened(client, p)
    finnish = {**p.secretary, "accept-language": "fi"}
    form = {"description_1": "Kuvaus.", "note": "x" * 501, "publish_at": ""}
    refused = await client.post(f"/minutes/{minutes_id}/wording", headers=finnish, data=form)
    assert refused.status_code == 422
    assert "Version huomautuksessa voi olla enintään 500 merkkiä." in refused.text
    assert await audit_entries(context, "minutes.edited") == []
    form["note"] = "x" * 500
    assert (
        await client.post(f"/minutes/{minutes_id}/wording", headers=finnish, data=form)
    ).status_code == 303
    assert (await client.post(f"/minutes/{minutes_id}/send", headers=p.secretary)).status_code == 303
    swedish = {**p.checker, "accept-language": "sv"}
    reject = {"decision": "reject", "comment": "y" * 5001}
    refused = await client.post(f"/minutes/{minutes_id}/review", headers=swedish, data=reject)
    assert refused.status_code == 422
    assert "Kommentaren får ha högst 5000 tecken." in refused.text
    assert await audit_entries(context, "minutes.rejected") == []


async def test_an_over_long_password_or_code_is_refused_before_any_step_up(
    client: httpx.AsyncClient, context: AppContext, p: People
) -> None:
    minutes_id = await _opened(client, p)
    finnish = {**p.chair, "accept-language": "fi"}
    for data, words in (
        ({"password": "p" * 1025, "code": "000000"}, "Salasanassa voi olla enintään 1024 merkkiä."),
        ({"password": "p", "code": "0" * 65}, "Tunnistuskoodissa voi olla enintään 64 merkkiä."),
    ):
        refused = await client.post(f"/minutes/{minutes_id}/sign", headers=finnish, data=data)
        assert refused.status_code == 422
        assert words in refused.text
    assert await audit_entries(context, "minutes.signed") == []
    assert await audit_entries(context, "session.stepped_up") == []
