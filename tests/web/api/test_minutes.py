"""The minutes through the API: the whole flow with its audit entries, who may take each step (route table),
and what the public copy shows in HTML, PDF and JSON (R-PUB-1 … R-PUB-4)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest

from core.clock import FixedClock
from minutes.models import MinutesRecord
from tests.factories import audit_entries
from tests.meetings.live.world import SECRET_TITLE
from tests.minutes.held import COUNTER_TEXT, DISSENT_REASONS, TABLING_TEXT
from tests.web.minutes_world import (
    DEPERSONALISED,
    PRIVATE_NAME,
    People,
    checked,
    edit,
    open_minutes,
    people,
    signed,
    stepped_up,
)
from web.context import AppContext

SECRET_BASIS = "JulkL 24 § 1 mom 29 k"
SECRET_TEXTS = (SECRET_TITLE, TABLING_TEXT, "Hallitus päättää virkasuhteesta.")


@pytest.fixture
async def p(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> People:
    return await people(client, context, clock)


async def test_the_whole_flow_with_its_audit_entries(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, p: People
) -> None:
    minutes_id = await open_minutes(client, p)
    draft = (await client.get(f"/api/minutes/{minutes_id}", headers=p.secretary)).json()
    assert draft["state"] == "draft"
    assert [i["section"] for i in draft["document"]["items"]] == [1, 2]
    edited = await edit(client, p, minutes_id)
    assert edited.status_code == 200, edited.text
    assert [v["number"] for v in edited.json()["versions"]] == [1, 2]
    changes = (await client.get(f"/api/minutes/{minutes_id}/versions/2/changes", headers=p.checker)).json()
    assert {c["path"] for c in changes} == {
        "items.1.description",
        "items.1.personal_data",
        "items.1.depersonalised",
    }
    await checked(client, p, minutes_id)
    assert (await client.get(f"/api/minutes/{minutes_id}", headers=p.member)).json()["state"] == "checked"
    await signed(client, p, minutes_id, clock)
    response = await client.post(f"/api/minutes/{minutes_id}/publish", headers=p.secretary)
    assert response.json()["state"] == "published"
    assert (await client.get(f"/api/minutes/{minutes_id}/signed.pdf", headers=p.member)).content[
        :5
    ] == b"%PDF-"
    actions = [e.action for e in await audit_entries(context) if e.action.startswith("minutes.")]
    assert actions == [
        "minutes.drafted",
        "minutes.edited",
        "minutes.sent_for_checking",
        "minutes.approved",
        "minutes.approved",
        "minutes.signed",
        "minutes.signed",
        "minutes.published",
    ]
    checked_file = await client.post(
        "/api/verify",
        content=(await client.get(f"/api/minutes/{minutes_id}/signed.json", headers=p.member)).content,
    )
    assert checked_file.json()["verdict"] == "intact"
    assert [s["role"] for s in checked_file.json()["signatures"]] == ["chair", "secretary"]


# ---- who may do what ------------------------------------------------------------------------------

EVERYONE = ("secretary", "chair", "checker", "other_checker", "member", "presenter", "outsider", "anonymous")
# (step, route, allowed) in the order the workflow takes them; everyone else is refused at that step.
ROUTES = (
    ("edit", "PUT /api/minutes/{id}/wording", {"secretary"}),
    ("send", "POST /api/minutes/{id}/send", {"secretary"}),
    ("review", "POST /api/minutes/{id}/reviews", {"checker", "other_checker"}),
    ("sign", "POST /api/minutes/{id}/signatures", {"chair", "secretary"}),
    ("publish", "POST /api/minutes/{id}/publish", {"secretary"}),
)
REFUSED = {"anonymous": 401, "outsider": 404}  # the body's others get 403, or 409 when the state forbids it


async def _try(
    client: httpx.AsyncClient, route: str, minutes_id: int, headers: dict[str, str]
) -> httpx.Response:
    method, path = route.split()
    body = (
        {"approve": True, "comment": ""}
        if "reviews" in path
        else {"items": {}}
        if "wording" in path
        else None
    )
    return await client.request(method, path.format(id=minutes_id), headers=headers, json=body)


async def test_only_the_right_person_takes_each_step(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, p: People
) -> None:
    minutes_id = await open_minutes(client, p)
    for step, route, allowed in ROUTES:
        for who in EVERYONE:
            if who in allowed:
                continue
            response = await _try(client, route, minutes_id, p.who(who))
            expected = REFUSED.get(who, 403)
            if step == "sign" and who != "anonymous":
                expected = 403  # the step-up guard refuses first: no step-up, whoever it is
            assert response.status_code == expected, (step, who, response.text)
        if step == "edit":
            assert (await edit(client, p, minutes_id)).status_code == 200
        elif step == "send":
            await checked(client, p, minutes_id)
        elif step == "sign":
            await signed(client, p, minutes_id, clock)
    assert len(await audit_entries(context, "access.denied")) > 0


async def test_nobody_edits_signed_minutes(client: httpx.AsyncClient, clock: FixedClock, p: People) -> None:
    minutes_id = await open_minutes(client, p)
    await checked(client, p, minutes_id)
    await signed(client, p, minutes_id, clock)
    for who in EVERYONE:
        response = await client.put(
            f"/api/minutes/{minutes_id}/wording", headers=p.who(who), json={"items": {}}
        )
        assert response.status_code in (401, 403, 404, 409), who
        assert response.status_code != 200
    assert (
        await client.put(f"/api/minutes/{minutes_id}/wording", headers=p.secretary, json={})
    ).status_code == 409
    again = await stepped_up(client, p.chair, p.secrets["m1"], clock)
    assert (await client.post(f"/api/minutes/{minutes_id}/signatures", headers=again)).status_code == 409


async def test_the_public_never_sees_drafts_or_originals(
    client: httpx.AsyncClient, clock: FixedClock, p: People
) -> None:
    minutes_id = await open_minutes(client, p)
    for path in (
        f"/api/minutes/{minutes_id}",
        f"/minutes/{minutes_id}",
        f"/minutes/{minutes_id}/document",
        f"/api/minutes/{minutes_id}/signed.pdf",
    ):
        assert (await client.get(path, headers=p.outsider)).status_code == 404, path
        assert (await client.get(path)).status_code in (401, 303), path
    for path in (
        f"/api/public/minutes/{minutes_id}",
        f"/public/minutes/{minutes_id}",
        f"/public/minutes/{minutes_id}/minutes.pdf",
    ):
        assert (await client.get(path)).status_code == 404, path
        assert (await client.get(path, headers=p.secretary)).status_code == 404, path


# ---- the public copy --------------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "copy.pdf"
        path.write_bytes(data)
        found = subprocess.run(  # noqa: S603
            ["/usr/bin/pdftotext", "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            text=True,
            check=True,
        )
        return found.stdout


async def _copies(client: httpx.AsyncClient, minutes_id: int) -> dict[str, str]:
    html = await client.get(f"/public/minutes/{minutes_id}")
    pdf = await client.get(f"/public/minutes/{minutes_id}/minutes.pdf")
    data = await client.get(f"/api/public/minutes/{minutes_id}")
    assert (html.status_code, pdf.status_code, data.status_code) == (200, 200, 200)
    return {"HTML": html.text, "PDF": " ".join(pdf_text(pdf.content).split()), "JSON": data.text}


async def test_the_published_copy_mentions_confidential_items_only_and_loses_personal_data(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, p: People
) -> None:
    minutes_id = await open_minutes(client, p)
    await edit(client, p, minutes_id)
    await checked(client, p, minutes_id)
    await signed(client, p, minutes_id, clock)
    await client.post(f"/api/minutes/{minutes_id}/publish", headers=p.secretary)
    async with context.db.read() as session:
        minutes = await session.get(MinutesRecord, minutes_id)
        assert minutes is not None
        publish_at = minutes.publish_at
    assert (await client.get(f"/public/minutes/{minutes_id}")).status_code == 404  # not before its moment
    clock.now = publish_at
    for kind, text in (await _copies(client, minutes_id)).items():
        for secret in SECRET_TEXTS:  # R-PUB-2: only a mention, with its legal basis
            assert secret not in text, (kind, secret)
        assert SECRET_BASIS in text, kind
        assert PRIVATE_NAME in text, kind  # during the period, the item in full
        assert COUNTER_TEXT in text, kind

    from minutes.workflow import removal_at

    assert minutes is not None
    due = removal_at(minutes)
    assert due is not None
    clock.now = due
    for kind, text in (await _copies(client, minutes_id)).items():  # R-PUB-4
        assert PRIVATE_NAME not in text, kind
        assert DISSENT_REASONS not in text, kind
        assert DEPERSONALISED in text, kind
        for secret in SECRET_TEXTS:
            assert secret not in text, (kind, secret)
    async with context.db.read() as session:  # the body keeps the original whole
        original = await session.get(MinutesRecord, minutes_id)
        assert original is not None
        assert original.signed_json is not None
        assert PRIVATE_NAME in original.signed_json.decode()


async def test_the_body_feed_lists_published_minutes(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, p: People
) -> None:
    minutes_id = await open_minutes(client, p)
    await checked(client, p, minutes_id)
    await signed(client, p, minutes_id, clock)
    await client.post(f"/api/minutes/{minutes_id}/publish", headers=p.secretary)
    clock.advance(days=30)
    feed = await client.get("/bodies/kh/minutes.atom")
    assert feed.status_code == 200
    assert f"/public/minutes/{minutes_id}" in feed.text
    page = await client.get("/bodies/kh/minutes")
    assert f"/public/minutes/{minutes_id}" in page.text


async def test_a_signature_spends_its_step_up(
    client: httpx.AsyncClient, clock: FixedClock, p: People
) -> None:
    """The signing route renders before its transaction and spends the step-up in it: once, never again."""
    minutes_id = await open_minutes(client, p)
    await checked(client, p, minutes_id)
    headers = await stepped_up(client, p.chair, p.secrets["m1"], clock)
    assert (await client.post(f"/api/minutes/{minutes_id}/signatures", headers=headers)).status_code == 201
    again = await client.post(f"/api/minutes/{minutes_id}/signatures", headers=headers)
    assert again.status_code == 403  # the step-up is used
