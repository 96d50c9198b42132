"""The short fuzzing run (docs/security.md, "Fuzzing"): every operation of the OpenAPI document, a few
generated requests each, as anonymous, a member, the secretary, the administrator and the auditor. No answer
may be a server error or differ from the document (its status, media type, body or headers), and no anonymous
answer may show a secret of the seeded body. `make bench` runs a longer one."""

from __future__ import annotations

import httpx
import pytest

from core.clock import FixedClock
from tests.fuzz import harness
from web.context import AppContext

EXAMPLES = 3
_cases: dict[str, list[harness.FuzzCase]] = {}  # generated once per run: the same for every role


async def cases(client: httpx.AsyncClient) -> dict[str, list[harness.FuzzCase]]:
    if not _cases:
        _cases.update(harness.generate_all(await harness.load_schema(client), EXAMPLES))
    return _cases


@pytest.mark.parametrize("role", harness.ROLES)
async def test_no_request_breaks_the_api(
    client: httpx.AsyncClient, context: AppContext, clock: FixedClock, role: str
) -> None:
    generated = await cases(client)
    world = await harness.seed_world(context, client, clock)
    report = await harness.run(client, world, [role], generated)
    assert report.requests >= len(generated)
    assert not report.failures, "\n".join(report.failures)
