"""The procedure's e-mail reaches a real SMTP server (aiosmtpd): the start, the reminder, the move."""

from __future__ import annotations

from core.clock import FixedClock
from meetings.delivery import deliver_pending
from tests.meetings.procedure.steps import at, state
from tests.meetings.procedure.world import SENDER, TITLE, make_world, scheduler
from tests.meetings.test_delivery import Collector, smtp
from web.context import AppContext

DAY = 24 * 3600


def to(collector: Collector, lead: str) -> list[str]:
    return sorted(str(m["To"]) for m in collector.messages() if str(m["Subject"]).startswith(lead))


async def test_start_reminder_and_move_are_delivered(
    context: AppContext, clock: FixedClock, smtp_server: tuple[Collector, int]
) -> None:
    collector, port = smtp_server
    world = await make_world(context)
    await deliver_pending(context.db, smtp(port), sender=SENDER)
    members = ["aino@example.test", "bertta@example.test", "cecilia@example.test"]
    assert to(collector, "Sähköinen päätöksentekomenettely") == members
    started = next(
        m
        for m in collector.messages()
        if str(m["To"]) == "aino@example.test" and str(m["Subject"]).startswith("Sähköinen")
    )
    text = started.get_content()
    assert TITLE in text  # a public item is named; a confidential one would only be mentioned
    assert "viimeistään 1.12.2026 klo 11.00" in text
    assert f"/procedure/{world.procedure_id}" in text

    at(clock, -2 * DAY)
    await state(context, world, "aino", "accept")
    at(clock, -DAY)  # the reminder's default lead time: a day before the deadline
    await scheduler(context).run_once()
    clock.advance(minutes=1)
    await deliver_pending(context.db, smtp(port), sender=SENDER)
    assert to(collector, "Muistutus") == ["bertta@example.test", "cecilia@example.test"]

    await state(context, world, "bertta", "demand_meeting")
    clock.advance(minutes=1)
    await deliver_pending(context.db, smtp(port), sender=SENDER)
    moved = to(collector, "Asia siirtyy kokoukseen")
    assert "aino@example.test" in moved
    assert "pj@example.test" in moved  # everyone with a role in the body is told
    assert "ulko@example.test" not in moved
