"""The agenda editor: the secretary builds the agenda, attaches files and sends the call (R-CALL-1…7);
other roles are refused."""

from __future__ import annotations

import json
import re

import httpx
from sqlalchemy import select

from meetings.models import AgendaItem, Attachment, Meeting, MeetingStatus
from tests.factories import audit_entries
from tests.web.town import (
    HTML,
    PUBLIC_FILE,
    SECRET_BASIS,
    Login,
    Town,
    csrf,
    fi,
    post_form,
    shown,
)
from web.context import AppContext

# ---- the secretary's editor ---------------------------------------------------------------------


async def test_editor_builds_an_agenda_and_sends_the_call(
    town: Town, login: Login, context: AppContext
) -> None:
    secretary = await login("sakari")
    created = await post_form(
        secretary,
        "/bodies/sivistys/meetings",
        starts_at="2026-12-15T17:00",
        place="Valtuustosali",
        is_public="yes",
    )
    assert created.status_code == 303
    editor_path = created.headers["location"].split("?")[0]
    meeting_id = int(editor_path.split("/")[2])
    assert (await secretary.get(created.headers["location"], headers=HTML)).status_code == 200

    # A missing title: refused next to the field, with everything typed kept.
    refused = await post_form(secretary, f"{editor_path}/items", title=" ", description="Pitkä teksti\nrivit")
    assert refused.status_code == 422
    assert 'id="new-item-title-error"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert "Pitkä teksti\nrivit</textarea>" in refused.text

    for title in ("Ensimmäinen asia", "Toinen asia"):
        added = await post_form(secretary, f"{editor_path}/items", title=title, publicity="public")
        assert added.status_code == 303
        assert added.headers["location"] == f"{editor_path}?done=item-added"
    async with context.db.read() as session:
        items = list(
            (await session.execute(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id))).scalars()
        )
    second = next(i for i in items if i.title == "Toinen asia")
    moved = await post_form(secretary, f"{editor_path}/items/{second.id}/move", direction="up")
    assert moved.status_code == 303
    page = (await secretary.get(editor_path, headers=HTML)).text
    assert page.index("Toinen asia") < page.index("Ensimmäinen asia")
    assert len(await audit_entries(context, "items.reordered")) == 1

    # The secretary prepares; the chair issues the call (R-CALL-1/5), after ticking the box.
    assert (await post_form(secretary, f"{editor_path}/call", confirm="yes")).status_code == 403
    chair = await login("helena")
    chair_view = (await chair.get(editor_path, headers=HTML)).text
    assert 'name="confirm"' in chair_view
    assert f'action="{editor_path}/items"' not in chair_view  # the chair does not write the agenda
    calls_before = len(await audit_entries(context, "call.sent"))
    unconfirmed = await post_form(chair, f"{editor_path}/call")
    assert unconfirmed.status_code == 422
    assert len(await audit_entries(context, "call.sent")) == calls_before
    sent = await post_form(chair, f"{editor_path}/call", confirm="yes")
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{editor_path}?done=call-sent"
    async with context.db.read() as session:
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None
        assert meeting.status == MeetingStatus.CALLED
    public = (await secretary.get(f"/meetings/{meeting_id}", headers=HTML)).text
    assert "Toinen asia" in public

    # After the call a change needs a reason; the members then see the version and the reason.
    change = {"title": "Toinen asia, korjattu", "publicity": "public", "decision_mode": "meeting"}
    no_reason = await post_form(secretary, f"{editor_path}/items/{second.id}", **change)
    assert no_reason.status_code == 422
    assert f'id="edit-{second.id}-reason-error"' in no_reason.text
    assert 'value="Toinen asia, korjattu"' in no_reason.text
    saved = await post_form(secretary, f"{editor_path}/items/{second.id}", **change, reason="Kirjoitusvirhe.")
    assert saved.status_code == 303
    member = await login("liisa")
    seen = (await member.get(f"/meetings/{meeting_id}", headers=HTML)).text
    assert "Kirjoitusvirhe." in seen
    assert "Toinen asia, korjattu" in seen


async def test_late_call_lists_every_problem_with_its_rule(
    town: Town, login: Login, context: AppContext
) -> None:
    secretary = await login("sakari")
    created = await post_form(
        secretary, "/bodies/sivistys/meetings", starts_at="30.11.2026 16.00", place="Sali"
    )
    editor_path = created.headers["location"].split("?")[0]
    check = await secretary.get(editor_path, headers=HTML)
    assert "(R-CALL-5)" in check.text  # too late for the body's call period
    assert "(R-CALL-3)" in check.text  # and nothing on the agenda
    chair = await login("helena")
    refused = await post_form(chair, f"{editor_path}/call", confirm="yes")
    assert refused.status_code == 422
    assert fi("The call was not sent.") in refused.text
    assert "(R-CALL-5)" in refused.text
    assert await audit_entries(context, "call.sent") != []  # only the fixture's two calls
    assert len(await audit_entries(context, "call.sent")) == 2


async def test_meeting_details_form_keeps_bad_input(town: Town, login: Login) -> None:
    secretary = await login("sakari")
    path = f"/meetings/{town.draft}/edit"
    refused = await post_form(secretary, path, starts_at="huomenna", place="Kirjasto", mode="in_person")
    assert refused.status_code == 422
    assert 'id="meeting-starts-at-error"' in refused.text
    assert 'value="huomenna"' in refused.text
    assert 'value="Kirjasto"' in refused.text
    saved = await post_form(
        secretary, path, starts_at="17.12.2026 klo 18.30", place="Kirjasto", mode="in_person"
    )
    assert saved.status_code == 303
    page = (await secretary.get(f"/meetings/{town.draft}", headers=HTML)).text
    assert "17.12.2026 klo 18.30" in page
    assert "Kirjasto" in page


async def test_remove_item_renumbers(town: Town, login: Login) -> None:
    secretary = await login("sakari")
    path = f"/meetings/{town.draft}/edit"
    await post_form(secretary, f"{path}/items", title="Toinen luonnoksen asia")
    page = (await secretary.get(path, headers=HTML)).text
    first = int(re.findall(r'<li id="item-(\d+)"', page)[0])
    removed = await post_form(secretary, f"{path}/items/{first}/remove")
    assert removed.status_code == 303
    page = (await secretary.get(path, headers=HTML)).text
    assert "Luonnoksen asia<" not in page
    assert "Toinen luonnoksen asia" in page


async def test_wrong_roles_cannot_use_the_editor(client: httpx.AsyncClient, town: Town, login: Login) -> None:
    member = await login("liisa")
    assert (await member.get(f"/meetings/{town.public}/edit", headers=HTML)).status_code == 404
    added = await post_form(member, f"/meetings/{town.draft}/edit/items", title="Ei saa")
    assert added.status_code == 404
    assert (await post_form(member, f"/meetings/{town.draft}/edit/call")).status_code == 404
    new = await post_form(member, "/bodies/sivistys/meetings", starts_at="2026-12-20T10:00", place="X")
    assert new.status_code == 403
    other = await login("olli")
    assert (await other.get(f"/meetings/{town.public}/edit", headers=HTML)).status_code == 404
    assert (await client.get(f"/meetings/{town.public}/edit", headers=HTML)).status_code == 303
    forged = await member.post(f"/meetings/{town.public}/items/{town.items[0]}/disqualification", data={})
    assert forged.status_code == 403


async def test_editor_uploads_an_attachment_and_explains_a_refusal(
    context: AppContext, town: Town, login: Login
) -> None:
    secretary = await login("sakari")
    path = f"/meetings/{town.draft}/edit"
    page = (await secretary.get(path, headers=HTML)).text
    item = int(re.findall(r'<li id="item-(\d+)"', page)[0])
    # The upload form carries its token in its address, as a browser sends it, and not among its fields.
    action = f"{path}/items/{item}/attachments?csrf_token={csrf(page)}"
    assert f'action="{action}"' in page
    form = {"title": "Liitekartta", "is_public": "true", "confidentiality_basis": ""}
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    uploaded = await secretary.post(
        action,
        data=form,
        headers=HTML,
        files={"file": ("kartta.pdf", pdf, "application/pdf")},
    )
    assert uploaded.status_code == 303, uploaded.text
    assert uploaded.headers["location"] == f"{path}?done=attachment-added#item-{item}"
    assert "Liitekartta" in (await secretary.get(path, headers=HTML)).text
    assert len(await audit_entries(context, "attachment.added")) == 1
    refused = await secretary.post(
        action,
        data=form,
        headers=HTML,
        files={"file": ("ohjelma.pdf", b"MZ\x90\x00not a pdf", "application/pdf")},
    )
    assert refused.status_code == 415
    assert f'id="attach-{item}-error"' in refused.text
    member = await login("liisa")
    sneaky = await member.post(
        f"{path}/items/{item}/attachments",
        params={"csrf_token": member.cookies["kokous_csrf"]},
        headers=HTML,
        files={"file": ("x.pdf", pdf, "application/pdf")},
    )
    assert sneaky.status_code == 404


async def test_editor_changes_an_attachment_and_the_public_agenda_follows(
    client: httpx.AsyncClient, context: AppContext, town: Town, login: Login
) -> None:
    """R-PUB-7: an attachment made confidential leaves the (cached) public agenda and the public download."""
    assert PUBLIC_FILE in (await client.get(f"/meetings/{town.public}", headers=HTML)).text
    async with context.db.read() as session:
        query = select(Attachment.id).where(Attachment.filename == PUBLIC_FILE)
        attachment = (await session.execute(query)).scalar_one()
    secretary = await login("sakari")
    editor = (await secretary.get(f"/meetings/{town.public}/edit", headers=HTML)).text
    form_path = f"/meetings/{town.public}/attachments/{attachment}"
    assert f'action="{form_path}"' in editor
    fields = {"title": "Hankintailmoitus 2027", "is_public": "false"}

    refused = await post_form(secretary, form_path, confidentiality_basis="", **fields)

    assert refused.status_code == 422
    basis = f"attachment-{attachment}-confidentiality-basis"
    assert f'id="{basis}-error"' in refused.text
    assert 'value="Hankintailmoitus 2027"' in refused.text  # the input is kept
    assert '<option value="false" selected>' in refused.text
    assert await audit_entries(context, "attachment.updated") == []

    saved = await post_form(secretary, form_path, confidentiality_basis=SECRET_BASIS, **fields)

    assert saved.status_code == 303
    assert saved.headers["location"] == f"/meetings/{town.public}/edit?done=attachment-saved"
    notice = await secretary.get(saved.headers["location"], headers=HTML)
    assert shown("The attachment was saved.") in notice.text
    assert "Hankintailmoitus 2027" in notice.text
    [updated] = await audit_entries(context, "attachment.updated")
    assert json.loads(updated.data)["changed"] == ["confidentiality_basis", "is_public", "title"]
    public = await client.get(f"/meetings/{town.public}", headers=HTML)
    assert PUBLIC_FILE not in public.text
    assert f"/api/attachments/{attachment}" not in public.text
    assert (await client.get(f"/api/attachments/{attachment}")).status_code == 404
    member = await login("liisa")
    forged = await post_form(member, form_path, title="Ei saa", is_public="true", confidentiality_basis="")
    assert forged.status_code == 404
    assert len(await audit_entries(context, "attachment.updated")) == 1
