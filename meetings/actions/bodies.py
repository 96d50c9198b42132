"""Bodies: the council, the executive board, committees and their sub-committees."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import record
from audit.models import AuditAction
from core.bounds import check_choice, check_lengths, length_of, valid_id
from core.db import session_clock
from core.errors import Conflict, ValidationFailed
from meetings.models import (
    Body,
    BodyKind,
    CheckingMethod,
)


@dataclass(frozen=True, slots=True)
class BodySpec:
    slug: str
    name: str
    kind: str
    seats: int
    name_sv: str = ""
    parent_id: int | None = None
    call_period_days: int | None = None
    electronic_meetings_allowed: bool = False
    decision_procedure_allowed: bool = False
    checking_method: str | None = None
    meetings_public_by_default: bool | None = None


BODY_TEXT = {"name": length_of(Body.name), "name_sv": length_of(Body.name_sv)}


def _check_body(spec: BodySpec) -> None:
    if not spec.slug or len(spec.slug) > 64 or not all(c.isalnum() or c == "-" for c in spec.slug):
        raise ValidationFailed("The short name is 1–64 letters, digits or dashes.", field="slug")
    check_lengths(spec, BODY_TEXT)
    if not spec.name.strip():
        raise ValidationFailed("A body needs a name.", field="name")
    kind = check_choice(BodyKind, spec.kind, "kind")
    if not 1 <= spec.seats <= 200:
        raise ValidationFailed("The statutory seat count must be 1–200.", field="seats")
    if spec.call_period_days is not None and not 1 <= spec.call_period_days <= 60:
        raise ValidationFailed("The call period must be 1–60 days.", field="call_period_days")
    if spec.checking_method is not None:
        check_choice(CheckingMethod, spec.checking_method, "checking_method")
    if kind == BodyKind.COUNCIL and spec.decision_procedure_allowed:
        raise ValidationFailed(
            "The council cannot use the electronic decision procedure (R-EDP-1).",
            field="decision_procedure_allowed",
        )
    if kind == BodyKind.SUBCOMMITTEE and spec.parent_id is None:
        raise ValidationFailed("A sub-committee belongs to a parent body.", field="parent_id")


def _body_values(spec: BodySpec) -> dict[str, Any]:
    values = dataclasses.asdict(spec)
    if values["meetings_public_by_default"] is None:
        # Council meetings are public by law; other bodies' are closed unless they decide (R-PUBLIC-1/3).
        values["meetings_public_by_default"] = spec.kind == BodyKind.COUNCIL
    return values


async def do_create_body(session: AsyncSession, *, spec: BodySpec, actor: str) -> Body:
    """Create a body. Audit: body.created. A taken short name is a Conflict."""
    _check_body(spec)
    if (await session.execute(select(Body.id).where(Body.slug == spec.slug))).first():
        raise Conflict("The short name {slug} is already taken.", slug=spec.slug)
    if spec.parent_id is not None and (
        not valid_id(spec.parent_id) or await session.get(Body, spec.parent_id) is None
    ):
        raise ValidationFailed("The parent body does not exist.", field="parent_id")
    body = Body(**_body_values(spec), created_at=session_clock(session)(), active=True)
    session.add(body)
    await session.flush()
    await record(
        session,
        AuditAction.BODY_CREATED,
        actor=actor,
        subject=f"body:{body.id}",
        data={"slug": body.slug, "kind": body.kind, "seats": body.seats},
    )
    return body


async def do_update_body(session: AsyncSession, *, body: Body, spec: BodySpec, actor: str) -> Body:
    """Change a body's settings. Audit: body.updated with the changed fields. Idempotent."""
    _check_body(spec)
    clash = await session.execute(select(Body.id).where(Body.slug == spec.slug, Body.id != body.id))
    if clash.first():
        raise Conflict("The short name {slug} is already taken.", slug=spec.slug)
    changed = {k: v for k, v in _body_values(spec).items() if getattr(body, k) != v}
    for key, value in changed.items():
        setattr(body, key, value)
    if changed:
        await record(
            session,
            AuditAction.BODY_UPDATED,
            actor=actor,
            subject=f"body:{body.id}",
            data={"changed": sorted(changed)},
        )
    return body
