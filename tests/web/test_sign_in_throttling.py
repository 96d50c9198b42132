"""Sign-in throttling: failures slow down the address they come from, never the account's owner elsewhere.

Runs on the memory limiter, and on Redis too when KOKOUS_TEST_REDIS_URL is set (docs/security.md).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from redis.asyncio import Redis

from auth.models import Role
from auth.ratelimit import Limiter, MemoryLimiter, RedisLimiter
from core.clock import FixedClock
from core.config import Settings
from core.db import Database
from tests.conftest import BASE_URL
from tests.factories import PASSWORD, audit_entries, enrol_totp, make_user, next_code
from tests.web.pages.test_signin import form_login
from web.app import create_app
from web.context import AppContext, build_context

BACKENDS = ["memory"] + (["redis"] if os.environ.get("KOKOUS_TEST_REDIS_URL") else [])
ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"
WRONG = "not the password"
Clients = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(params=BACKENDS)
async def limiter(request: pytest.FixtureRequest, clock: FixedClock) -> AsyncIterator[Limiter]:
    if request.param == "memory":
        yield MemoryLimiter(clock)
        return
    redis = Redis.from_url(os.environ["KOKOUS_TEST_REDIS_URL"])
    yield RedisLimiter(redis, prefix=f"kokous-test:{secrets.token_hex(4)}:", clock=clock)
    await redis.aclose()


@pytest.fixture
def guard_failures() -> int:
    return 300


@pytest.fixture
def context(
    settings: Settings, db: Database, clock: FixedClock, limiter: Limiter, guard_failures: int
) -> AppContext:
    settings = dataclasses.replace(settings, account_guard_failures=guard_failures)
    return build_context(settings, db=db, clock=clock, limiter=limiter)


@pytest.fixture
def clients(context: AppContext) -> Clients:
    """A client that connects from `address`."""
    app = create_app(context.settings, context=context, background_jobs=False, db=context.db)

    @asynccontextmanager
    async def connect(address: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client

    return connect


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/auth/login", json={"username": username, "password": password})


def answer(response: httpx.Response) -> tuple[int, str | None, str]:
    return response.status_code, response.headers.get("retry-after"), response.json().get("error", "")


async def test_an_address_that_keeps_failing_waits_longer_each_time(
    clients: Clients, context: AppContext, clock: FixedClock
) -> None:
    await make_user(context, "liisa")
    waits = []
    async with clients(ATTACKER) as attacker:
        assert [(await login(attacker, "liisa", WRONG)).status_code for _ in range(3)] == [401] * 3
        for _ in range(11):
            refused = await login(attacker, "liisa", WRONG)
            assert refused.status_code == 429
            waits.append(int(refused.headers["retry-after"]))
            clock.advance(seconds=waits[-1] - 1)
            assert (await login(attacker, "liisa", PASSWORD)).status_code == 429  # even the right password
            clock.advance(seconds=1)
            assert (await login(attacker, "liisa", WRONG)).status_code == 401
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert len(await audit_entries(context, "login.failed")) == 3 + 11
    limited = await audit_entries(context, "login.rate_limited")
    assert len(limited) == 11  # one per wait, however often the address knocks during it
    assert {(e.actor, e.subject) for e in limited} == {("anonymous", "username:liisa")}
    assert f'"address":"{ATTACKER}"' in limited[0].data
    assert '"scope":"account"' in limited[0].data


async def test_the_owner_signs_in_with_password_and_code_while_an_attacker_is_slowed(
    clients: Clients, context: AppContext, clock: FixedClock
) -> None:
    owner = await make_user(context, "mikko", roles=(Role.CHAIR,))
    secret = await enrol_totp(context, "mikko")
    async with clients(ATTACKER) as attacker, clients(OWNER) as own:
        for _ in range(3):
            await login(attacker, "mikko", WRONG)
        for _ in range(10):  # guessing as fast as allowed, until the waits reach five minutes
            refused = await login(attacker, "mikko", WRONG)
            clock.advance(seconds=int(refused.headers["retry-after"]))
            assert (await login(attacker, "mikko", WRONG)).status_code == 401
        assert answer(await login(attacker, "mikko", WRONG))[:2] == (429, "300")
        step = await login(own, "mikko")
        assert step.status_code == 200
        assert step.json()["status"] == "second_factor_required"
        code = next_code(secret, clock)
        signed_in = await own.post(
            "/api/auth/second-factor", json={"step_token": step.json()["step_token"], "code": code}
        )
        assert signed_in.status_code == 200, signed_in.text
        assert (await login(attacker, "mikko", WRONG)).status_code == 429  # still waiting
    succeeded = (await audit_entries(context, "session.started"))[-1]
    assert succeeded.subject == f"user:{owner.id}"
    assert f'"address":"{OWNER}"' in succeeded.data


async def test_unknown_names_answer_exactly_like_real_ones(
    clients: Clients, context: AppContext, clock: FixedClock
) -> None:
    await make_user(context, "liisa")
    clock.advance(seconds=7)  # off any window boundary
    answers = {}
    for name, address in (("liisa", "203.0.113.1"), ("ghost", "203.0.113.2")):
        seen = []
        async with clients(address) as client:
            for pause in (0, 0, 0, 0, 1, 0, 2, 0, 3, 0):
                clock.advance(seconds=pause)
                seen.append(answer(await login(client, name, WRONG)))
        answers[name] = seen
        clock.advance(hours=25)  # both names start from the same state
    assert answers["liisa"] == answers["ghost"]
    wait = "Too many failed attempts. Try again in {} s."
    assert [a[:2] for a in answers["ghost"]] == [
        (401, None),
        (401, None),
        (401, None),
        (429, "1"),
        (401, None),
        (429, "2"),
        (401, None),
        (429, "4"),
        (429, "1"),
        (429, "1"),
    ]
    assert answers["ghost"][3][2] == wait.format(1)
    subjects = [e.subject for e in await audit_entries(context, "login.rate_limited")]
    assert subjects.count("username:liisa") == subjects.count("username:ghost") == 3


async def test_wrong_codes_slow_the_address_as_wrong_passwords_do(
    clients: Clients, context: AppContext, clock: FixedClock
) -> None:
    await make_user(context, "mikko", roles=(Role.SECRETARY,))
    secret = await enrol_totp(context, "mikko")
    code = next_code(secret, clock)
    async with clients(ATTACKER) as attacker:
        step = (await login(attacker, "mikko")).json()["step_token"]
        for _ in range(3):
            wrong = {"step_token": step, "code": "000000"}
            assert (await attacker.post("/api/auth/second-factor", json=wrong)).status_code == 401
        refused = await attacker.post("/api/auth/second-factor", json={"step_token": step, "code": code})
        assert answer(refused)[:2] == (429, "1")
        assert (await login(attacker, "mikko")).status_code == 429  # the same account, the same address
    assert [e.action for e in await audit_entries(context)][-3:] == [
        "totp.failed",
        "login.failed",
        "login.rate_limited",
    ]


async def test_a_completed_sign_in_clears_only_its_own_address(
    clients: Clients, context: AppContext, clock: FixedClock
) -> None:
    await make_user(context, "liisa")
    async with clients(OWNER) as own, clients(ATTACKER) as attacker:
        for client in (own, attacker):
            for _ in range(3):
                await login(client, "liisa", WRONG)
        assert (await login(own, "liisa")).status_code == 429
        assert (await login(attacker, "liisa")).status_code == 429
    clock.advance(seconds=1)
    async with clients(OWNER) as own, clients(ATTACKER) as attacker:
        assert (await login(own, "liisa")).status_code == 200
        assert (await login(own, "liisa", WRONG)).status_code == 401  # a typo after signing in: no wait
        assert (await login(own, "liisa")).status_code == 200
        assert (await login(attacker, "liisa", WRONG)).status_code == 401
        assert (await login(attacker, "liisa")).status_code == 429  # its failures still count


@pytest.mark.parametrize("guard_failures", [5])
async def test_an_account_guessed_at_from_many_addresses_refuses_only_addresses_that_failed(
    clients: Clients, context: AppContext
) -> None:
    await make_user(context, "liisa")
    for n in range(6):
        async with clients(f"203.0.113.{n}") as bot:
            assert (await login(bot, "liisa", WRONG)).status_code == 401
    async with clients("203.0.113.0") as bot:
        refused = await login(bot, "liisa", WRONG)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 3600  # the rest of the day
    async with clients(OWNER) as own:
        assert (await login(own, "liisa")).status_code == 200
    async with clients("203.0.113.99") as newcomer:
        assert (await login(newcomer, "liisa", WRONG)).status_code == 401  # one guess per new address
        assert (await login(newcomer, "liisa", WRONG)).status_code == 429


async def test_ipv6_addresses_of_one_network_share_their_waits(clients: Clients, context: AppContext) -> None:
    await make_user(context, "liisa")
    for n in range(3):
        async with clients(f"2001:db8:1:2::{n + 1}") as client:
            await login(client, "liisa", WRONG)
    async with clients("2001:db8:1:2:ffff::9") as same_network, clients("2001:db8:1:3::1") as other:
        assert (await login(same_network, "liisa")).status_code == 429
        assert (await login(other, "liisa")).status_code == 200


async def test_a_known_device_signs_in_while_its_network_is_flooded_and_slowed(
    clients: Clients, context: AppContext, clock: FixedClock
) -> None:
    """The owner and the attacker behind one address (the council chamber's Wi-Fi): the owner's browser signed
    in before, so its device token lets it be judged on its own."""
    await make_user(context, "liisa")
    await make_user(context, "mallory")
    async with clients(ATTACKER) as shared:
        earlier = await login(shared, "liisa")
        device = earlier.json()["device_token"]
        own_device = (await login(shared, "mallory")).json()["device_token"]
        for n in range(31):  # the address's window and liisa's waits, both used up
            await shared.post("/api/auth/login", json={"username": "liisa", "password": f"guess {n}"})
        assert (await login(shared, "liisa")).status_code == 429
        stolen = {
            "username": "liisa",
            "password": PASSWORD,
            "device_token": own_device,
        }  # mallory's, not liisa's
        assert (await shared.post("/api/auth/login", json=stolen)).status_code == 429
        owner = await shared.post(
            "/api/auth/login", json={"username": "liisa", "password": PASSWORD, "device_token": device}
        )
        assert owner.status_code == 200, owner.text
        assert owner.json()["status"] == "signed_in"
        assert owner.json()["device_token"]
        for _ in range(3):  # a known device that fails is slowed down on its own
            wrong = {"username": "liisa", "password": WRONG, "device_token": device}
            assert (await shared.post("/api/auth/login", json=wrong)).status_code == 401
        again = {"username": "liisa", "password": PASSWORD, "device_token": device}
        assert answer(await shared.post("/api/auth/login", json=again))[:2] == (429, "1")
    succeeded = await audit_entries(context, "session.started")
    assert [f'"address":"{ATTACKER}"' in e.data for e in succeeded[-1:]] == [True]


async def test_the_sign_in_page_remembers_the_device_in_a_cookie(
    clients: Clients, context: AppContext
) -> None:
    await make_user(context, "liisa")
    async with clients(ATTACKER) as browser, clients(ATTACKER) as attacker:
        assert (await form_login(browser, "liisa")).status_code == 303  # the browser is now a known device
        for n in range(31):  # someone else behind the same address, guessing
            await attacker.post("/api/auth/login", json={"username": "liisa", "password": f"guess {n}"})
        assert (await login(attacker, "liisa")).status_code == 429
        again = await form_login(browser, "liisa")  # the page sends the device cookie
        assert again.status_code == 303
        assert again.headers["location"] == "/"
