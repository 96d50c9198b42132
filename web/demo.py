"""`kokous demo`: a demo municipality's people, so a new installation has someone to sign in as."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import actions
from auth.models import Role, User

ACTOR = "system:demo"


@dataclass(frozen=True, slots=True)
class DemoPerson:
    username: str
    display_name: str
    roles: tuple[Role, ...]


PEOPLE = (
    DemoPerson("admin", "Aino Ylläpitäjä", (Role.ADMIN,)),
    DemoPerson("auditor", "Tapio Tarkastaja", (Role.AUDITOR,)),
    DemoPerson("chair", "Helena Puheenjohtaja", (Role.CHAIR, Role.MEMBER)),
    DemoPerson("secretary", "Mikko Sihteeri", (Role.SECRETARY,)),
    DemoPerson("member", "Liisa Jäsen", (Role.MEMBER,)),
)


async def is_empty(session: AsyncSession) -> bool:
    return int((await session.execute(select(func.count()).select_from(User))).scalar_one()) == 0


def _password() -> str:
    return "-".join(secrets.token_hex(3) for _ in range(3))


async def seed(session: AsyncSession) -> list[tuple[DemoPerson, str]]:
    logins = []
    for person in PEOPLE:
        password = _password()
        user = await actions.do_create_user(
            session,
            username=person.username,
            display_name=person.display_name,
            password=password,
            email=f"{person.username}@demo.kokous.invalid",
            actor=ACTOR,
        )
        for role in person.roles:
            await actions.do_grant_role(session, user=user, role=role, actor=ACTOR)
        logins.append((person, password))
    return logins


def describe(logins: list[tuple[DemoPerson, str]]) -> str:
    lines = ["Demo logins (second factor: enrol with an authenticator app at first sign-in where marked *):"]
    for person, password in logins:
        mark = "*" if {Role.ADMIN, Role.AUDITOR, Role.CHAIR, Role.SECRETARY} & set(person.roles) else " "
        roles = ", ".join(person.roles)
        lines.append(f"  {mark} {person.username:<10} {password:<20} {person.display_name} ({roles})")
    return "\n".join(lines) + "\n"


def save(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
