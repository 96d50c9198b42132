"""Elections and persons heard through the live page's forms, without JavaScript: the chair opens and closes,
members vote with checkboxes, a secret ballot shows only that one voted, the secretary records a person
heard; wrong roles are refused and a bad form comes back with what was typed."""

from __future__ import annotations

import json
import re

import httpx

from tests.factories import audit_entries
from tests.web.pages.test_live import People, act, forms, ok, people, url
from web.context import AppContext

__all__ = ["people"]  # the fixture, shared with the live page's other tests


async def _ready(client: httpx.AsyncClient, p: People) -> None:
    board = p.board
    for person in board.members:
        await ok(client, p.secretary, board, "mark-arrival", person=person)
    await ok(client, p.chair, board, "take-up", item=board.items[0])


def _candidates(page: str) -> dict[str, str]:
    return {
        name.strip(): value
        for value, name in re.findall(r'name="picked" value="(\d+)"(?: checked)?> ([^<]+)<', page)
    }


async def test_an_open_election_run_through_the_page(
    client: httpx.AsyncClient, context: AppContext, people: People
) -> None:
    board, chair = people.board, people.chair
    m2, m3, _, _ = people.members
    await _ready(client, people)
    assert "open-election" in forms((await client.get(url(board), headers=chair)).text)
    assert "open-election" not in forms((await client.get(url(board), headers=m2)).text)
    await ok(
        client,
        chair,
        board,
        "open-election",
        item=board.items[0],
        title="Edustajat yhtymäkokoukseen",
        seats=2,
        deputies=0,
        method="majority",
        ballot="open",
        candidates="Aino Aalto\nBertta Berg\n\nCecilia Carlsson",
    )
    page = (await client.get(url(board), headers=m2)).text
    found = _candidates(page)
    assert set(found) == {"Aino Aalto", "Bertta Berg", "Cecilia Carlsson"}
    assert 'type="checkbox"' in page
    election = re.search(r'name="election" value="(\d+)"', page)
    assert election
    picked = {"election": election.group(1), "picked": [found["Aino Aalto"], found["Bertta Berg"]]}
    response = await client.post(url(board, "election-ballot"), headers=m2, data=picked)
    assert response.status_code == 303, response.text[-1500:]
    await ok(client, m3, board, "election-ballot", election=election.group(1), picked=found["Aino Aalto"])
    mine = (await client.get(url(board), headers=m2)).text
    assert f'value="{found["Bertta Berg"]}" checked' in mine  # an open ballot shows and can be changed
    too_many = {"election": election.group(1), "picked": list(found.values())}
    refused = await client.post(url(board, "election-ballot"), headers=m2, data=too_many)
    assert refused.status_code == 422
    assert "at most 2" in refused.text
    await ok(client, chair, board, "close-election", election=election.group(1))
    result = (await client.get(url(board), headers={"accept": "text/html", "accept-language": "en"})).text
    assert "Ballots cast: 2, of which blank: 0." in result
    assert "How each member voted" in result
    closed = json.loads((await audit_entries(context, "election.closed"))[0].data)
    assert closed["elected"][0] == int(found["Aino Aalto"])


async def test_a_secret_ballot_on_the_page_is_final_and_shows_no_choice(
    client: httpx.AsyncClient, context: AppContext, people: People
) -> None:
    board, chair = people.board, people.chair
    m2 = people.members[0]
    await _ready(client, people)
    await ok(
        client,
        chair,
        board,
        "open-election",
        item=board.items[0],
        title="Tarkastuslautakunnan jäsen",
        seats=1,
        method="majority",
        ballot="secret",
        candidates="Aino Aalto\nBertta Berg",
    )
    page = (await client.get(url(board), headers=m2)).text
    assert 'type="radio"' in page
    found = _candidates(page)
    election = re.search(r'name="election" value="(\d+)"', page)
    assert election
    await ok(client, m2, board, "election-ballot", election=election.group(1), picked=found["Bertta Berg"])
    after = (await client.get(url(board), headers=m2)).text
    assert "election-ballot" not in forms(after)
    assert "nobody can see how you voted" in after
    again = await act(client, m2, board, "election-ballot", election=election.group(1), picked="")
    assert again.status_code == 409
    (entry,) = await audit_entries(context, "election.ballot_cast")
    assert entry.data == "{}"


async def test_the_secretary_records_a_person_heard_and_a_member_cannot(
    client: httpx.AsyncClient, context: AppContext, people: People
) -> None:
    board = people.board
    await _ready(client, people)
    assert "heard" in forms((await client.get(url(board), headers=people.secretary)).text)
    refused = await act(client, people.members[0], board, "heard", item=board.items[0], heard_name="X")
    assert refused.status_code == 403
    assert "Only the secretary or the chair records the persons heard." in refused.text
    long = "y" * 2001
    kept = await act(
        client, people.secretary, board, "heard", item=board.items[0], heard_name="Liisa", summary=long
    )
    assert kept.status_code == 422
    assert long in kept.text  # what was typed comes back
    assert 'value="Liisa"' in kept.text
    await ok(
        client,
        people.secretary,
        board,
        "heard",
        item=board.items[0],
        heard_name="Liisa Lakimies",
        heard_title="Kuntaliitto",
        summary="Selvitti hankintalain.",
    )
    public = (await client.get(url(board), headers={"accept": "text/html", "accept-language": "en"})).text
    assert "Liisa Lakimies</strong>, Kuntaliitto" in public
    assert await audit_entries(context, "statement.recorded")


async def test_a_bad_election_form_comes_back_with_what_was_typed(
    client: httpx.AsyncClient, people: People
) -> None:
    board = people.board
    await _ready(client, people)
    sent = {
        "item": board.items[0],
        "title": "Edustaja",
        "seats": 0,
        "method": "majority",
        "ballot": "open",
        "candidates": "Aino Aalto",
    }
    refused = await act(client, people.chair, board, "open-election", **sent)
    assert refused.status_code == 422
    assert 'id="election-seats-error"' in refused.text
    assert "Aino Aalto</textarea>" in refused.text
    listless = sent | {"seats": 1, "method": "proportional", "candidates": "Aino Aalto"}
    refused = await act(client, people.chair, board, "open-election", **listless)
    assert refused.status_code == 422
    assert "1: Aino Aalto" in refused.text
