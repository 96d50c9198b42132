"""The presence rules on a fixed clock (R-EMEET-8): lost after the loss time, back after a steady return."""

from __future__ import annotations

from datetime import timedelta

from core.clock import FixedClock
from media.liveness import Liveness, State


def liveness(clock: FixedClock) -> Liveness:
    return Liveness(
        clock(), lost_after=timedelta(seconds=10), back_after=timedelta(seconds=2), gap=timedelta(seconds=3)
    )


def beat(live: Liveness, clock: FixedClock, seconds: float, every: float = 1.0) -> list[bool]:
    """Signs every `every` seconds for `seconds`, deciding after each; the changes decided."""
    changes = []
    for _ in range(round(seconds / every)):
        clock.advance(seconds=every)
        live.seen(clock())
        if (change := live.decide(clock())) is not None:
            changes.append(change)
    return changes


def silence(live: Liveness, clock: FixedClock, seconds: float) -> list[bool]:
    changes = []
    for _ in range(round(seconds * 2)):
        clock.advance(seconds=0.5)
        if (change := live.decide(clock())) is not None:
            changes.append(change)
    return changes


def test_the_first_sign_makes_a_peer_present_at_once(clock: FixedClock) -> None:
    live = liveness(clock)
    assert live.decide(clock()) is None
    clock.advance(seconds=1)
    live.seen(clock())
    assert live.decide(clock()) is True
    assert live.state is State.PRESENT


def test_a_peer_is_lost_exactly_when_the_loss_time_has_passed_since_its_last_sign(clock: FixedClock) -> None:
    live = liveness(clock)
    beat(live, clock, 5)
    last = clock()
    assert silence(live, clock, 9.5) == []
    clock.advance(seconds=0.5)
    assert live.decide(clock()) is False
    assert live.last_seen == last
    assert clock() - last == timedelta(seconds=10)
    assert silence(live, clock, 30) == []


def test_gaps_shorter_than_the_loss_time_change_nothing(clock: FixedClock) -> None:
    live = liveness(clock)
    beat(live, clock, 3)
    for _ in range(5):
        assert silence(live, clock, 9) == []
        assert beat(live, clock, 1) == []
    assert live.state is State.PRESENT


def test_a_lost_peer_is_back_only_after_signs_came_steadily_for_the_return_time(clock: FixedClock) -> None:
    live = liveness(clock)
    beat(live, clock, 3)
    assert silence(live, clock, 10) == [False]
    # One stray sign, then silence again: not back (the hysteresis).
    assert beat(live, clock, 1) == []
    assert silence(live, clock, 5) == []
    assert live.state is State.LOST
    # Steady signs: back once they have come for two seconds.
    clock.advance(seconds=1)
    live.seen(clock())
    assert live.decide(clock()) is None
    assert beat(live, clock, 1) == []
    assert beat(live, clock, 1) == [True]


def test_a_peer_that_never_shows_is_lost_from_its_joining(clock: FixedClock) -> None:
    live = liveness(clock)
    assert silence(live, clock, 9.5) == []
    clock.advance(seconds=0.5)
    assert live.decide(clock()) is False
    assert live.last_seen is None
