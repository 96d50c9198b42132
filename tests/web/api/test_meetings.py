"""Meetings through the API: plan, build the agenda, send the call, read it as each kind of viewer."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from core.clock import FixedClock
from meetings.actions.memberships import do_end_membership
from meetings.models import Membership, OutboxMessage
from tests.factories import api_login, audit_entries, enrol_totp, make_body, make_person
from web.context import AppContext

STARTS = "2026-12-10T16:00:00+02:00"


@dataclass
class World:
    body_id: int
    secretary: dict[str, str]
    member: dict[str, str]
    chair: dict[str, str]
    outsider: dict[str, str]


async def signed_in(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, username: str, second_factor: bool
) -> dict[str, str]:
    secret = await enrol_totp(context, username) if second_factor else None
    return await api_login(client, username, secret=secret, clock=clock)


@pytest.fixture
async def world(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> World:
    body_id = await make_body(context)
    other_id = await make_body(context, "ympa", kind="committee", name="Ympäristölautakunta")
    await make_person(context, "sihteeri", body_id, "secretary")
    await make_person(context, "jasen", body_id, "member")
    await make_person(context, "pj", body_id, "chair")
    await make_person(context, "vara", body_id, "deputy")
    await make_person(context, "ulkopuolinen", other_id, "member")
    return World(
        body_id,
        await signed_in(client, context, clock, "sihteeri", True),
        await signed_in(client, context, clock, "jasen", False),
        await signed_in(client, context, clock, "pj", True),
        await signed_in(client, context, clock, "ulkopuolinen", False),
    )


async def plan(client: httpx.AsyncClient, world: World, **extra: object) -> int:
    response = await client.post(
        f"/api/bodies/{world.body_id}/meetings",
        headers=world.secretary,
        json={"starts_at": STARTS, "place": "Kunnantalo, valtuustosali"} | extra,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["meeting"]["id"])


async def add(client: httpx.AsyncClient, world: World, meeting_id: int, **item: object) -> dict[str, object]:
    response = await client.post(
        f"/api/meetings/{meeting_id}/items",
        headers=world.secretary,
        json={"title": "Talousarvio 2027", "proposal": "Hyväksytään."} | item,
    )
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


async def test_secretary_builds_an_agenda_and_sends_the_call(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    meeting_id = await plan(client, world, mode="hybrid")
    first = await add(client, world, meeting_id)
    second = await add(
        client,
        world,
        meeting_id,
        title="Henkilöstöasia",
        publicity="confidential",
        confidentiality_basis="JulkL 24 § 1 mom 32 k",
    )
    assert (first["section"], second["section"]) == (1, 2)
    reordered = await client.put(
        f"/api/meetings/{meeting_id}/order",
        headers=world.secretary,
        json={"order": [second["id"], first["id"]]},
    )
    assert [i["section"] for i in reordered.json()["items"]] == [1, 2]
    assert [i["id"] for i in reordered.json()["items"]] == [second["id"], first["id"]]
    check = (await client.get(f"/api/meetings/{meeting_id}/call", headers=world.secretary)).json()
    assert check == {"ready": True, "problems": []}
    sent = await client.post(f"/api/meetings/{meeting_id}/call", headers=world.chair)
    assert sent.json() == {"status": "called", "recipients": 4}
    async with context.db.read() as session:
        # Only the call: the world's chair and secretary were also told that they set up a second factor.
        query = select(OutboxMessage).where(OutboxMessage.kind == "meeting.call")
        mails = (await session.execute(query)).scalars().all()
    assert sorted(m.recipient for m in mails) == [
        "jasen@example.test",
        "pj@example.test",
        "sihteeri@example.test",
        "vara@example.test",
    ]
    assert all("Henkilöstöasia" not in m.body and "METHOD:REQUEST" in (m.calendar or "") for m in mails)
    actions = [e.action for e in await audit_entries(context)]
    for expected in ("meeting.created", "item.added", "items.reordered", "call.sent"):
        assert expected in actions


async def test_call_that_breaks_rules_is_refused_with_every_rule_named(
    client: httpx.AsyncClient, context: AppContext, world: World, clock: FixedClock
) -> None:
    meeting_id = await plan(client, world, starts_at="2026-11-30T16:00:00+02:00")  # Monday; today is Saturday
    await add(client, world, meeting_id)
    refused = await client.post(f"/api/meetings/{meeting_id}/call", headers=world.chair)
    assert refused.status_code == 422
    assert "(R-CALL-5)" in refused.json()["error"]
    check = (await client.get(f"/api/meetings/{meeting_id}/call", headers=world.secretary)).json()
    assert [p["rule"] for p in check["problems"]] == ["R-CALL-5"]
    assert "call.sent" not in [e.action for e in await audit_entries(context)]


async def test_bad_item_input_is_explained(client: httpx.AsyncClient, world: World) -> None:
    meeting_id = await plan(client, world)
    response = await client.post(
        f"/api/meetings/{meeting_id}/items",
        headers=world.secretary,
        json={"title": "Salainen", "publicity": "confidential"},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "confidentiality_basis"
    response = await client.post(
        f"/api/meetings/{meeting_id}/items",
        headers=world.secretary,
        json={"title": "x", "decision_mode": "decision_procedure"},
    )
    assert response.json()["field"] == "deadline_at"


async def test_changes_after_the_call_are_versioned(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    meeting_id = await plan(client, world)
    item = await add(client, world, meeting_id)
    await client.post(f"/api/meetings/{meeting_id}/call", headers=world.chair)
    reorder = await client.put(
        f"/api/meetings/{meeting_id}/order", headers=world.secretary, json={"order": [item["id"]]}
    )
    assert reorder.status_code == 409  # the numbering is fixed once the call is out
    no_reason = await client.put(
        f"/api/items/{item['id']}",
        headers=world.secretary,
        json={"title": "Talousarvio 2027", "proposal": "Hyväksytään muutettuna."},
    )
    assert no_reason.status_code == 422
    changed = await client.put(
        f"/api/items/{item['id']}",
        headers=world.secretary,
        json={"title": "Talousarvio 2027", "proposal": "Hyväksytään muutettuna.", "reason": "Lisätty liite"},
    )
    assert changed.json()["version"] == 2
    versions = (await client.get(f"/api/items/{item['id']}/versions", headers=world.member)).json()
    assert versions[0]["snapshot"]["proposal"] == "Hyväksytään."
    assert versions[0]["reason"] == "Lisätty liite"
    agenda = (await client.get(f"/api/meetings/{meeting_id}", headers=world.member)).json()
    assert agenda["meeting"]["agenda_version"] == 2
    removal = await client.delete(f"/api/items/{item['id']}", headers=world.secretary)
    assert removal.status_code == 409


async def test_each_viewer_sees_what_they_may(client: httpx.AsyncClient, world: World) -> None:
    meeting_id = await plan(client, world, is_public=True)
    await add(client, world, meeting_id)
    await add(
        client,
        world,
        meeting_id,
        title="Henkilöstöasia",
        description="Salainen kuvaus",
        publicity="confidential",
        confidentiality_basis="JulkL 24 § 1 mom 32 k",
    )
    assert (await client.get(f"/api/meetings/{meeting_id}")).status_code == 404  # draft: not for the public
    assert (await client.get(f"/api/meetings/{meeting_id}", headers=world.member)).status_code == 404
    await client.post(f"/api/meetings/{meeting_id}/call", headers=world.chair)
    public = (await client.get(f"/api/meetings/{meeting_id}")).json()
    assert [i["title"] for i in public["items"]] == ["Talousarvio 2027", None]
    assert "Salainen" not in str(public)
    assert public["items"][0]["preparer_contact"] is None
    member = (await client.get(f"/api/meetings/{meeting_id}", headers=world.member)).json()
    assert member["items"][1]["description"] == "Salainen kuvaus"
    outsider = (await client.get(f"/api/meetings/{meeting_id}", headers=world.outsider)).json()
    assert outsider == public | {"meeting": public["meeting"]}


async def test_closed_meeting_lists_nothing_for_outsiders(client: httpx.AsyncClient, world: World) -> None:
    meeting_id = await plan(client, world, is_public=False)
    await add(client, world, meeting_id)
    await client.post(f"/api/meetings/{meeting_id}/call", headers=world.chair)
    public = (await client.get(f"/api/meetings/{meeting_id}")).json()
    assert public["items"] == []
    assert public["meeting"]["agenda_visible"] is False
    listed = (await client.get(f"/api/bodies/{world.body_id}/meetings")).json()
    assert [m["id"] for m in listed] == [meeting_id]


async def test_disqualification_is_seen_by_chair_and_secretary_only(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    """R-DISQ-5: a member declares with the HL 28 § ground (R-DISQ-2); the chair and secretary see it."""
    meeting_id = await plan(client, world)
    item = await add(client, world, meeting_id)
    await client.post(f"/api/meetings/{meeting_id}/call", headers=world.chair)
    bad = await client.post(
        f"/api/items/{item['id']}/disqualification", headers=world.member, json={"ground": "other"}
    )
    assert bad.status_code == 422
    declared = await client.post(
        f"/api/items/{item['id']}/disqualification",
        headers=world.member,
        json={"ground": "party", "explanation": "Hakija on puolisoni."},
    )
    assert declared.status_code == 201
    assert declared.json()["my_disqualification"]["ground"] == "party"
    chair = (await client.get(f"/api/meetings/{meeting_id}", headers=world.chair)).json()
    assert [d["ground"] for d in chair["items"][0]["disqualifications"]] == ["party"]
    public = (await client.get(f"/api/meetings/{meeting_id}")).json()
    assert "puolisoni" not in str(public)
    outsider = await client.post(
        f"/api/items/{item['id']}/disqualification", headers=world.outsider, json={"ground": "party"}
    )
    assert outsider.status_code == 404  # a closed meeting's item does not exist for them
    assert (
        await client.delete(f"/api/items/{item['id']}/disqualification", headers=world.member)
    ).status_code == 204
    actions = [e.action for e in await audit_entries(context)]
    assert actions.count("disqualification.declared") == 1
    assert "disqualification.withdrawn" in actions


async def test_no_disqualification_is_declared_or_withdrawn_on_a_cancelled_meeting(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    """A cancelled meeting's items will not be handled, so its declarations stay as they were (R-DISQ-5)."""
    meeting_id = await plan(client, world)
    item = await add(client, world, meeting_id)
    await client.post(f"/api/meetings/{meeting_id}/call", headers=world.chair)
    path = f"/api/items/{item['id']}/disqualification"
    declared = await client.post(path, headers=world.member, json={"ground": "party"})
    assert declared.status_code == 201
    cancelled = await client.post(
        f"/api/meetings/{meeting_id}/cancel", headers=world.chair, json={"reason": "Ei asioita."}
    )
    assert cancelled.status_code == 200

    again = await client.post(path, headers=world.member, json={"ground": "employment"})
    withdrawn = await client.delete(path, headers=world.member)

    assert again.status_code == 409
    assert again.json()["error"] == (
        "The meeting has been cancelled: a disqualification can no longer be declared."
    )
    assert withdrawn.status_code == 409
    assert withdrawn.json()["error"] == (
        "The meeting has been cancelled: a disqualification can no longer be withdrawn."
    )
    chair = (await client.get(f"/api/meetings/{meeting_id}", headers=world.chair)).json()
    assert [d["ground"] for d in chair["items"][0]["disqualifications"]] == ["party"]
    actions = [e.action for e in await audit_entries(context)]
    assert actions.count("disqualification.declared") == 1
    assert "disqualification.withdrawn" not in actions


async def test_member_sees_upcoming_meetings(client: httpx.AsyncClient, world: World) -> None:
    meeting_id = await plan(client, world)
    await add(client, world, meeting_id)
    assert (
        await client.get("/api/my/meetings", headers=world.member)
    ).json() == []  # drafts are not theirs yet
    await client.post(f"/api/meetings/{meeting_id}/call", headers=world.chair)
    mine = (await client.get("/api/my/meetings", headers=world.member)).json()
    assert [m["id"] for m in mine] == [meeting_id]
    assert (await client.get("/api/my/meetings", headers=world.outsider)).json() == []


async def test_sections_run_on_from_the_meetings_called_before(
    client: httpx.AsyncClient, world: World
) -> None:
    first, second = (
        await plan(client, world),
        await plan(client, world, starts_at="2026-12-17T16:00:00+02:00"),
    )
    await add(client, world, first)
    await add(client, world, first)
    early = await add(client, world, second)
    assert early["section"] == 1  # provisional while both are drafts
    await client.post(f"/api/meetings/{first}/call", headers=world.chair)
    await client.post(f"/api/meetings/{second}/call", headers=world.chair)
    agenda = (await client.get(f"/api/meetings/{second}", headers=world.member)).json()
    assert [i["section"] for i in agenda["items"]] == [3]


async def test_changes_after_the_call_must_keep_it_lawful(client: httpx.AsyncClient, world: World) -> None:
    """R-EDP-1: a meeting with items in the electronic decision procedure cannot be made public afterwards."""
    meeting_id = await plan(client, world, is_public=False)
    item = await add(
        client, world, meeting_id, decision_mode="decision_procedure", deadline_at="2026-12-08T12:00:00+02:00"
    )
    assert (await client.post(f"/api/meetings/{meeting_id}/call", headers=world.chair)).status_code == 200
    public = await client.put(
        f"/api/meetings/{meeting_id}",
        headers=world.secretary,
        json={"starts_at": STARTS, "place": "Kunnantalo, valtuustosali", "is_public": True},
    )
    assert public.status_code == 422
    assert "(R-EDP-1)" in public.json()["error"]
    agenda = (await client.get(f"/api/meetings/{meeting_id}", headers=world.member)).json()
    assert agenda["meeting"]["is_public"] is False  # nothing changed
    late = await client.put(
        f"/api/items/{item['id']}",
        headers=world.secretary,
        json={
            "title": "Talousarvio 2027",
            "decision_mode": "decision_procedure",
            "deadline_at": "2026-12-11T12:00:00+02:00",
            "reason": "Lisäaikaa",
        },
    )
    assert late.status_code == 422
    assert "(R-EDP-3)" in late.json()["error"]


async def test_the_cached_agenda_follows_every_change(client: httpx.AsyncClient, world: World) -> None:
    """The JSON agenda is cached like the page (decision 0005): declarations, item changes after the call and
    each reader's own view show at once (R-DISQ-5, R-PUB-2)."""
    meeting_id = await plan(client, world, is_public=True)
    item = await add(client, world, meeting_id)
    await client.post(f"/api/meetings/{meeting_id}/call", headers=world.chair)
    path = f"/api/meetings/{meeting_id}"
    first = await client.get(path, headers=world.member)
    assert first.json() == (await client.get(path, headers=world.member)).json()
    assert first.json()["items"][0]["my_disqualification"] is None
    declared = await client.post(
        f"/api/items/{item['id']}/disqualification", headers=world.member, json={"ground": "party"}
    )
    assert declared.status_code == 201
    mine = (await client.get(path, headers=world.member)).json()
    assert mine["items"][0]["my_disqualification"]["ground"] == "party"
    assert (await client.get(path, headers=world.chair)).json()["items"][0]["my_disqualification"] is None
    assert (await client.get(path)).json()["items"][0]["title"] == "Talousarvio 2027"
    changed = await client.put(
        f"/api/items/{item['id']}",
        headers=world.secretary,
        json={
            "title": "Talousarvio 2027 ja taloussuunnitelma",
            "proposal": "Hyväksytään.",
            "reason": "Tarkennus.",
        },
    )
    assert changed.status_code == 200, changed.text
    assert (await client.get(path)).json()["items"][0]["title"] == "Talousarvio 2027 ja taloussuunnitelma"


async def test_a_former_members_declaration_never_reaches_the_public(
    client: httpx.AsyncClient, context: AppContext, world: World
) -> None:
    """R-DISQ-5, R-PUB-7: once their role has ended, a former member reads the public's agenda, which is
    cached for everyone outside the body; their own declaration must not be part of it."""
    meeting_id = await plan(client, world, is_public=True)
    item = await add(client, world, meeting_id)
    await client.post(f"/api/meetings/{meeting_id}/call", headers=world.chair)
    declared = await client.post(
        f"/api/items/{item['id']}/disqualification",
        headers=world.member,
        json={"ground": "other", "explanation": "Hakija on sisareni."},
    )
    assert declared.status_code == 201
    me = (await client.get("/api/me", headers=world.member)).json()
    async with context.db.write() as session:
        query = select(Membership).where(Membership.user_id == me["id"], Membership.body_id == world.body_id)
        membership = (await session.execute(query)).scalar_one()
        await do_end_membership(session, membership=membership, actor="system:test")
    former = (await client.get(f"/api/meetings/{meeting_id}", headers=world.member)).json()
    assert former["items"][0]["my_disqualification"] is None
    public = await client.get(f"/api/meetings/{meeting_id}")
    assert "sisareni" not in public.text
    assert public.json()["items"][0]["my_disqualification"] is None
