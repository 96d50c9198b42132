"""Bodies, meetings, agendas and the Atom feed as pages: what the public and members see and do.

The public page and the feed must never show a confidential item's title or text, a confidential attachment
or the preparer's contact details (R-CALL-7, R-PUB-2, R-PUB-3, R-PUB-7); a closed meeting shows no items.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

import httpx

from meetings.actions.agenda import ItemSpec, do_add_item
from meetings.models import Meeting
from tests.conftest import BASE_URL
from tests.factories import audit_entries
from tests.web.town import (
    ATOM,
    CLOSED_TITLE,
    CONTACT,
    HTML,
    PARTLY_SUMMARY,
    PARTLY_TEXT,
    PARTLY_TITLE,
    PUBLIC_FILE,
    PUBLIC_TEXT,
    SECRET_BASIS,
    SECRET_FILE,
    SECRET_TEXT,
    SECRET_TITLE,
    Login,
    Town,
    fi,
    post_form,
    shown,
)
from web.context import AppContext

# ---- the public ---------------------------------------------------------------------------------


async def test_public_agenda_shows_only_what_the_public_may_see(
    client: httpx.AsyncClient, town: Town
) -> None:
    page = await client.get(f"/meetings/{town.public}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert "Koulukuljetusten hankinta &lt;2027&gt; &amp; ehdot" in text
    assert PUBLIC_TEXT in text
    assert PUBLIC_FILE in text
    assert "/api/attachments/" in text
    # A wholly confidential item: its § number and a mention, nothing else (R-PUB-2).
    secret_section = re.search(r"§ (\d+)</span> " + re.escape(fi("Confidential matter")), text)
    assert secret_section, "the confidential item is not mentioned"
    for hidden in (SECRET_TITLE, SECRET_TEXT, SECRET_BASIS, SECRET_FILE, "Rehtori Rauni", "Meikäläinen"):
        assert hidden not in text
    # A partly confidential item: its title and public summary, not the rest (JulkL 10 §).
    assert PARTLY_TITLE in text
    assert PARTLY_SUMMARY in text
    assert PARTLY_TEXT not in text
    # Personal data the public does not need (R-PUB-3).
    assert CONTACT not in text
    assert "@kunta.example" not in text
    assert shown("Members' view.") not in text


async def test_closed_meeting_shows_the_public_no_items(client: httpx.AsyncClient, town: Town) -> None:
    page = await client.get(f"/meetings/{town.closed}", headers=HTML)
    assert page.status_code == 200
    assert fi("The meeting is closed: its agenda is not published.") in page.text
    assert CLOSED_TITLE not in page.text
    assert "Kunnantalo" not in page.text
    assert 'class="agenda"' not in page.text


async def test_draft_is_hidden_from_the_public_and_other_bodies(
    client: httpx.AsyncClient, town: Town, login: Login, context: AppContext
) -> None:
    assert (await client.get(f"/meetings/{town.draft}", headers=HTML)).status_code == 404
    other_secretary = await login("olli")
    assert (await other_secretary.get(f"/meetings/{town.draft}", headers=HTML)).status_code == 404
    assert (await other_secretary.get(f"/meetings/{town.draft}/edit", headers=HTML)).status_code == 404
    body_page = await client.get("/bodies/sivistys", headers=HTML)
    assert f"/meetings/{town.draft}" not in body_page.text
    secretary = await login("sakari")
    assert (await secretary.get(f"/meetings/{town.draft}", headers=HTML)).status_code == 200
    assert any("hidden" in str(e.data) for e in await audit_entries(context, "access.denied"))


async def test_the_draft_page_shows_each_change_at_once(
    town: Town, login: Login, context: AppContext
) -> None:
    """A draft's agenda version stays 0 while it is built, so its page is never served from the cache."""
    secretary = await login("sakari")
    assert "Uusi asia luonnokseen" not in (await secretary.get(f"/meetings/{town.draft}", headers=HTML)).text
    async with context.db.write() as session:
        draft = await session.get(Meeting, town.draft)
        assert draft is not None
        await do_add_item(
            session, meeting=draft, spec=ItemSpec(title="Uusi asia luonnokseen"), actor="system:test"
        )
    assert "Uusi asia luonnokseen" in (await secretary.get(f"/meetings/{town.draft}", headers=HTML)).text


async def test_bodies_and_body_page_list_public_facts_only(client: httpx.AsyncClient, town: Town) -> None:
    listing = await client.get("/bodies", headers=HTML)
    assert "Sivistyslautakunta" in listing.text
    assert 'href="/bodies/tekninen/feed.atom"' in listing.text
    page = await client.get("/bodies/sivistys", headers=HTML)
    assert page.status_code == 200
    assert "Helena Virtanen" in page.text
    assert fi("Chair") in page.text
    assert "@kunta.example" not in page.text
    assert f'href="/meetings/{town.public}"' in page.text
    assert 'type="application/atom+xml"' in page.text
    assert fi("New meeting") not in page.text
    swedish = await client.get("/bodies/sivistys", headers={**HTML, "accept-language": "sv"})
    assert "Sivistyslautakunta (sv)" in swedish.text
    assert (await client.get("/bodies/no-such-body", headers=HTML)).status_code == 404


# ---- members ------------------------------------------------------------------------------------


async def test_member_sees_everything_and_chair_sees_declarations(town: Town, login: Login) -> None:
    member = await login("liisa")
    page = await member.get(f"/meetings/{town.public}", headers=HTML)
    assert page.status_code == 200
    for text in (SECRET_TITLE, SECRET_TEXT, SECRET_BASIS, SECRET_FILE, PARTLY_TEXT, CONTACT):
        assert text in page.text
    assert shown("Members' view.") in page.text
    assert fi("Agenda editor") not in page.text
    assert f"/meetings/{town.public}/edit" not in page.text
    secret = town.items[1]
    declared = await post_form(
        member, f"/meetings/{town.public}/items/{secret}/disqualification", ground="party", explanation="Isä."
    )
    assert declared.status_code == 303
    assert (
        declared.headers["location"]
        == f"/meetings/{town.public}?done=declared&item={secret}#item-{secret}-mine"
    )
    after = await member.get(declared.headers["location"], headers=HTML)
    assert fi("Your disqualification was recorded.") in after.text
    assert fi("You have declared yourself disqualified:") in after.text

    chair = await login("helena")
    seen = await chair.get(f"/meetings/{town.public}", headers=HTML)
    assert "Liisa Virtanen" in seen.text
    assert fi("I or a person close to me is a party (HL 28 § 1 mom 1 k)") in seen.text

    withdrawn = await post_form(member, f"/meetings/{town.public}/items/{secret}/disqualification/withdraw")
    assert withdrawn.status_code == 303
    assert "Liisa Virtanen" not in (await chair.get(f"/meetings/{town.public}", headers=HTML)).text


async def test_declaration_error_keeps_the_input_and_names_the_field(town: Town, login: Login) -> None:
    member = await login("liisa")
    item = town.items[0]
    refused = await post_form(
        member, f"/meetings/{town.public}/items/{item}/disqualification", ground="other", explanation="  "
    )
    assert refused.status_code == 422
    field = "declare-explanation"
    assert f'id="{field}-error"' in refused.text
    assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-hint {field}-error"', refused.text)
    assert re.search(
        r'type="radio" value="other" checked', refused.text
    )  # radio buttons, which wrap on a phone
    unknown = await post_form(member, f"/meetings/{town.public}/items/{item}/disqualification", ground="")
    assert unknown.status_code == 422
    assert fi("Choose the ground of the disqualification.") in unknown.text


async def test_secretary_alone_cannot_declare_and_items_stay_under_their_meeting(
    town: Town, login: Login
) -> None:
    secretary = await login("sakari")
    path = f"/meetings/{town.public}/items/{town.items[0]}/disqualification"
    assert (await post_form(secretary, path, ground="party")).status_code == 403
    assert (await secretary.get(path, headers=HTML)).status_code == 403
    member = await login("liisa")
    wrong = f"/meetings/{town.closed}/items/{town.items[0]}/disqualification"
    assert (await post_form(member, wrong, ground="party")).status_code == 404
    assert (await member.get(wrong, headers=HTML)).status_code == 404


async def test_the_member_declares_on_a_page_of_its_own(
    client: httpx.AsyncClient, town: Town, login: Login
) -> None:
    """R-DISQ-5: the agenda links to one form per item instead of carrying a form for every item."""
    member = await login("liisa")
    agenda = await member.get(f"/meetings/{town.public}", headers=HTML)
    secret = town.items[1]
    form_path = f"/meetings/{town.public}/items/{secret}/disqualification"
    assert f'href="{form_path}"' in agenda.text
    assert 'name="ground"' not in agenda.text
    form = await member.get(form_path, headers=HTML)
    assert form.status_code == 200
    assert SECRET_TITLE in form.text
    assert 'name="ground"' in form.text
    assert 'name="csrf_token"' in form.text
    assert fi("I or a person close to me is a party (HL 28 § 1 mom 1 k)") in form.text
    assert (await post_form(member, form_path, ground="party")).status_code == 303
    again = await member.get(form_path, headers=HTML)
    assert fi("You have declared yourself disqualified:") in again.text
    assert 'name="ground"' not in again.text
    outsider = await login("olli")  # the public agenda mentions the item, so it is refused, not hidden
    refused = await outsider.get(form_path, headers=HTML)
    assert refused.status_code == 403
    assert SECRET_TITLE not in refused.text
    anonymous = await client.get(form_path, headers=HTML)
    assert anonymous.status_code in (303, 401)


async def test_my_meetings_lists_the_members_upcoming_meetings(
    client: httpx.AsyncClient, town: Town, login: Login
) -> None:
    member = await login("liisa")
    page = await member.get("/my/meetings", headers=HTML)
    assert page.status_code == 200
    assert f'href="/meetings/{town.public}"' in page.text
    assert f'href="/meetings/{town.draft}"' not in page.text  # a draft belongs to the chair and secretary
    assert "Sivistyslautakunta" in page.text
    anonymous = await client.get("/my/meetings", headers=HTML)
    assert anonymous.status_code == 303


# ---- the feed -----------------------------------------------------------------------------------


async def test_feed_is_atom_with_public_titles_only(client: httpx.AsyncClient, town: Town) -> None:
    response = await client.get("/bodies/sivistys/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)  # noqa: S314 - our own feed, parsed to prove it well-formed
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None
    entries = feed.findall(f"{ATOM}entry")
    links = {e.find(f"{ATOM}link").get("href") for e in entries}  # type: ignore[union-attr]
    assert links == {f"{BASE_URL}/meetings/{town.public}", f"{BASE_URL}/meetings/{town.closed}"}
    for entry in entries:
        assert entry.findtext(f"{ATOM}id", "").startswith("tag:kokous.test,")
        assert entry.findtext(f"{ATOM}title", "").startswith("Sivistyslautakunta ")
        datetime.fromisoformat(entry.findtext(f"{ATOM}updated", "").replace("Z", "+00:00"))
    summaries = " ".join(e.findtext(f"{ATOM}summary", "") for e in entries)
    assert "Koulukuljetusten hankinta &lt;2027&gt; &amp; ehdot" in summaries  # HTML inside, escaped once
    assert fi("Confidential matter") in summaries
    assert PARTLY_TITLE in summaries
    assert fi("The meeting is closed: its agenda is not published.") in summaries
    for hidden in (SECRET_TITLE, SECRET_TEXT, CLOSED_TITLE, "Luonnoksen asia", SECRET_FILE):
        assert hidden not in response.text
    closed = next(e for e in entries if e.find(f"{ATOM}link").get("href", "").endswith(f"/{town.closed}"))  # type: ignore[union-attr]
    assert "Kunnantalo" not in closed.findtext(f"{ATOM}summary", "")
