"""Whether a peer is really there, from the signs of its media, with hysteresis (R-EMEET-8).

Pure: the caller reports each sign and asks for a decision with the time from its injected clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class State(StrEnum):
    PENDING = "pending"  # joined, nothing seen yet
    PRESENT = "present"
    LOST = "lost"


class Liveness:
    """Lost once no sign came for `lost_after`; back once signs have kept coming, without a gap longer than
    `gap`, over `back_after` (one stray packet is not a return). The first sign after joining counts at
    once: there is nothing to smooth yet."""

    def __init__(
        self, joined_at: datetime, *, lost_after: timedelta, back_after: timedelta, gap: timedelta
    ) -> None:
        self.state = State.PENDING
        self.last_seen: datetime | None = None
        self._since = joined_at
        self._run_start: datetime | None = None
        self._lost_after = lost_after
        self._back_after = back_after
        self._gap = gap

    def seen(self, now: datetime) -> None:
        if self.last_seen is None or now - self.last_seen > self._gap:
            self._run_start = now
        self.last_seen = now

    def decide(self, now: datetime) -> bool | None:
        """The new presence when it changes now, else None."""
        if self.state is not State.PRESENT and self._returned(now):
            self.state = State.PRESENT
            return True
        if self.state is not State.LOST and now - (self.last_seen or self._since) >= self._lost_after:
            self.state = State.LOST
            return False
        return None

    def _returned(self, now: datetime) -> bool:
        if self.last_seen is None or self._run_start is None or now - self.last_seen > self._gap:
            return False
        if self.state is State.PENDING:
            return True
        return self.last_seen - self._run_start >= self._back_after
