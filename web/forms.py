"""Reading the pages' form fields: times and dates as Finns type them, whole numbers and ids. Each refuses
what it cannot read with a message naming the field; nothing is cut or guessed."""

from __future__ import annotations

from datetime import date, datetime

from core.bounds import valid_id
from core.clock import LOCAL
from core.errors import ValidationFailed

TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d.%m.%Y %H.%M", "%d.%m.%Y %H:%M")


def local_time(text: str, field: str) -> datetime | None:
    """A Europe/Helsinki date and time as typed (4.12.2026 klo 16.00, or a browser's 2026-12-04T16:00);
    None when left empty."""
    cleaned = " ".join(text.replace("klo", " ").replace("kl.", " ").split())
    if not cleaned:
        return None
    for layout in TIME_FORMATS:
        try:
            return datetime.strptime(cleaned, layout).replace(tzinfo=LOCAL)
        except ValueError:
            continue
    raise ValidationFailed("Write the date and time as 4.12.2026 16.00.", field=field)


def required_local_time(text: str, field: str) -> datetime:
    found = local_time(text, field)
    if found is None:
        raise ValidationFailed("Give the date and time, e.g. 4.12.2026 16.00.", field=field)
    return found


def whole_number(value: str, field: str, message: str) -> int:
    text = value.strip()
    if not text.isdigit() or len(text) > 9:
        raise ValidationFailed(message, field=field)
    return int(text)


def optional_id(value: str, field: str, message: str) -> int | None:
    """An id chosen from a list, or None when nothing is chosen; one outside the ids' range is refused."""
    if not value.strip():
        return None
    found = whole_number(value, field, message)
    if not valid_id(found):
        raise ValidationFailed(message, field=field)
    return found


def calendar_day(value: str, field: str) -> date | None:
    """A date as typed: 1.6.2025 or 2025-06-01; None when empty."""
    text = value.strip()
    if not text:
        return None
    try:
        if "." in text:
            day, month, year = (int(part) for part in text.split("."))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("Write the date as 1.6.2025.", field=field) from None
