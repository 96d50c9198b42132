"""argon2id hashing off the event loop, behind a semaphore so a login storm cannot exhaust memory."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from core.config import PasswordProfile
from core.errors import ValidationFailed

MIN_LENGTH = 10
MAX_LENGTH = 256


def check_password_policy(password: str, *, username: str = "") -> None:
    """NIST SP 800-63B style: length matters, composition rules do not."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            f"The password must be at least {MIN_LENGTH} characters long.", field="password"
        )
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(f"The password may be at most {MAX_LENGTH} characters long.", field="password")
    if username and username.lower() in password.lower():
        raise ValidationFailed("The password may not contain the username.", field="password")


class Hasher:
    def __init__(self, profile: PasswordProfile, *, concurrency: int = 2) -> None:
        self._hasher = PasswordHasher(
            time_cost=profile.time_cost,
            memory_cost=profile.memory_cost_kib,
            parallelism=profile.parallelism,
            type=Type.ID,
        )
        # Each hash holds memory_cost KiB; the semaphore bounds memory and leaves the loop responsive.
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy = self._hasher.hash("kokous dummy password for unknown accounts")

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Constant work whether or not the account exists: unknown users verify against a dummy."""
        async with self._slots:
            return (
                await asyncio.to_thread(self._verify_sync, stored or self._dummy, password)
                and stored is not None
            )

    def _verify_sync(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
