"""The decision procedure's record on its page (R-CHECK-5): opened by the secretary with two checkers from a
form that gives back what was typed when it is refused, approved or rejected by the checkers, and the item's
page saying from when its decision counts as made (R-CHECK-3)."""

from __future__ import annotations

import httpx
import pytest

from core.clock import LOCAL, FixedClock
from meetings.live.actions.sitting import do_close_meeting, do_open_meeting
from meetings.models import Meeting
from tests.factories import api_login, audit_entries, enrol_totp
from tests.meetings.decision_procedure.world import MEETING, TITLE, World
from tests.minutes.procedure_world import current, decided, opened, review
from web.context import AppContext


async def headers(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, who: str
) -> dict[str, str]:
    secret = await enrol_totp(context, who) if who in ("pj", "sihteeri") else None
    return await api_login(client, who, secret=secret, clock=clock)


@pytest.fixture
async def world(context: AppContext, clock: FixedClock) -> World:
    return await decided(context, clock)


def url(world: World) -> str:
    return f"/meetings/{world.meeting_id}/procedure-check"


async def test_the_secretary_opens_the_record_from_the_page(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: World
) -> None:
    secretary = await headers(client, context, clock, "sihteeri")
    page = await client.get(url(world), headers=secretary)
    assert page.status_code == 200
    assert 'id="to-check"' in page.text
    assert TITLE in page.text
    assert 'name="checker_1"' in page.text
    aino, bertta = world.people["aino"], world.people["bertta"]
    sent = await client.post(
        url(world), headers=secretary, data={"checker_1": str(aino), "checker_2": str(bertta)}
    )
    assert (sent.status_code, sent.headers["location"]) == (303, f"{url(world)}?done=opened")
    [entry] = await audit_entries(context, "procedure_check.opened")
    assert entry.actor == world.actor("sihteeri")
    shown = await client.get(f"{url(world)}?done=opened", headers=secretary)
    assert 'id="check-state"' in shown.text
    assert f'id="section-{(await current(context, world)).sections[0]}"' in shown.text


async def test_a_refused_choice_comes_back_with_what_was_chosen(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: World
) -> None:
    secretary = await headers(client, context, clock, "sihteeri")
    aino = world.people["aino"]
    sent = await client.post(
        url(world), headers=secretary, data={"checker_1": str(aino), "checker_2": str(aino)}
    )
    assert sent.status_code == 422
    assert 'id="check-alert"' in sent.text
    assert 'aria-invalid="true"' in sent.text
    assert f'<option value="{aino}" selected>' in sent.text
    assert await audit_entries(context, "procedure_check.opened") == []


@pytest.mark.parametrize(("who", "status"), [("aino", 403), ("lasna", 403), ("ulko", 404)])
async def test_nobody_else_opens_it(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: World, who: str, status: int
) -> None:
    sent = await client.post(
        url(world),
        headers=await headers(client, context, clock, who),
        data={"checker_1": str(world.people["aino"]), "checker_2": str(world.people["bertta"])},
    )
    assert sent.status_code == status
    if status == 404:
        assert TITLE not in sent.text
    assert await audit_entries(context, "procedure_check.opened") == []


async def test_the_page_is_not_found_outside_the_body(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: World
) -> None:
    """R-EDP-6: the procedure is closed; its record does not exist for anyone outside the body."""
    await opened(context, world)
    page = await client.get(url(world), headers=await headers(client, context, clock, "ulko"))
    assert page.status_code == 404
    assert TITLE not in page.text
    anonymous = await client.get(url(world))
    assert anonymous.status_code in (302, 303, 401)


async def test_a_checker_rejects_with_a_comment_or_is_asked_for_one(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: World
) -> None:
    """R-CHECK-2: a rejection without a comment comes back; with one the record is rejected."""
    await opened(context, world)
    aino = await headers(client, context, clock, "aino")
    page = await client.get(url(world), headers=aino)
    assert 'action="/meetings/' in page.text
    assert 'value="approve"' in page.text
    bare = await client.post(
        f"{url(world)}/review", headers=aino, data={"decision": "reject", "comment": "  "}
    )
    assert bare.status_code == 422
    assert 'id="check-comment"' in bare.text
    neither = await client.post(f"{url(world)}/review", headers=aino, data={"comment": "Hmm"})
    assert neither.status_code == 422
    assert ">Hmm</textarea>" in neither.text  # what was typed is given back
    said = await client.post(
        f"{url(world)}/review", headers=aino, data={"decision": "reject", "comment": "Väärä pykälä."}
    )
    assert said.status_code == 303
    assert (await current(context, world)).state == "rejected"
    [entry] = await audit_entries(context, "procedure_check.rejected")
    assert entry.actor == world.actor("aino")


async def test_someone_not_chosen_gets_no_review_form_and_is_refused(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: World
) -> None:
    await opened(context, world)
    cecilia = await headers(client, context, clock, "cecilia")
    page = await client.get(url(world), headers=cecilia)
    assert page.status_code == 200
    assert 'value="approve"' not in page.text
    sent = await client.post(f"{url(world)}/review", headers=cecilia, data={"decision": "approve"})
    assert sent.status_code == 403
    assert await audit_entries(context, "procedure_check.approved") == []


async def test_the_item_page_says_when_the_decision_counts_as_made(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: World
) -> None:
    """R-CHECK-3: a decision of the procedure counts as made once its record is checked (R-CHECK-5)."""
    aino = await headers(client, context, clock, "aino")
    before = await client.get(f"/procedure/{world.procedure_id}", headers=aino)
    assert 'id="decision-made"' in before.text
    day = clock().astimezone(LOCAL).date()
    written = f"{day.day}.{day.month}.{day.year}"
    assert written not in before.text.split('id="decision-made"')[1].split("</p>")[0]
    await opened(context, world)
    await review(context, world, "aino", approve=True)
    await review(context, world, "bertta", approve=True)
    after = await client.get(f"/procedure/{world.procedure_id}", headers=aino)
    assert written in after.text.split('id="decision-made"')[1].split("</p>")[0]
    record = await client.get(url(world), headers=aino)
    assert written in record.text.split('id="check-state"')[1].split("</dd>")[0]


async def test_the_later_minutes_show_the_sections_as_already_checked(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, world: World
) -> None:
    """R-CHECK-5: the meeting's minutes carry the day the procedure's decisions were checked, and their
    checkers see those sections marked as checked, not as theirs to check again."""
    check = await opened(context, world)
    await review(context, world, "aino", approve=True)
    await review(context, world, "bertta", approve=True)
    day = clock().astimezone(LOCAL).date()
    clock.now = MEETING
    async with context.db.write() as session:
        meeting = await session.get(Meeting, world.meeting_id)
        assert meeting is not None
        await do_open_meeting(session, meeting=meeting, chair_id=world.people["pj"], actor=world.actor("pj"))
        await do_close_meeting(session, meeting=meeting, actor=world.actor("pj"))
    secretary = await headers(client, context, clock, "sihteeri")
    minutes = await client.post(f"/api/meetings/{world.meeting_id}/minutes", headers=secretary)
    assert minutes.status_code == 201, minutes.text
    checking = minutes.json()["document"]["meeting"]["checking"]
    assert checking["decision_procedure_checked_on"] == day.isoformat()
    assert checking["decision_procedure_sections"] == check.sections
    page = await client.get(
        f"/minutes/{minutes.json()['id']}", headers=await headers(client, context, clock, "aino")
    )
    assert page.status_code == 200
    assert f'id="checked-early-{check.sections[0]}"' in page.text
    assert f"{day.day}.{day.month}.{day.year}" in page.text
