"""The domain's errors; web/errors.py maps each to one HTTP response."""

from __future__ import annotations


class KokousError(Exception):
    """Base class; `message` is safe to show to a person.

    `template` is the untranslated text with {placeholders} and `params` fill them, so pages can
    translate the template and then format it.
    """

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = params
        self.message = template.format(**params) if params else template
        super().__init__(self.message)


class NotFound(KokousError):
    """The object does not exist, or the caller may not know that it exists."""


class NotAuthenticated(KokousError):
    """The caller must log in (again)."""


class Forbidden(KokousError):
    """The caller is known but may not do this."""


class Conflict(KokousError):
    """The request clashes with the current state."""


class InvalidTransition(Conflict):
    """A lifecycle move that the transition table does not allow."""


class ValidationFailed(KokousError):
    """The input is malformed or breaks a rule; `field` names the culprit when there is one."""

    def __init__(self, template: str, *, field: str | None = None, **params: object) -> None:
        super().__init__(template, **params)
        self.field = field


class RateLimited(KokousError):
    """Too many attempts; `retry_after` is in seconds."""

    def __init__(self, template: str, *, retry_after: int, **params: object) -> None:
        super().__init__(template, **params)
        self.retry_after = retry_after
