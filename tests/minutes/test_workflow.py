"""The minutes' workflow through its actions: drafted, edited (every version kept), checked by the checkers
(R-CHECK-1/2), signed by the chair and countersigned by the secretary, published, and depersonalised when the
period ends (R-PUB-4); each step writes its audit entry, and signed minutes change no more."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.clock import FixedClock
from core.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from meetings.models import Meeting
from minutes.drafting import ItemWording, Wording
from minutes.models import MinutesRecord, MinutesState, MinutesVersion
from minutes.queries import version_changes
from minutes.verify import TrustAnchors, Verdict, verify_bytes
from minutes.workflow import (
    TRANSITIONS,
    VERSION_CHANGED,
    Rendering,
    Step,
    do_edit_wording,
    do_open_draft,
    do_publish,
    do_remove_personal_data,
    do_review,
    do_send_for_checking,
    do_sign,
    due_for_removal,
    removal_at,
    render_for_signing,
)
from tests.factories import audit_entries
from tests.minutes.held import Held, hold_scripted_meeting
from web.context import AppContext


@pytest.fixture
async def held(context: AppContext, clock: FixedClock) -> Held:
    return await hold_scripted_meeting(context, clock)


async def _minutes(context: AppContext) -> MinutesRecord:
    async with context.db.read() as session:
        return (await session.execute(select(MinutesRecord))).scalar_one()


async def opened(context: AppContext, held: Held) -> int:
    async with context.db.write() as session:
        meeting = await session.get(Meeting, held.board.meeting_id)
        assert meeting is not None
        minutes = await do_open_draft(
            session,
            meeting=meeting,
            secretary_id=held.board.secretary,
            actor=held.board.actor(held.board.secretary),
        )
        return minutes.id


async def act(context: AppContext, minutes_id: int, work):  # type: ignore[no-untyped-def]
    async with context.db.write() as session:
        minutes = await session.get(MinutesRecord, minutes_id)
        assert minutes is not None
        return await work(session, minutes)


async def checked(context: AppContext, held: Held, clock: FixedClock) -> int:
    minutes_id = await opened(context, held)
    board = held.board
    secretary, (m2, m3) = board.secretary, board.members[1:3]
    await act(
        context, minutes_id, lambda s, m: do_send_for_checking(s, minutes=m, user_id=secretary, actor="u")
    )
    for checker in (m2, m3):
        clock.advance(hours=2)
        await act(
            context,
            minutes_id,
            lambda s, m, c=checker: do_review(
                s, minutes=m, user_id=c, approve=True, comment="", actor=f"user:{c}"
            ),
        )
    return minutes_id


async def rendered(context: AppContext, minutes_id: int) -> Rendering:
    """The chair's PDF, rendered in a read transaction before the signing one (docs/minutes.md, "Speed")."""
    async with context.db.read() as session:
        minutes = await session.get(MinutesRecord, minutes_id)
        assert minutes is not None
        return await render_for_signing(session, minutes)


async def signed(context: AppContext, held: Held, clock: FixedClock) -> int:
    minutes_id = await checked(context, held, clock)
    board = held.board
    rendering = await rendered(context, minutes_id)
    for person, name in ((board.chair, "Puheenjohtaja"), (board.secretary, "Sihteeri")):
        clock.advance(hours=1)
        await act(
            context,
            minutes_id,
            lambda s, m, p=person, n=name: do_sign(
                s, minutes=m, user_id=p, name=n, actor=f"user:{p}", rendering=rendering
            ),
        )
    return minutes_id


def test_the_transition_table_has_no_way_out_of_signed_minutes_but_publication() -> None:
    after_signing = {
        (state, step) for state, step in TRANSITIONS if state in (MinutesState.SIGNED, MinutesState.PUBLISHED)
    }
    assert after_signing == {
        (MinutesState.SIGNED, Step.PUBLISH),
        (MinutesState.PUBLISHED, Step.DEPERSONALISE),
    }
    assert all(
        step != Step.EDIT
        for state, step in TRANSITIONS
        if state not in (MinutesState.DRAFT, MinutesState.REJECTED)
    )


async def test_the_draft_is_opened_once_and_audited(context: AppContext, held: Held) -> None:
    first = await opened(context, held)
    assert await opened(context, held) == first
    (entry,) = await audit_entries(context, "minutes.drafted")
    assert entry.subject == f"minutes:{first}"


async def test_every_edit_is_a_version_compared_with_the_last(context: AppContext, held: Held) -> None:
    minutes_id = await opened(context, held)
    secretary = held.board.secretary
    words = Wording(items={1: ItemWording(decision="Kunnanhallitus hyväksyi talousarvion.")})
    await act(
        context,
        minutes_id,
        lambda s, m: do_edit_wording(
            s, minutes=m, user_id=secretary, wording=words, note="Sanamuoto", actor="u"
        ),
    )
    async with context.db.read() as session:
        versions = list(
            (await session.execute(select(MinutesVersion).order_by(MinutesVersion.number))).scalars()
        )
        assert [v.number for v in versions] == [1, 2]
        changes = version_changes(versions[0].content, versions[1].content)
    assert [(c.path, c.after) for c in changes] == [
        ("items.1.decision", "Kunnanhallitus hyväksyi talousarvion.")
    ]
    assert len(await audit_entries(context, "minutes.edited")) == 1


async def test_only_the_secretary_edits_and_never_a_missing_section(context: AppContext, held: Held) -> None:
    minutes_id = await opened(context, held)
    member = held.board.members[1]
    with pytest.raises(Forbidden):
        await act(
            context,
            minutes_id,
            lambda s, m: do_edit_wording(s, minutes=m, user_id=member, wording=Wording(), actor="u"),
        )
    words = Wording(items={99: ItemWording(description="x")})
    with pytest.raises(ValidationFailed):
        await act(
            context,
            minutes_id,
            lambda s, m: do_edit_wording(
                s, minutes=m, user_id=held.board.secretary, wording=words, actor="u"
            ),
        )


async def test_only_checkers_check_and_a_rejection_needs_a_comment(
    context: AppContext, held: Held, clock: FixedClock
) -> None:
    minutes_id = await opened(context, held)
    board = held.board
    await act(
        context,
        minutes_id,
        lambda s, m: do_send_for_checking(s, minutes=m, user_id=board.secretary, actor="u"),
    )
    for outsider in (board.chair, board.secretary, board.members[3]):
        with pytest.raises(Forbidden):
            await act(
                context,
                minutes_id,
                lambda s, m, o=outsider: do_review(
                    s, minutes=m, user_id=o, approve=True, comment="", actor="u"
                ),
            )
    m2 = board.members[1]
    with pytest.raises(ValidationFailed):
        await act(
            context,
            minutes_id,
            lambda s, m: do_review(s, minutes=m, user_id=m2, approve=False, comment=" ", actor="u"),
        )
    await act(
        context,
        minutes_id,
        lambda s, m: do_review(
            s, minutes=m, user_id=m2, approve=False, comment="§ 1 päätös väärin.", actor="u"
        ),
    )
    assert (await _minutes(context)).state == MinutesState.REJECTED  # R-CHECK-2
    (entry,) = await audit_entries(context, "minutes.rejected")
    assert json.loads(entry.data)["comment"] is True
    with pytest.raises(InvalidTransition):  # nothing to check until it is sent again
        await act(
            context,
            minutes_id,
            lambda s, m: do_review(s, minutes=m, user_id=m2, approve=True, comment="", actor="u"),
        )


async def test_checked_when_every_checker_approved(
    context: AppContext, held: Held, clock: FixedClock
) -> None:
    await checked(context, held, clock)
    assert (await _minutes(context)).state == MinutesState.CHECKED  # R-CHECK-3
    assert [json.loads(e.data)["checked"] for e in await audit_entries(context, "minutes.approved")] == [
        False,
        True,
    ]


async def test_the_chair_signs_first_and_only_the_chair_and_secretary_sign(
    context: AppContext, held: Held, clock: FixedClock
) -> None:
    minutes_id = await checked(context, held, clock)
    board = held.board
    with pytest.raises(Forbidden):
        await act(
            context,
            minutes_id,
            lambda s, m: do_sign(s, minutes=m, user_id=board.members[1], name="x", actor="u"),
        )
    with pytest.raises(InvalidTransition):
        await act(
            context,
            minutes_id,
            lambda s, m: do_sign(s, minutes=m, user_id=board.secretary, name="x", actor="u"),
        )


async def test_signed_minutes_verify_and_change_no_more(
    context: AppContext, held: Held, clock: FixedClock
) -> None:
    minutes_id = await signed(context, held, clock)
    minutes = await _minutes(context)
    assert minutes.state == MinutesState.SIGNED
    assert minutes.signed_pdf is not None
    assert minutes.signed_json is not None
    anchors = TrustAnchors.load(ca=None, vkey=None, data_dir=context.settings.data_dir)
    for data in (minutes.signed_pdf, minutes.signed_json):
        verification = await verify_bytes(data, anchors)
        assert verification.verdict == Verdict.INTACT, verification.report()
    document = json.loads(minutes.signed_json)["document"]
    assert document["meeting"]["checking"]["checked_on"] is not None  # the note of checking (R-MIN-2)
    roles = [json.loads(e.data)["role"] for e in await audit_entries(context, "minutes.signed")]
    assert roles == ["chair", "secretary"]
    with pytest.raises(InvalidTransition):  # nobody edits signed minutes
        await act(
            context,
            minutes_id,
            lambda s, m: do_edit_wording(
                s, minutes=m, user_id=held.board.secretary, wording=Wording(), actor="u"
            ),
        )
    with pytest.raises(InvalidTransition):
        await act(
            context,
            minutes_id,
            lambda s, m: do_sign(s, minutes=m, user_id=held.board.chair, name="x", actor="u"),
        )


async def test_published_then_depersonalised_when_the_period_ends(
    context: AppContext, held: Held, clock: FixedClock
) -> None:
    minutes_id = await signed(context, held, clock)
    await act(
        context, minutes_id, lambda s, m: do_publish(s, minutes=m, user_id=held.board.secretary, actor="u")
    )
    minutes = await _minutes(context)
    assert minutes.state == MinutesState.PUBLISHED
    assert len(await audit_entries(context, "minutes.published")) == 1
    with pytest.raises(InvalidTransition):  # not before the period ends (R-PUB-4)
        await act(context, minutes_id, lambda s, m: do_remove_personal_data(s, minutes=m))
    due = removal_at(minutes)
    assert due is not None
    assert due > minutes.publish_at + timedelta(days=21)
    clock.now = due
    async with context.db.read() as session:
        assert [m.id for m in await due_for_removal(session, clock())] == [minutes_id]
    await act(context, minutes_id, lambda s, m: do_remove_personal_data(s, minutes=m))
    assert (await _minutes(context)).personal_data_removed_at == due
    assert len(await audit_entries(context, "minutes.personal_data_removed")) == 1


async def test_a_closed_meeting_only(context: AppContext, clock: FixedClock) -> None:
    from tests.meetings.live.world import hold, make_board

    board = await make_board(context, clock)
    await hold(context, clock, board)
    async with context.db.write() as session:
        meeting = await session.get(Meeting, board.meeting_id)
        assert meeting is not None
        with pytest.raises(InvalidTransition):
            await do_open_draft(session, meeting=meeting, secretary_id=board.secretary, actor="u")


async def test_a_changed_record_is_not_signed_unchecked(
    context: AppContext, held: Held, clock: FixedClock
) -> None:
    minutes_id = await checked(context, held, clock)
    async with context.db.write() as session:  # the record says something else now than when checked
        version = (await session.execute(select(MinutesVersion))).scalar_one()
        version.content = {**version.content, "version": 99}
    with pytest.raises(Conflict):
        await rendered(context, minutes_id)


async def test_the_pdf_is_rendered_before_the_signing_transaction_and_only_for_its_version(
    context: AppContext, held: Held, clock: FixedClock
) -> None:
    """The slow render runs outside the write transaction; the short one signs only what is still current."""
    minutes_id = await checked(context, held, clock)
    rendering = await rendered(context, minutes_id)
    assert rendering.pdf.startswith(b"%PDF-")
    async with context.db.write() as session:  # someone else's step moved the minutes on meanwhile
        minutes = await session.get(MinutesRecord, minutes_id)
        assert minutes is not None
        minutes.version += 1
    with pytest.raises(Conflict) as refused:
        await act(
            context,
            minutes_id,
            lambda s, m: do_sign(
                s, minutes=m, user_id=held.board.chair, name="x", actor="u", rendering=rendering
            ),
        )
    assert refused.value.template == VERSION_CHANGED
    assert await audit_entries(context, "minutes.signed") == []


async def test_the_job_removes_personal_data_once_the_period_ends(
    context: AppContext, held: Held, clock: FixedClock
) -> None:
    from minutes.jobs import remove_due_personal_data

    minutes_id = await signed(context, held, clock)
    await act(
        context, minutes_id, lambda s, m: do_publish(s, minutes=m, user_id=held.board.secretary, actor="u")
    )
    assert await remove_due_personal_data(context.db) == 0
    due = removal_at(await _minutes(context))
    assert due is not None
    clock.now = due
    assert await remove_due_personal_data(context.db) == 1
    assert await remove_due_personal_data(context.db) == 0  # once
    (entry,) = await audit_entries(context, "minutes.personal_data_removed")
    assert entry.actor == "system:minutes"
