"""Slowing down guesses: a window per address, and growing waits per (account, address) (docs/security.md).

No account is ever locked: failures slow down the address they come from, so the owner of an account signs in
from anywhere else while someone guesses at it. Known and unknown usernames are throttled exactly alike.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from auth import actions
from auth.ratelimit import Failures
from auth.services import AuthServices
from core.db import Database
from core.errors import RateLimited
from core.text import translatable

DAY = 24 * 3600
NETWORK = translatable("Too many sign-in attempts from your network. Please wait and try again.")
WAIT_SECONDS = translatable("Too many failed attempts. Try again in {seconds} s.")
WAIT_MINUTES = translatable("Too many failed attempts. Try again in {minutes} min.")


@dataclass(frozen=True, slots=True)
class Backoff:
    """The first `free` failures cost nothing; the n-th after them makes the next guess wait 2^(n-1) s."""

    free: int
    max_delay: int

    def delay(self, failures: int) -> int:
        """Seconds from the latest of `failures` failures until the next guess may come."""
        if failures < self.free:
            return 0
        return min(self.max_delay, 1 << min(failures - self.free, 30))

    def wait(self, failures: Failures, now: float) -> int:
        """Whole seconds still to wait at `now`; 0 when a guess may come."""
        return max(0, math.ceil(failures.last + self.delay(failures.count) - now))


def network(address: str) -> str:
    """Whom to slow down: an IPv4 address, or the /64 network of an IPv6 one (a subscriber's whole range)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


@dataclass(frozen=True, slots=True)
class Source:
    """Where attempts at one account come from: a client address and, for a browser that has signed in to that
    account before, its device id (a known device is slowed down on its own, not with its address)."""

    address: str
    device: str = ""

    @property
    def key(self) -> str:
        return f"device:{self.device}" if self.device else network(self.address)


def too_many(wait: int) -> RateLimited:
    if wait < 120:
        return RateLimited(WAIT_SECONDS, retry_after=wait, seconds=wait)
    return RateLimited(WAIT_MINUTES, retry_after=wait, minutes=math.ceil(wait / 60))


class Throttle:
    """The checks before a password or code is looked at, and the bookkeeping after it was."""

    def __init__(self, db: Database, svc: AuthServices) -> None:
        self.db = db
        self.limiter = svc.limiter
        self.settings = svc.settings
        self.backoff = Backoff(svc.settings.throttle_free_failures, svc.settings.throttle_max_delay_seconds)

    async def address(self, source: Source) -> None:
        """At most `address_attempts_per_window` attempts per window from an address, whatever the account;
        a known device is not counted with its address, so a flood from its network does not shut it out."""
        if source.device:
            return
        settings, address = self.settings, source.address
        hit = await self.limiter.hit(f"login-address:{address}", window=settings.address_window_seconds)
        if not hit.over(settings.address_attempts_per_window):
            return
        if hit.count == settings.address_attempts_per_window + 1:
            async with self.db.write() as session:
                await actions.do_record_rate_limited(session, address=address, scope="login")
        raise RateLimited(NETWORK, retry_after=hit.retry_after)

    async def guess(self, account: str, source: Source) -> None:
        """Refuse while this source must still wait before its next guess at `account`."""
        failures = await self.limiter.failures(self._pair(account, source), memory=self._memory)
        if failures.count == 0:
            return
        wait = self.backoff.wait(failures, self.db.clock().timestamp())
        day = await self.limiter.peek(self._account(account), window=DAY)
        if day.over(self.settings.account_guard_failures):
            # Guessed at from many addresses today: an address that has failed here already waits out the day.
            wait = max(wait, day.retry_after)
        if wait == 0:
            return
        # Recorded once per failure count, so waiting out a delay by retrying does not flood the log.
        first = await self.limiter.hit(f"{self._pair(account, source)}:{failures.count}", window=DAY)
        if first.count == 1:
            async with self.db.write() as session:
                await actions.do_record_rate_limited(
                    session, address=source.address, scope="account", subject=f"username:{account[:64]}"
                )
        raise too_many(wait)

    async def failed(self, account: str, source: Source) -> None:
        await self.limiter.hit(self._account(account), window=DAY)
        await self.limiter.fail(self._pair(account, source), memory=self._memory)

    async def succeeded(self, account: str, source: Source) -> None:
        """The source proved it knows the account: its earlier failures no longer count against it."""
        await self.limiter.forget(self._pair(account, source))

    @property
    def _memory(self) -> int:
        return self.settings.throttle_memory_seconds

    def _pair(self, account: str, source: Source) -> str:
        return f"guess:{account[:80]}:{source.key}"

    def _account(self, account: str) -> str:
        return f"guess-account:{account[:80]}"
