"""The procedure's HTML pages: the list, the item with its form, and the form's answers (R-EDP-6)."""

from __future__ import annotations

import httpx
import pytest

from core.clock import FixedClock
from tests.factories import api_login, enrol_totp
from tests.meetings.decision_procedure.steps import at
from tests.meetings.decision_procedure.world import TITLE, World, make_world
from web.context import AppContext


@pytest.fixture
async def world(context: AppContext) -> World:
    return await make_world(context)


async def headers(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, who: str
) -> dict[str, str]:
    if who == "anonymous":
        return {}
    secret = await enrol_totp(context, who) if who in ("pj", "sihteeri") else None
    return await api_login(client, who, secret=secret, clock=clock)


@pytest.mark.parametrize(
    ("who", "status"), [("aino", 303), ("ulko", 404), ("lasna", 403), ("anonymous", 401)]
)
async def test_the_form_takes_a_seat_s_stance_only(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: World, who: str, status: int
) -> None:
    sent = await client.post(
        f"/procedure/{world.procedure_id}/stance",
        headers=await headers(client, context, clock, who),
        data={"stance": "accept"},
    )
    assert sent.status_code == status, sent.text
    if status == 303:
        assert sent.headers["location"] == f"/procedure/{world.procedure_id}?done=stated"
    else:
        assert TITLE not in sent.text


async def test_a_refused_stance_shows_the_form_again_with_the_reason(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: World
) -> None:
    aino = await headers(client, context, clock, "aino")
    missing = await client.post(
        f"/procedure/{world.procedure_id}/stance", headers=aino, data={"stance": "disqualified"}
    )
    assert missing.status_code == 422
    assert "Esteellisyyden peruste" in missing.text or "ground" in missing.text.lower()
    page = await client.get(f"/procedure/{world.procedure_id}", headers=aino)
    assert page.status_code == 200
    assert "no-store" in page.headers.get("cache-control", "")
    at(clock, 1)
    aino = await headers(client, context, clock, "aino")
    late = await client.post(
        f"/procedure/{world.procedure_id}/stance", headers=aino, data={"stance": "accept"}
    )
    assert late.status_code == 409


async def test_the_chair_sees_the_overview_on_the_page(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: World
) -> None:
    aino = await headers(client, context, clock, "aino")
    await client.post(f"/procedure/{world.procedure_id}/stance", headers=aino, data={"stance": "accept"})
    chair = await client.get(
        f"/procedure/{world.procedure_id}", headers=await headers(client, context, clock, "pj")
    )
    assert 'id="overview"' in chair.text
    assert "Aino" in chair.text
    member = await client.get(f"/procedure/{world.procedure_id}", headers=aino)
    assert 'id="overview"' not in member.text
    listing = await client.get("/procedure", headers=aino)
    assert TITLE in listing.text
