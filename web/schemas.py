"""Request and response bodies of the JSON API (msgspec Structs; ORM objects never leave as JSON).

Every field a request may carry has a type and a bound (core.bounds): a value beyond it is refused with a 422
that names the field (web/errors.py) before anything else reads it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from auth.models import Role, RoleGrant, User
from auth.passwords import MAX_LENGTH as PASSWORD_MAX
from core.bounds import EXPLANATION, MAX_ID, WORD, length_of

Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
Word = Annotated[str, msgspec.Meta(max_length=WORD)]
Password = Annotated[str, msgspec.Meta(max_length=PASSWORD_MAX)]
StepToken = Annotated[str, msgspec.Meta(max_length=4096)]  # a signed JWT of a few hundred characters
RefreshToken = Annotated[str, msgspec.Meta(max_length=256)]  # "rt_" and 43 characters
Code = Annotated[str, msgspec.Meta(max_length=64)]  # six digits, or a recovery code
Username = Annotated[str, msgspec.Meta(max_length=length_of(User.username))]
DisplayName = Annotated[str, msgspec.Meta(max_length=length_of(User.display_name))]
Email = Annotated[str, msgspec.Meta(max_length=length_of(User.email))]
Scope = Annotated[str, msgspec.Meta(max_length=length_of(RoleGrant.scope))]


class Error(msgspec.Struct, omit_defaults=True):
    """Every refusal's body, from the API and from a page asked for without `Accept: text/html`."""

    error: str  # what went wrong, in the person's language
    status: int  # the HTTP status again
    field: str | None = None  # the request's field that was refused (422)
    retry_after: int | None = None  # seconds to wait (429), as in the Retry-After header


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password
    # The device token of an earlier sign-in to this account: the client is then throttled on its own.
    device_token: StepToken = ""


class SecondFactorRequest(msgspec.Struct, forbid_unknown_fields=True):
    step_token: StepToken
    code: Code


class EnrolmentRequest(msgspec.Struct, forbid_unknown_fields=True):
    step_token: StepToken


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: RefreshToken


class StepUpRequest(msgspec.Struct, forbid_unknown_fields=True):
    password: Password
    code: Code


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


class TokenPair(msgspec.Struct):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class LoginResponse(msgspec.Struct, omit_defaults=True):
    status: Literal["signed_in", "second_factor_required", "enrolment_required"]
    tokens: TokenPair | None = None
    step_token: str | None = None
    device_token: str | None = None  # with tokens: send it with the next sign-in to this account


class EnrolmentStart(msgspec.Struct):
    secret: str
    otpauth_uri: str


class EnrolmentDone(msgspec.Struct):
    tokens: TokenPair
    recovery_codes: list[str]
    device_token: str


class Me(msgspec.Struct):
    id: int
    username: str
    display_name: str
    roles: list[dict[str, str]]
    methods: list[str]


class NewUser(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    display_name: DisplayName
    password: Password
    email: Email | None = None
    roles: Annotated[list[Role], msgspec.Meta(max_length=10)] = []


class RoleChange(msgspec.Struct, forbid_unknown_fields=True):
    role: Role
    scope: Scope = ""


class UserOut(msgspec.Struct):
    id: int
    username: str
    display_name: str
    email: str | None
    is_active: bool
    roles: list[dict[str, str]]
    second_factor: bool


class AuditEntryOut(msgspec.Struct):
    seq: int
    ts: str
    actor: str
    action: str
    subject: str
    data: dict[str, Any]
    leaf_hash: str
    chain_hash: str


class AuditPage(msgspec.Struct):
    entries: list[AuditEntryOut]
    total: int
    next_before: int | None


class CheckpointOut(msgspec.Struct):
    id: int
    tree_size: int
    created_at: str
    reason: str
    note: str


VerifyStatus = Literal["intact", "broken", "mismatch"]


class VerifyOut(msgspec.Struct):
    intact: bool
    entries: int
    checkpoints: int
    summary: str
    bad_seq: int | None
    verifier_key: str
    # "intact", "broken" (the log was changed) or "mismatch" (another origin or key): audit.verify
    status: VerifyStatus = "intact"


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    """A checker's review of the minutes or of the decision procedure's record: approve, or reject with a
    comment (R-CHECK-1/2)."""

    approve: bool
    comment: Annotated[str, msgspec.Meta(max_length=EXPLANATION)] = ""
