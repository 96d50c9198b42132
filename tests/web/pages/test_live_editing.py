"""The live page's editing forms: the presenter amends the base proposal (R-PROP-6), the chair puts the voting
order together with move buttons (R-VOTE-1/4/5, R-PROP-4), and a text too long for the domain is refused with
a 422 that names the field, never cut short."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx
import pytest

from core.bounds import EXPLANATION, LONG_TEXT
from core.clock import FixedClock
from tests.factories import api_login, audit_entries, enrol_totp
from tests.meetings.live.world import Board, hold, make_board
from tests.web.live_world import events_since, version
from web.context import AppContext
from web.i18n import translator

en = translator("en")
fi = translator("fi")
HTML = {"accept": "text/html", "accept-language": "en"}
AMENDED = "Hallitus hyväksyy talousarvion muutettuna: investointeja siirretään vuoteen 2028."


@dataclass
class Room:
    board: Board
    chair: dict[str, str]  # m1
    secretary: dict[str, str]
    presenter: dict[str, str]
    members: list[dict[str, str]]  # m2 … m5


@pytest.fixture
async def room(client: httpx.AsyncClient, context: AppContext, clock: FixedClock) -> Room:
    board = await make_board(context, clock, public=True)
    await hold(context, clock, board)
    chair = await api_login(client, "m1", secret=await enrol_totp(context, "m1"), clock=clock) | HTML
    secretary = await api_login(client, "sihteeri", secret=await enrol_totp(context, "sihteeri"), clock=clock)
    presenter = await api_login(client, "esittelija") | HTML
    members = [await api_login(client, f"m{n}") | HTML for n in range(2, 6)]
    return Room(board, chair, secretary | HTML, presenter, members)


def url(board: Board, action: str = "") -> str:
    return f"/meetings/{board.meeting_id}/live" + (f"/{action}" if action else "")


async def act(
    client: httpx.AsyncClient, who: dict[str, str], board: Board, action: str, **fields: object
) -> httpx.Response:
    return await client.post(url(board, action), headers=who, data={k: str(v) for k, v in fields.items()})


async def ok(
    client: httpx.AsyncClient, who: dict[str, str], board: Board, action: str, **fields: object
) -> None:
    response = await act(client, who, board, action, **fields)
    assert response.status_code == 303, response.text[-2000:]


def forms(page: str) -> set[str]:
    return set(re.findall(r'action="/meetings/\d+/live/([a-z-]+)"', page))


async def under_way(client: httpx.AsyncClient, room: Room) -> None:
    """All five members present and the first item under discussion."""
    for person in room.board.members:
        await ok(client, room.secretary, room.board, "mark-arrival", person=person)
    await ok(client, room.chair, room.board, "take-up", item=room.board.items[0])


def base_id(page: str) -> str:
    found = re.search(r'name="proposal" value="(\d+)">\s*<div class="field">\s*<label for="amend-text"', page)
    assert found, "no amend form"
    return found.group(1)


async def test_the_presenter_amends_the_base_proposal_and_everyone_sees_it(
    client: httpx.AsyncClient, context: AppContext, room: Room
) -> None:
    """R-PROP-6: the presenter amends the base proposal before the discussion ends, from the page."""
    board = room.board
    await under_way(client, room)
    page = (await client.get(url(board), headers=room.presenter)).text
    assert "amend" in forms(page)
    assert en("Amend the base proposal") in page
    for other in (room.chair, room.members[0], room.secretary):
        assert "amend" not in forms((await client.get(url(board), headers=other)).text)
    panel = await client.get(url(board, "panel"), headers=room.members[0])
    before = await version(context, board.meeting_id)

    await ok(client, room.presenter, board, "amend", proposal=base_id(page), text=AMENDED)

    [entry] = await audit_entries(context, "proposal.amended")
    assert entry.subject == f"proposal:{base_id(page)}"
    [event] = await events_since(context, board.meeting_id, before)
    assert (event.type, event.data["text"]) == ("proposal.amended", AMENDED)
    # Another viewer's panel changes (live.js swaps it in on the event), and so does the public's.
    fresh = await client.get(
        url(board, "panel"), headers=room.members[0] | {"if-none-match": panel.headers["etag"]}
    )
    assert fresh.status_code == 200
    assert AMENDED in fresh.text
    assert en("amended at {time}").format(time="") in fresh.text
    assert AMENDED in (await client.get(url(board), headers={"accept": "text/html"})).text
    done = (await client.get(url(board) + "?done=amend", headers=room.presenter)).text
    assert en("The base proposal was amended. Everyone in the meeting sees the new text.") in done


async def test_only_the_presenter_amends_and_only_during_the_discussion(
    client: httpx.AsyncClient, context: AppContext, room: Room
) -> None:
    """R-PROP-6: a member who is not the presenter is refused (403), the secretary too (no right to speak),
    and after the discussion the form is gone and the step refused (409)."""
    board = room.board
    await under_way(client, room)
    base = base_id((await client.get(url(board), headers=room.presenter)).text)
    refused = await act(client, room.members[0], board, "amend", proposal=base, text="Toisin.")
    assert refused.status_code == 403
    assert en("Only the presenter amends or withdraws the base proposal (R-PROP-6).") in refused.text
    refused = await act(client, room.secretary, board, "amend", proposal=base, text="Toisin.")
    assert refused.status_code == 403
    assert en("Only those with a role in the body take part in its meeting.") in refused.text
    anonymous = await client.post(url(board, "amend"), headers={"accept": "text/html"}, data={"text": "x"})
    assert anonymous.status_code in (401, 403) or anonymous.headers["location"].startswith(
        ("/login", "/auth/refresh")
    )
    await ok(client, room.chair, board, "close-discussion", item=board.items[0])
    assert "amend" not in forms((await client.get(url(board), headers=room.presenter)).text)
    late = await act(client, room.presenter, board, "amend", proposal=base, text="Myöhässä.")
    assert late.status_code == 409
    assert await audit_entries(context, "proposal.amended") == []


async def proposals_to_vote(client: httpx.AsyncClient, room: Room) -> dict[str, str]:
    """Two counter-proposals and a tabling proposal, each seconded; the discussion closed."""
    board, (m2, m3, m4, m5) = room.board, room.members
    await under_way(client, room)
    made = {}
    for who, kind, text in (
        (m2, "counter", "Talousarvio hyväksytään ilman uimahallia."),
        (m3, "counter", "Talousarvio hyväksytään, veroprosentti 21."),
        (m4, "tabling", "Asia pannaan pöydälle."),
    ):
        await ok(client, who, board, "propose", item=board.items[0], kind=kind, text=text)
        page = (await client.get(url(board), headers=m5)).text
        made[text] = re.findall(r'name="proposal" value="(\d+)"', page)[-1]
        await ok(client, m5, board, "second", proposal=made[text])
    await ok(client, room.chair, board, "close-discussion", item=board.items[0])
    return made


def draft(page: str) -> list[str]:
    found = re.search(r'id="order-draft" value="([\d ]+)"', page)
    assert found, "no voting order editor"
    return found.group(1).split()


async def test_the_chair_moves_proposals_in_the_voting_order_and_the_body_approves_it(
    client: httpx.AsyncClient, context: AppContext, room: Room
) -> None:
    """R-VOTE-1: the chair puts the order, the body approves it; R-VOTE-4/5 give the default (tabling first,
    the latest counter-proposal first, the base last), and moving two counter-proposals breaks no rule."""
    board = room.board
    made = await proposals_to_vote(client, room)
    first, second, tabling = made.values()
    page = (await client.get(url(board), headers=room.chair)).text
    default = draft(page)
    assert default[:3] == [tabling, second, first]
    assert "R-VOTE-4/5" in page
    assert "Talousarvio hyväksytään ilman uimahallia." in page[page.index('id="live-order"') :]
    assert en("Proposed by {name}.").format(name="M2") in page
    assert en("Seconded by") + " M5" in page
    # Every button is named by what it does and to which proposal; the top one cannot go up.
    assert re.search(rf'id="move-up-{tabling}" class="small secondary" disabled>', page)
    assert re.search(rf'id="move-down-{second}"[^>]*>.*?{en("Move down")}.*?: #{second} ', page)
    assert 'name="order" value="' + " ".join([tabling, first, second, *default[3:]]) + '"' in page
    # The votes the order gives (R-VOTE-1): tabling against continuing, then the chain to the base.
    base = default[3]
    plan = page[page.index('id="order-plan"') : page.index("</ol>", page.index('id="order-plan"'))]
    votes = re.findall(r'<li id="planned-vote-(\d)">([^<]*)', plan)
    assert [n for n, _ in votes] == ["1", "2", "3"]
    assert votes[0][1].strip() == en("JAA: {jaa} – EI: {ei}").format(
        jaa=en("Continue the handling"), ei=f"#{tabling} {en('Tabling proposal')} – M4"
    )
    assert en("If EI wins, the handling ends here (R-PROP-4).") in plan
    assert votes[1][1].strip() == en("JAA: {jaa} – EI: {ei}").format(
        jaa=f"#{first} {en('Counter-proposal')} – M2", ei=f"#{second} {en('Counter-proposal')} – M3"
    )
    assert votes[2][1].strip().startswith(f"JAA: #{base} {en('Base proposal')}")
    assert votes[2][1].strip().endswith("EI: " + en("the winner of vote {number}").format(number=2))

    moved = " ".join([tabling, first, second, *default[3:]])
    page = (await client.get(url(board) + f"?order={moved}&moved={first}", headers=room.chair)).text
    assert draft(page) == moved.split()
    assert (
        en("{proposal} is now {position} of {count} in the voting order.").format(
            proposal=f"#{first} {en('Counter-proposal')} – M2", position=2, count=4
        )
        in page
    )
    assert 'id="order-problems"' not in page
    panel = (await client.get(url(board, "panel") + f"?order={moved}", headers=room.chair)).text
    assert draft(panel) == moved.split()
    # Others see no editor, whatever the address says; and the step is the chair's.
    assert "approve-order" not in forms(
        (await client.get(url(board) + f"?order={moved}", headers=room.members[0])).text
    )
    refused = await act(client, room.members[0], board, "approve-order", item=board.items[0], order=moved)
    assert refused.status_code == 403

    await ok(client, room.chair, board, "approve-order", item=board.items[0], order=moved)
    [entry] = await audit_entries(context, "voting_order.approved")
    assert json.loads(entry.data)["order"] == [int(p) for p in moved.split()]
    assert "approve-order" not in forms((await client.get(url(board), headers=room.chair)).text)


async def test_an_order_against_the_rules_is_shown_and_refused_with_the_reason(
    client: httpx.AsyncClient, context: AppContext, room: Room
) -> None:
    """R-PROP-4: tabling is decided first; R-VOTE-5: the base enters only in the last pairing."""
    board = room.board
    made = await proposals_to_vote(client, room)
    _, _, tabling = made.values()
    default = draft((await client.get(url(board), headers=room.chair)).text)
    late = " ".join([*default[1:3], tabling, default[3]])
    page = (await client.get(url(board) + f"?order={late}&moved={tabling}", headers=room.chair)).text
    assert 'id="order-problems"' in page
    assert 'id="order-plan"' not in page  # no votes are shown for an order the body cannot approve
    assert "R-PROP-4" in page[page.index('id="order-problems"') :]
    refused = await act(client, room.chair, board, "approve-order", item=board.items[0], order=late)
    assert refused.status_code == 422
    alert = refused.text[refused.text.index('id="form-error"') :][:600]
    assert f'<a href="#live-order">{en("Voting order")}</a>' in alert
    assert "must be voted on first" in alert
    assert draft(refused.text) == late.split()  # the chair's draft stays on the page to fix
    finnish = await act(
        client,
        room.chair | {"accept-language": "fi"},
        board,
        "approve-order",
        item=board.items[0],
        order=late,
    )
    assert fi("Voting order") in finnish.text
    assert await audit_entries(context, "voting_order.approved") == []
    # A number the draft does not know, or garbage, falls back to the stored default order.
    for junk in ("1 2 3", "abc", "9" * 40):
        assert draft((await client.get(url(board) + f"?order={junk}", headers=room.chair)).text) == default


@pytest.mark.parametrize(
    ("action", "field", "limit", "label"),
    [
        ("propose", "text", LONG_TEXT, "Proposal"),
        ("amend", "text", LONG_TEXT, "The base proposal, amended"),
        ("recusal", "text", EXPLANATION, "Explanation"),
        ("suspend", "reason", 500, "Reason for suspending"),
    ],
)
async def test_a_text_too_long_is_refused_naming_the_field_never_cut(
    client: httpx.AsyncClient,
    context: AppContext,
    room: Room,
    action: str,
    field: str,
    limit: int,
    label: str,
) -> None:
    board = room.board
    await under_way(client, room)
    page = (await client.get(url(board), headers=room.presenter)).text
    who, fields = {
        "propose": (room.members[0], {"item": board.items[0], "kind": "counter"}),
        "amend": (room.presenter, {"proposal": base_id(page)}),
        "recusal": (room.secretary, {"item": board.items[0], "person": board.members[3], "ground": "party"}),
        "suspend": (room.chair, {}),
    }[action]
    long = "ä" * (limit + 1)
    for language, say in (("en", en), ("fi", fi)):
        refused = await act(
            client, who | {"accept-language": language}, board, action, **fields, **{field: long}
        )
        assert refused.status_code == 422
        alert = refused.text[refused.text.index('id="form-error"') :][:800]
        assert f">{say(label)}</a>: " in alert
        assert (
            say(
                "At most {max} characters fit here, and this has {length}. Shorten it and send it again."
            ).format(max=limit, length=limit + 1)
            in alert
        )
        assert long in refused.text  # kept on the page, to shorten
        assert 'aria-invalid="true"' in refused.text
    before = len(await audit_entries(context))
    await ok(client, who, board, action, **fields, **{field: "ä" * limit})
    assert len(await audit_entries(context)) > before
