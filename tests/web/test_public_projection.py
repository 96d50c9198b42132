"""The public gets the same facts from the JSON API as from the pages: for every public resource, every field
the API returns to an anonymous reader is either shown on that resource's page (in Finnish or in Swedish) or
withheld (null), and nothing the pages rightly hide leaks through the API (meetings.queries is the one
projection both use).

RULES names, for each resource, how each of its fields appears on the page: a new field fails the test until
it is given a rule, so the API cannot quietly say more than the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from markupsafe import escape

from tests.web.public_world import PRESENTER, SECRETS, PublicWorld, build
from web.context import AppContext
from web.formatting import Times
from web.i18n import translator

fi = translator("fi")
times = Times(fi)
HTML = {"accept": "text/html"}

Obj = dict[str, Any]
# A rule gives the texts that must be on the page for one field's value (the object gives context).
Rule = Callable[[Any, Obj], list[str]]


def text(value: Any, _: Obj) -> list[str]:
    return [str(escape(value))] if value else []


def when(value: Any, _: Obj) -> list[str]:
    return [times.when(datetime.fromisoformat(value))] if value else []


def day(value: Any, _: Obj) -> list[str]:
    return [times.calendar(date.fromisoformat(value))] if value else []


def label(table: dict[str, str]) -> Rule:
    return lambda value, _: [str(escape(fi(table[value])))] if value else []


def link(template: str) -> Rule:
    return lambda value, _: [template.format(value)] if value is not None else []


def withheld(value: Any, _: Obj) -> list[str]:
    assert value in (None, [], ()), f"the API gives the public {value!r}, which its page does not show"
    return []


def never(value: Any, _: Obj) -> list[str]:
    assert value is False
    return []


def fact(true: str, false: str) -> Rule:
    return lambda value, _: [str(escape(fi(true if value else false)))]


def ends(value: Any, meeting: Obj) -> list[str]:
    if not value:
        return []
    end, start = datetime.fromisoformat(value), datetime.fromisoformat(meeting["starts_at"])
    return [times.clock(end) if times.day(end) == times.day(start) else times.when(end)]


def number(value: Any, meeting: Obj) -> list[str]:
    return [f"{meeting['number']}/{meeting['year']}"]


def agenda_shown(value: Any, meeting: Obj) -> list[str]:
    if value:
        return ['id="agenda"']
    if meeting["status"] == "cancelled":
        return [str(escape(fi("The meeting has been cancelled.")))]
    return [str(escape(fi("The meeting is closed: its agenda is not published.")))]


def publicity(value: Any, item: Obj) -> list[str]:
    if value == "public":
        return []
    if item["title"] is None:
        return [str(escape(fi("Confidential matter")))]
    return label(PUBLICITIES)(value, item)


def size(value: Any, _: Obj) -> list[str]:
    return [fi("{size} kB").format(size=math.ceil(value / 1024))]


def badge(value: Any, attachment: Obj) -> list[str]:
    return [] if value else [str(escape(fi("Confidential")))]


MODES = {
    "in_person": "Meeting in person",
    "electronic": "Electronic meeting",
    "hybrid": "Hybrid meeting (counts as electronic)",
}
STATUSES = {"draft": "Draft", "called": "Called", "cancelled": "Cancelled"}
PUBLICITIES = {"confidential": "Confidential", "partly_confidential": "Partly confidential"}
DECISION_MODES = {
    "meeting": "Decided in the meeting",
    "decision_procedure": "Electronic decision procedure before the meeting (KL 100 §)",
}
KINDS = {"council": "Council", "executive": "Executive board", "committee": "Committee"}
ROLES = {
    "chair": "Chair",
    "member": "Member",
    "deputy": "Deputy member",
    "secretary": "Secretary",
    "presenter": "Presenter",
}

RULES: dict[str, dict[str, Rule]] = {
    "body": {
        "id": link('href="/api/bodies/{}"'),
        "slug": link('href="/bodies/{}"'),
        "name": text,
        "name_sv": text,  # on the Swedish page
        "kind": label(KINDS),
        "seats": lambda value, _: [str(escape(fi("Seats: {seats}.").format(seats=value)))],
        "meetings_public_by_default": fact(
            "Its meetings are public.",
            "Its meetings are closed unless it decides to meet in public. A closed meeting's agenda is not "
            "published; its decisions are published in the minutes once they are checked.",
        ),
        "active": withheld,
        "parent_id": withheld,
        "call_period_days": withheld,
        "electronic_meetings_allowed": withheld,
        "decision_procedure_allowed": withheld,
        "checking_method": withheld,
    },
    "member": {
        "membership_id": link('id="membership-{}"'),
        "user_id": withheld,
        "name": text,
        "role": label(ROLES),
        "term_start": day,
        "term_end": day,
        "deputy_for_id": link('href="#membership-{}"'),
        "title": text,
    },
    "meeting": {
        "id": link('href="/api/meetings/{}"'),
        "body_id": lambda value, meeting: [f'href="/bodies/{meeting["body_slug"]}"'],
        "body_name": text,
        "body_slug": link('href="/bodies/{}"'),
        "number": number,
        "year": number,
        "starts_at": when,
        "ends_at": ends,
        "place": text,
        "mode": label(MODES),
        "is_public": fact("Public meeting", "Closed meeting"),
        "status": label(STATUSES),
        "call_sent_at": when,
        "agenda_version": withheld,
        "agenda_visible": agenda_shown,
        "can_manage": never,
        "cancelled_at": when,
        "cancel_reason": withheld,
    },
    "item": {
        "id": link('id="item-{}"'),
        "section": link("§ {}"),
        "publicity": publicity,
        "title": text,
        "description": text,
        "proposal": text,
        "public_summary": text,
        "confidentiality_basis": text,
        "presenter": text,
        "preparer": text,
        "preparer_contact": withheld,
        "decision_mode": label(DECISION_MODES),
        "deadline_at": when,
        "version": withheld,
        "attachments": lambda value, _: [],  # each is checked as an attachment
        "disqualifications": withheld,
        "my_disqualification": withheld,
    },
    "attachment": {
        "id": link('href="/api/attachments/{}"'),
        "title": text,
        "filename": text,
        "content_type": link('type="{}"'),
        "size": size,
        "is_public": badge,
        "confidentiality_basis": text,
    },
}


def shown_on(page: str, resource: str, obj: Obj) -> None:
    rules = RULES[resource]
    assert set(obj) == set(rules), f"give each new {resource} field a rule: {set(obj) ^ set(rules)}"
    for name, rule in rules.items():
        for expected in rule(obj[name], obj):
            assert expected in page, f"{resource} {name}={obj[name]!r}: {expected!r} is not on the page"


async def page(client: httpx.AsyncClient, path: str) -> str:
    """The page in Finnish and in Swedish, one after the other."""
    found = []
    for language in ("fi", "sv"):
        response = await client.get(path, headers=HTML | {"accept-language": language})
        assert response.status_code == 200, path
        found.append(response.text)
    return "\n".join(found)


async def api(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(path)
    assert response.status_code == 200, path
    for secret in SECRETS:
        assert secret not in response.text, f"{path} leaks {secret!r}"
    return response.json()


def item_block(html: str, item_id: int) -> str:
    found = re.search(rf'<li id="item-{item_id}".*?</li>\s*(?=<li id="item-|</ol>)', html, re.S)
    assert found, f"item {item_id} is not on the page"
    return found.group(0)


@pytest.fixture
async def world(context: AppContext) -> PublicWorld:
    return await build(context)


async def test_bodies_and_their_members(client: httpx.AsyncClient, world: PublicWorld) -> None:
    listing = await page(client, "/bodies")
    for body in await api(client, "/api/bodies"):
        assert f'href="/bodies/{body["slug"]}"' in listing
        assert body == await api(client, f"/api/bodies/{body['id']}")
        body_page = await page(client, f"/bodies/{body['slug']}")
        shown_on(body_page, "body", body)
        members = await api(client, f"/api/bodies/{body['id']}/members")
        assert len(members) == 4
        for member in members:
            shown_on(body_page, "member", member)


async def test_meetings_and_their_agendas(client: httpx.AsyncClient, world: PublicWorld) -> None:
    body_page = await page(client, f"/bodies/{world.body.slug}")
    listed = await api(client, f"/api/bodies/{world.body.id}/meetings")
    assert {m["id"] for m in listed} == {world.public, world.closed, world.cancelled}
    for meeting in listed:
        assert f'href="/meetings/{meeting["id"]}"' in body_page
        meeting_page = await page(client, f"/meetings/{meeting['id']}")
        shown_on(meeting_page, "meeting", meeting)
        agenda = await api(client, f"/api/meetings/{meeting['id']}")
        assert agenda["meeting"] == meeting
        for item in agenda["items"]:
            block = item_block(meeting_page, item["id"])
            shown_on(block, "item", item)
            for attachment in item["attachments"]:
                shown_on(block, "attachment", attachment)


async def test_what_the_pages_hide_the_api_does_not_tell(
    client: httpx.AsyncClient, world: PublicWorld
) -> None:
    closed = (await api(client, f"/api/meetings/{world.closed}"))["meeting"]
    assert (closed["place"], closed["mode"], closed["agenda_visible"]) == (None, None, False)
    assert (await api(client, f"/api/meetings/{world.cancelled}"))["items"] == []

    agenda = await api(client, f"/api/meetings/{world.public}")
    secret = next(i for i in agenda["items"] if i["id"] == world.secret_item)
    withheld_facts = ("title", "presenter", "preparer", "decision_mode", "deadline_at", "description")
    assert {k: secret[k] for k in (*withheld_facts, "proposal", "confidentiality_basis")} == dict.fromkeys(
        (*withheld_facts, "proposal", "confidentiality_basis")
    )
    assert secret["attachments"] == []
    public_page = await page(client, f"/meetings/{world.public}")
    assert PRESENTER in item_block(public_page, world.public_item)
    assert PRESENTER not in item_block(public_page, world.secret_item)
    for path in (f"/meetings/{world.public}", f"/meetings/{world.closed}", f"/bodies/{world.body.slug}"):
        text = await page(client, path)
        assert not [s for s in SECRETS if s in text], path


async def test_the_rules_cover_every_field_the_views_have() -> None:
    from meetings.queries import AttachmentView, BodyView, ItemView, MeetingView, MemberView

    views = {
        "body": BodyView,
        "member": MemberView,
        "meeting": MeetingView,
        "item": ItemView,
        "attachment": AttachmentView,
    }
    for resource, view in views.items():
        assert set(RULES[resource]) == set(view.__dataclass_fields__), resource
