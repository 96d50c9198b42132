"""Request and response bodies of the JSON API (msgspec Structs; ORM objects never leave as JSON)."""

from __future__ import annotations

from typing import Any

import msgspec


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str
    # The device token of an earlier sign-in to this account: the client is then throttled on its own.
    device_token: str = ""


class SecondFactorRequest(msgspec.Struct, forbid_unknown_fields=True):
    step_token: str
    code: str


class EnrolmentRequest(msgspec.Struct, forbid_unknown_fields=True):
    step_token: str


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: str


class StepUpRequest(msgspec.Struct, forbid_unknown_fields=True):
    password: str
    code: str


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: str
    new_password: str


class TokenPair(msgspec.Struct):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class LoginResponse(msgspec.Struct, omit_defaults=True):
    status: str  # "signed_in" | "second_factor_required" | "enrolment_required"
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
    username: str
    display_name: str
    password: str
    email: str | None = None
    roles: list[str] = []


class RoleChange(msgspec.Struct, forbid_unknown_fields=True):
    role: str
    scope: str = ""


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


class VerifyOut(msgspec.Struct):
    intact: bool
    entries: int
    checkpoints: int
    summary: str
    bad_seq: int | None
    verifier_key: str
