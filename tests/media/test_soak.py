"""The soak (bench/media_soak.py) as a test: 30 members for 10 minutes, the hub's memory flat.

`slow`: `make test` leaves it out and `make bench` runs it (as the "media-soak" benchmark, which prints the
RSS over time)."""

from __future__ import annotations

import pytest

from bench.media_soak import soak
from bench.report import render
from tests.media.conftest import unavailable

pytestmark = [pytest.mark.media, pytest.mark.slow]


async def test_thirty_members_for_ten_minutes_leave_the_hub_memory_flat() -> None:
    section = await soak()
    if "no network namespace" in section.failures:
        unavailable(" ".join(section.notes))
    assert section.failures == [], render(section)
    assert all(target.met for target in section.targets), render(section)
