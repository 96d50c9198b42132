"""Refused requests: a flood from one address is summarised, not written one by one (auth.failures), and a
hidden object is answered and recorded exactly like a missing one, so neither tells that it exists."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from audit.models import AuditAction
from auth.failures import FULL_PER_WINDOW, WINDOW_SECONDS, flush_failure_summaries
from core.clock import FixedClock
from tests.conftest import BASE_URL
from tests.factories import audit_entries
from tests.web.public_world import PublicWorld, build
from web.context import AppContext

HTML = {"accept": "text/html"}
MISSING = 7_654_321
FLOOD, OTHER = "192.0.2.10", "203.0.113.5"  # the `client` fixture's address, and another


@pytest.fixture
async def world(context: AppContext) -> PublicWorld:
    return await build(context)


@pytest.fixture
async def elsewhere(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(OTHER, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as other:
        yield other


async def refusals(context: AppContext, since: int) -> tuple[list[dict[str, str]], list[dict[str, object]]]:
    """The access.denied entries and the summaries written after `since`, as their data."""
    entries = [e for e in await audit_entries(context) if e.seq > since]
    full = [
        json.loads(e.data) | {"subject": e.subject} for e in entries if e.action == AuditAction.ACCESS_DENIED
    ]
    summaries = [json.loads(e.data) for e in entries if e.action == AuditAction.FAILURES_SUMMARISED]
    return full, summaries


async def last_seq(context: AppContext) -> int:
    entries = await audit_entries(context)
    return entries[-1].seq if entries else 0


async def test_a_flood_of_refusals_is_summarised_and_every_one_is_accounted_for(
    client: httpx.AsyncClient,
    elsewhere: httpx.AsyncClient,
    context: AppContext,
    world: PublicWorld,
    clock: FixedClock,
) -> None:
    since = await last_seq(context)
    for n in range(200):  # hidden and missing meetings alike: one kind of refusal
        meeting = world.draft if n % 2 else MISSING + n
        assert (await client.get(f"/api/meetings/{meeting}")).status_code == 404
    for _ in range(3):
        assert (await elsewhere.get(f"/api/meetings/{world.draft}")).status_code == 404

    full, summaries = await refusals(context, since)
    assert [e["address"] for e in full] == [FLOOD] * FULL_PER_WINDOW + [OTHER] * 3
    assert summaries == []  # the window is still open

    clock.advance(seconds=WINDOW_SECONDS)
    assert await flush_failure_summaries(context.db) == 1  # the app's background job
    full, summaries = await refusals(context, since)
    [summary] = summaries
    assert summary["address"] == FLOOD
    assert summary["suppressed"] == {"not_found": 200 - FULL_PER_WINDOW}
    assert len([e for e in full if e["address"] == FLOOD]) + int(str(summary["total"])) == 200


async def test_the_next_refusal_after_the_window_writes_the_summary(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock
) -> None:
    since = await last_seq(context)
    for _ in range(FULL_PER_WINDOW + 7):
        assert (await client.get("/api/me")).status_code == 401
    clock.advance(seconds=WINDOW_SECONDS)
    assert (await client.get("/api/me")).status_code == 401

    full, [summary] = await refusals(context, since)
    assert len(full) == FULL_PER_WINDOW + 1
    assert {e["reason"] for e in full} == {"not signed in"}
    assert summary["suppressed"] == {"not_signed_in": 7}


# Each protected read, with a hidden object and a missing one of the same kind.
PROBES = [
    ("/api/meetings/{}", "draft"),
    ("/api/items/{}/versions", "closed_item"),
    ("/api/attachments/{}", "secret_attachment"),
    ("/meetings/{}", "draft"),
]


@pytest.mark.parametrize(("path", "hidden"), PROBES, ids=[p for p, _ in PROBES])
async def test_a_hidden_object_is_answered_and_recorded_like_a_missing_one(
    client: httpx.AsyncClient, context: AppContext, world: PublicWorld, path: str, hidden: str
) -> None:
    client.cookies.set("kokous_csrf", "a-browser-that-has-one")  # else each page sets a new random one
    headers = HTML if not path.startswith("/api/") else {}
    since = await last_seq(context)
    exists = await client.get(path.format(getattr(world, hidden)), headers=headers)
    absent = await client.get(path.format(MISSING), headers=headers)

    assert exists.status_code == absent.status_code == 404
    # A page links its own address (the language links), which differs by the id asked for, as may its length.
    assert _body(exists, path, getattr(world, hidden)) == _body(absent, path, MISSING)
    assert _headers(exists) == _headers(absent)
    first, second = (await refusals(context, since))[0]
    assert first.keys() == second.keys() == {"subject", "reason", "address"}
    assert first["subject"] == f"route:GET {path.format(getattr(world, hidden))}"
    assert second["subject"] == f"route:GET {path.format(MISSING)}"
    assert first["reason"].removeprefix("hidden: ") == second["reason"].removeprefix("missing: ")


def _body(response: httpx.Response, path: str, asked: int) -> str:
    return response.text.replace(path.format(asked), path)


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.items() if k not in ("date", "content-length"))
