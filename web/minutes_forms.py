"""Reading the minutes' HTML forms: the secretary's wording, the moment of publication, and texts refused
when too long (never cut), each refusal naming its field in the page's language."""

from __future__ import annotations

from datetime import datetime

from core.bounds import EXPLANATION
from core.clock import LOCAL
from core.errors import ValidationFailed
from core.text import translatable
from minutes.drafting import ItemWording, Wording

NOTE_MAX = 500  # minutes.models.MinutesVersion.note
PASSWORD_MAX = 1024
CODE_MAX = 64
# One whole sentence per field: a field's name inside a sentence could not be translated with it.
TOO_LONG = {
    "note": translatable("The note on the version may have at most {max} characters."),
    "comment": translatable("The comment may have at most {max} characters."),
    "password": translatable("The password may have at most {max} characters."),
    "code": translatable("The authentication code may have at most {max} characters."),
}
LIMITS = {"note": NOTE_MAX, "comment": EXPLANATION, "password": PASSWORD_MAX, "code": CODE_MAX}
BAD_MOMENT = translatable("Give the moment of publication as a date and a time.")


def form_text(form: dict[str, str], name: str) -> str:
    """The field's text, or a 422 naming the field when it is longer than its limit."""
    value = form.get(name, "")
    if len(value) > LIMITS[name]:
        raise ValidationFailed(TOO_LONG[name], field=name, max=LIMITS[name])
    return value


def wording_from_form(form: dict[str, str], sections: list[int]) -> Wording:
    items = {}
    for section in sections:
        words = ItemWording(
            description=form.get(f"description_{section}", "").strip(),
            decision=form.get(f"decision_{section}", "").strip(),
            public_description=form.get(f"public_description_{section}", "").strip(),
            personal_data=form.get(f"personal_data_{section}") == "on",
            depersonalised=form.get(f"depersonalised_{section}", "").strip(),
        )
        if words != ItemWording():
            items[section] = words
    return Wording(items, form.get("checking_note", "").strip(), form.get("convening_statement", "").strip())


def publication_from_form(value: str) -> datetime | None:
    """The datetime-local field, in Helsinki time; empty keeps the planned moment."""
    if not value.strip():
        return None
    for layout in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):  # browsers add seconds when a step asks
        try:
            return datetime.strptime(value.strip(), layout).replace(tzinfo=LOCAL)
        except ValueError:
            continue
    raise ValidationFailed(BAD_MOMENT, field="publish_at")
