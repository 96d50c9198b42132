"""Settings from KOKOUS_* variables."""

from __future__ import annotations

import pytest

from core.config import settings_from_env


def test_outbox_days_default_to_thirty_and_follow_the_variable() -> None:
    assert settings_from_env({}).outbox_days == 30
    assert settings_from_env({"KOKOUS_OUTBOX_DAYS": " 7 "}).outbox_days == 7


@pytest.mark.parametrize("value", ["0", "-1", "30d", "1.5"])
def test_outbox_days_must_be_a_positive_whole_number(value: str) -> None:
    with pytest.raises(ValueError, match="KOKOUS_OUTBOX_DAYS"):
        settings_from_env({"KOKOUS_OUTBOX_DAYS": value})
