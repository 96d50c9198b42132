"""Times and dates as people read them: Europe/Helsinki, written the Finnish way in every language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from core.clock import LOCAL
from core.text import translatable
from web import i18n

WHEN = translatable("{date} at {time}")


@dataclass(frozen=True, slots=True)
class Times:
    """Europe/Helsinki times written the Finnish way in every language: 4.12.2026 klo 16.00."""

    translate: i18n.Translate

    @staticmethod
    def day(moment: datetime) -> str:
        local = moment.astimezone(LOCAL)
        return f"{local.day}.{local.month}.{local.year}"

    @staticmethod
    def calendar(day: date) -> str:
        """A date without a time, the Finnish way: 1.6.2025."""
        return f"{day.day}.{day.month}.{day.year}"

    @staticmethod
    def clock(moment: datetime) -> str:
        local = moment.astimezone(LOCAL)
        return f"{local.hour}.{local.minute:02d}"

    def when(self, moment: datetime) -> str:
        return self.translate(WHEN).format(date=self.day(moment), time=self.clock(moment))

    @staticmethod
    def weekday(moment: datetime) -> int:
        return moment.astimezone(LOCAL).weekday()

    @staticmethod
    def iso(moment: datetime) -> str:
        return moment.astimezone(LOCAL).isoformat(timespec="minutes")

    @staticmethod
    def field(moment: datetime | None) -> str:
        """A time as a form shows it for editing: 4.12.2026 16.00 (read back by web.forms.local_time)."""
        return f"{Times.day(moment)} {Times.clock(moment)}" if moment else ""
