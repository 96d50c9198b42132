"""E-mail addresses: exactly one per field, checked by email-validator and kept in its normalised form.

A comma-separated list, a display name (`Name <a@x.fi>`), quoted local parts, IP-address domains and any
control character (a header injection such as "a@x.fi\\r\\nBcc: b@y.fi") are refused, so an address taken
from a person can never add a recipient or a header to the mail sent to it. Deliverability is not checked
(no DNS lookups); special-use domains are refused except `.test`, which tests and the demo use.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from core.errors import ValidationFailed
from core.text import translatable

NOT_AN_ADDRESS = translatable("Give one e-mail address, such as matti.meikalainen@kunta.fi.")


def normalise_email(value: str, *, field: str = "email") -> str:
    """The one address `value` holds, normalised (the domain in lower case, Unicode in NFC)."""
    try:
        checked = validate_email(
            value.strip(" "),
            check_deliverability=False,
            allow_display_name=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            test_environment=True,
        )
    except EmailNotValidError as exc:
        raise ValidationFailed(NOT_AN_ADDRESS, field=field) from exc
    return checked.normalized
