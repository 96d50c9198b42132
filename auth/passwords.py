"""argon2id hashing off the event loop, in a small low-priority pool so a login storm exhausts nothing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

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
            "The password must be at least {length} characters long.", field="password", length=MIN_LENGTH
        )
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(
            "The password may be at most {length} characters long.", field="password", length=MAX_LENGTH
        )
    if username and username.lower() in password.lower():
        raise ValidationFailed("The password may not contain the username.", field="password")


T = TypeVar("T")


def _lower_priority() -> None:
    """Linux nice values are per thread; argon2's own worker threads inherit this one's."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def default_concurrency() -> int:
    """One hash per two cores: with parallelism 4 a single hash already fills a small machine."""
    return max(1, (os.cpu_count() or 2) // 2)


class Hasher:
    def __init__(self, profile: PasswordProfile, *, concurrency: int | None = None) -> None:
        concurrency = concurrency or default_concurrency()
        self._hasher = PasswordHasher(
            time_cost=profile.time_cost,
            memory_cost=profile.memory_cost_kib,
            parallelism=profile.parallelism,
            type=Type.ID,
        )
        # Each hash holds memory_cost KiB and keeps `parallelism` cores busy: a small pool bounds both,
        # and its threads run at a lower priority so the event loop still answers while a storm hashes.
        self._pool = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="argon2", initializer=_lower_priority
        )
        self._dummy = self._hasher.hash("kokous dummy password for unknown accounts")

    async def _run(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def hash(self, password: str) -> str:
        return await self._run(lambda: self._hasher.hash(password))

    async def verify(self, stored: str | None, password: str) -> bool:
        """Constant work whether or not the account exists or has a password: those verify a dummy."""
        target = stored if stored is not None and stored.startswith("$argon2") else None
        correct = await self._run(lambda: self._verify_sync(target or self._dummy, password))
        return correct and target is not None

    def _verify_sync(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
