"""argon2id hashing, rehash on parameter change, and equal work for unknown accounts."""

import pytest
from argon2 import extract_parameters

from auth.passwords import Hasher, check_password_policy
from core.config import TEST_PASSWORD_PROFILE, PasswordProfile
from core.errors import ValidationFailed


async def test_hash_is_argon2id_with_the_configured_profile() -> None:
    hasher = Hasher(TEST_PASSWORD_PROFILE)
    stored = await hasher.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    params = extract_parameters(stored)
    assert (params.time_cost, params.memory_cost, params.parallelism) == (1, 8, 1)
    assert await hasher.verify(stored, "correct horse battery")
    assert not await hasher.verify(stored, "correct horse batterY")


def test_production_default_is_the_rfc_9106_low_memory_profile() -> None:
    assert PasswordProfile() == PasswordProfile(time_cost=3, memory_cost_kib=65536, parallelism=4)


async def test_unknown_account_never_verifies() -> None:
    assert not await Hasher(TEST_PASSWORD_PROFILE).verify(None, "kokous dummy password for unknown accounts")


async def test_old_parameters_need_rehash() -> None:
    old = await Hasher(TEST_PASSWORD_PROFILE).hash("correct horse battery")
    stronger = Hasher(PasswordProfile(time_cost=2, memory_cost_kib=16, parallelism=1))
    assert stronger.needs_rehash(old)
    assert not stronger.needs_rehash(await stronger.hash("correct horse battery"))


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 10"),
        ("x" * 257, "at most 256"),
        ("liisa-the-best-1", "username"),
    ],
)
def test_policy_refuses_weak_passwords(password: str, problem: str) -> None:
    with pytest.raises(ValidationFailed, match=problem):
        check_password_policy(password, username="liisa")


async def test_account_without_a_password_never_verifies() -> None:
    from auth.actions import NO_PASSWORD

    hasher = Hasher(TEST_PASSWORD_PROFILE)
    assert not await hasher.verify(NO_PASSWORD, "")
    assert not await hasher.verify(NO_PASSWORD, "!no-password")
