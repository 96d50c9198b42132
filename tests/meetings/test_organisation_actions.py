"""Setting up the municipality: settings, bodies, seats and deputies, each refusal citing its rule."""

from __future__ import annotations

import pytest

from core.errors import Conflict, ValidationFailed
from meetings.actions.bodies import BodySpec, do_update_body
from meetings.actions.memberships import do_end_membership
from meetings.actions.organisation import OrganisationSettings, do_update_organisation
from meetings.models import Body, Membership
from tests.factories import add_member, audit_entries, make_body, make_user
from web.context import AppContext

ADMIN = "system:test"


async def _body(context: AppContext, body_id: int) -> Body:
    async with context.db.read() as session:
        body = await session.get(Body, body_id)
        assert body is not None
        return body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        # R-BASE-1: the administrative rules are settings, checked before they are stored.
        ({"default_call_period_days": 0}, "default_call_period_days"),
        ({"call_day_count": "weekdays"}, "call_day_count"),
        ({"council_tabling_minority": "1:4"}, "council_tabling_minority"),
        ({"default_checking_method": "by_post"}, "default_checking_method"),  # R-CHECK-1 knows three ways
    ],
)
async def test_organisation_settings_are_checked(
    context: AppContext, change: dict[str, object], field: str
) -> None:
    settings = OrganisationSettings(name="Esimerkkilä", **change)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed) as refused:
        async with context.db.write() as session:
            await do_update_organisation(session, settings=settings, actor=ADMIN)
    assert refused.value.field == field


async def test_organisation_update_is_audited_once_and_idempotent(context: AppContext) -> None:
    settings = OrganisationSettings(name="Esimerkkilä", default_call_period_days=5)
    for _ in range(2):
        async with context.db.write() as session:
            await do_update_organisation(session, settings=settings, actor=ADMIN)
    assert len(await audit_entries(context, "organisation.updated")) == 1


async def test_council_meetings_are_public_and_others_closed_by_default(context: AppContext) -> None:
    """R-PUBLIC-1 (council public by law) and R-PUBLIC-3 (other bodies closed unless they decide)."""
    council = await _body(
        context,
        await make_body(context, "valtuusto", kind="council", seats=27, procedure=False, name="Valtuusto"),
    )
    board = await _body(context, await make_body(context))
    assert council.meetings_public_by_default is True
    assert board.meetings_public_by_default is False


async def test_council_cannot_be_given_the_decision_procedure(context: AppContext) -> None:
    """R-EDP-1: the council may not use the electronic decision procedure."""
    with pytest.raises(ValidationFailed, match="R-EDP-1"):
        await make_body(context, "valtuusto", kind="council", seats=27, procedure=True)


async def test_subcommittee_needs_a_parent(context: AppContext) -> None:
    """R-BASE-3: a sub-committee (jaosto) belongs to a body."""
    with pytest.raises(ValidationFailed) as refused:
        await make_body(context, "jaosto", kind="subcommittee", seats=5)
    assert refused.value.field == "parent_id"


async def test_seats_are_the_statutory_count(context: AppContext) -> None:
    """R-QUORUM-1 counts the body's statutory seats; no more members than seats can sit."""
    body_id = await make_body(context, "pieni", kind="committee", seats=2)
    for name in ("a1", "a2"):
        await add_member(context, body_id, (await make_user(context, name)).id)
    third = await make_user(context, "a3")
    with pytest.raises(Conflict, match="All 2 statutory seats"):
        await add_member(context, body_id, third.id)
    await add_member(context, body_id, third.id, role="deputy")  # deputies take no seat


async def test_personal_deputy_stands_in_for_a_member_of_the_same_body(context: AppContext) -> None:
    """R-ELECT-3: personal deputies are paired with a member."""
    body_id = await make_body(context)
    other_id = await make_body(context, "muu", kind="committee")
    member = await add_member(context, body_id, (await make_user(context, "jasen")).id)
    elsewhere = await add_member(context, other_id, (await make_user(context, "toinen")).id)
    deputy = await make_user(context, "vara")
    with pytest.raises(ValidationFailed, match="same body"):
        await add_member(context, body_id, deputy.id, role="deputy", deputy_for_id=elsewhere)
    with pytest.raises(ValidationFailed, match="Only a deputy"):
        await add_member(context, body_id, deputy.id, role="member", deputy_for_id=member)
    await add_member(context, body_id, deputy.id, role="deputy", deputy_for_id=member)


async def test_ending_a_secretary_role_takes_away_the_second_factor_requirement(context: AppContext) -> None:
    body_id = await make_body(context)
    user = await make_user(context, "sihteeri")
    membership_id = await add_member(context, body_id, user.id, role="secretary")
    async with context.db.write() as session:
        membership = await session.get(Membership, membership_id)
        assert membership is not None
        await do_end_membership(session, membership=membership, actor=ADMIN)
        await do_end_membership(session, membership=membership, actor=ADMIN)  # idempotent
    actions_seen = [e.action for e in await audit_entries(context)]
    assert actions_seen.count("membership.ended") == 1
    assert actions_seen[-2:] == ["membership.ended", "role.revoked"]


async def test_changing_a_body_records_the_changed_fields(context: AppContext) -> None:
    body = await _body(context, await make_body(context))
    spec = BodySpec(
        slug="kh",
        name="Kunnanhallitus",
        kind="executive",
        seats=11,
        electronic_meetings_allowed=True,
        decision_procedure_allowed=True,
    )
    async with context.db.write() as session:
        merged = await session.merge(body)
        await do_update_body(session, body=merged, spec=spec, actor=ADMIN)
    entry = (await audit_entries(context, "body.updated"))[-1]
    assert '"changed":["seats"]' in entry.data
