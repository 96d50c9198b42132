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


def test_media_settings_default_to_no_ice_servers_and_ten_seconds() -> None:
    media = settings_from_env({}).media
    assert media.ice_servers == ()
    assert media.lost_after_seconds == 10.0
    assert (media.turn_username, media.turn_password) == (None, None)


def test_media_settings_follow_the_variables() -> None:
    media = settings_from_env(
        {
            "KOKOUS_MEDIA_ICE_SERVERS": "stun:stun.kunta.fi:3478, turn:turn.kunta.fi:3478?transport=udp",
            "KOKOUS_MEDIA_TURN_USERNAME": "kokous",
            "KOKOUS_MEDIA_TURN_PASSWORD": "salasana",
            "KOKOUS_MEDIA_LOST_AFTER": "2.5",
            "KOKOUS_MEDIA_MAX_PUBLIC": "250",
        }
    ).media
    assert media.ice_servers == ("stun:stun.kunta.fi:3478", "turn:turn.kunta.fi:3478?transport=udp")
    assert (media.turn_username, media.turn_password) == ("kokous", "salasana")
    assert media.lost_after_seconds == 2.5
    assert media.max_public_viewers == 250
    assert settings_from_env({}).media.max_public_viewers == 100


@pytest.mark.parametrize("value", ["0", "-2", "ten", "nan", "inf"])
def test_media_loss_time_must_be_a_positive_number(value: str) -> None:
    with pytest.raises(ValueError, match="KOKOUS_MEDIA_LOST_AFTER"):
        settings_from_env({"KOKOUS_MEDIA_LOST_AFTER": value})


@pytest.mark.parametrize("value", ["0", "-5", "many", "1.5", "100001"])
def test_the_public_viewers_are_a_whole_number_within_bounds(value: str) -> None:
    with pytest.raises(ValueError, match="KOKOUS_MEDIA_MAX_PUBLIC"):
        settings_from_env({"KOKOUS_MEDIA_MAX_PUBLIC": value})
