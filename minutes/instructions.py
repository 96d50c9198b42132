"""Rectification and appeal instructions with their dates, and when a public copy loses its personal data.

The dates come from minutes.rules.appeal (R-PUB-4, R-PUB-5, R-RECT-3, R-RECT-4): the notification day is the
7th day after the minutes go on the public network, and the period's last day moves past weekends and
holidays.
"""

from __future__ import annotations

from datetime import datetime

from minutes.document import Instruction, MinutesDocument
from minutes.rules.appeal import InstructionKind, appeal_dates


def instruction(
    kind: InstructionKind,
    *,
    published_at: datetime,
    authority: str = "",
    address: str = "",
    provision: str = "",
) -> Instruction:
    """The instructions a decision carries when its minutes are published at `published_at` (R-RECT-5).

    An appeal ban must cite the provision that bars appeal; the other kinds cite the law's own.
    """
    dates = appeal_dates(published_at, kind, provision=provision)
    return Instruction(
        kind=kind,
        provision=dates.period.provision,
        authority=authority,
        address=address,
        notified_on=dates.notified_on,
        last_day=dates.period.last_day,
    )


def personal_data_removal_at(document: MinutesDocument) -> datetime | None:
    """When personal data comes off the public copy: when the last period of its items ends (R-PUB-4).

    None while the minutes have no publication date.
    """
    display = document.legality.public_display
    if display is None:
        return None
    kinds = {item.instruction.kind: item.instruction.provision for item in document.items}
    ends = [
        appeal_dates(
            display.published_at, kind, provision=provision if kind == InstructionKind.APPEAL_BAN else ""
        ).remove_personal_data_at
        for kind, provision in kinds.items()
    ]
    return max(ends, default=None)
