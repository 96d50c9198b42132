"""One frozen Settings object, built once from KOKOUS_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class PasswordProfile:
    """argon2id cost parameters; the defaults are RFC 9106's low-memory profile (argon2-cffi's)."""

    time_cost: int = 3
    memory_cost_kib: int = 65536
    parallelism: int = 4


# Only for tests and benchmarks that are not about hashing: cheap and still argon2id.
TEST_PASSWORD_PROFILE = PasswordProfile(time_cost=1, memory_cost_kib=8, parallelism=1)
# Delivered e-mail, and e-mail given up, is deleted after this many days (it holds addresses and text).
DEFAULT_OUTBOX_DAYS = 30
# A member whose media has been gone this long counts as disconnected (R-EMEET-8).
DEFAULT_MEDIA_LOST_AFTER_SECONDS = 10.0
DEFAULT_MAX_PUBLIC_VIEWERS = 100
# A roll call with pictures with no mark for this long ends by itself (R-EMEET-1(1)); the floor is seen again.
DEFAULT_ROLL_CALL_TIMEOUT_SECONDS = 180.0


@dataclass(frozen=True, slots=True)
class MediaSettings:
    """The media hub's settings (docs/media.md). Only whether it runs, the ICE servers and the loss time come
    from variables; the rest are the measured defaults of docs/decisions/0009-media-hub.md."""

    # Whether the web app runs the hub (KOKOUS_MEDIA_ENABLED): off, meetings have no sound or picture.
    enabled: bool = False
    # STUN/TURN URLs such as "stun:stun.example.fi:3478" or "turn:turn.example.fi:3478?transport=udp";
    # none on a LAN or loopback.
    ice_servers: tuple[str, ...] = ()
    turn_username: str | None = None
    turn_password: str | None = None
    # A peer whose media and heartbeat are gone this long is reported lost (R-EMEET-8) ...
    lost_after_seconds: float = DEFAULT_MEDIA_LOST_AFTER_SECONDS
    # ... and back once they have arrived again, without a gap, this long (hysteresis).
    back_after_seconds: float = 2.0
    heartbeat_seconds: float = 2.0
    audio_bitrate: int = 32_000
    video_bitrate: int = 300_000
    video_width: int = 320
    video_height: int = 240
    video_fps: int = 15
    keyframe_seconds: float = 2.0
    # Public viewers of one meeting's stream (KOKOUS_MEDIA_MAX_PUBLIC): each is a connection the hub serves.
    max_public_viewers: int = DEFAULT_MAX_PUBLIC_VIEWERS
    # Offers and renegotiations one person (or, for the public, one address) may make a minute in a meeting.
    offers_per_minute: int = 12
    min_keyframe_gap_seconds: float = 0.5


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str | None = None
    sqlite_inline_reads: bool = True  # decision 0006: bounded SQLite reads on the loop's thread
    smtp_url: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    access_token_minutes: int = 10
    refresh_token_days: int = 14
    mfa_token_minutes: int = 5
    # Sign-in throttling (docs/security.md): free failures per (account, address), then waits of 1 s, 2 s,
    # 4 s … up to the maximum; failures are forgotten after a quiet spell of `throttle_memory_seconds`.
    throttle_free_failures: int = 3
    throttle_max_delay_seconds: int = 300
    throttle_memory_seconds: int = 24 * 3600
    # Failures per day on one account, from all addresses, above which an address that has failed on it
    # waits out the day; addresses that have not failed are never refused.
    account_guard_failures: int = 300
    address_attempts_per_window: int = 30
    address_window_seconds: int = 300
    password_profile: PasswordProfile = field(default_factory=PasswordProfile)
    hash_concurrency: int | None = None  # None: one per two cores
    log_level: str = "INFO"
    outbox_days: int = DEFAULT_OUTBOX_DAYS
    roll_call_timeout_seconds: float = DEFAULT_ROLL_CALL_TIMEOUT_SECONDS
    # How long a recording of a public item is kept, in days from its start; None keeps it (R-PUBLIC-4: the
    # municipality sets the period).
    recordings_keep_days: int | None = None
    media: MediaSettings = field(default_factory=MediaSettings)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'kokous.sqlite3'}"

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def host(self) -> str:
        """The service's host name: it names the audit log's origin and the minutes' CA."""
        return urlsplit(self.base_url).netloc

    @property
    def audit_origin(self) -> str:
        """The C2SP checkpoint origin line: the service's host name and the log's path."""
        return f"{urlsplit(self.base_url).netloc}/audit"


def _days(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of days, at least 1 (got {text!r})")
    return int(text)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a positive number of seconds (got {text!r})")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 0 < int(text) <= 100_000:
        raise ValueError(f"{name} must be a whole number from 1 to 100000 (got {text!r})")
    return int(text)


def media_settings_from_env(env: Mapping[str, str]) -> MediaSettings:
    servers = tuple(url for url in env.get("KOKOUS_MEDIA_ICE_SERVERS", "").replace(",", " ").split() if url)
    return MediaSettings(
        enabled=env.get("KOKOUS_MEDIA_ENABLED", "").strip().lower() in ("1", "true", "yes", "on"),
        ice_servers=servers,
        turn_username=env.get("KOKOUS_MEDIA_TURN_USERNAME") or None,
        turn_password=env.get("KOKOUS_MEDIA_TURN_PASSWORD") or None,
        lost_after_seconds=_seconds(env, "KOKOUS_MEDIA_LOST_AFTER", DEFAULT_MEDIA_LOST_AFTER_SECONDS),
        max_public_viewers=_count(env, "KOKOUS_MEDIA_MAX_PUBLIC", DEFAULT_MAX_PUBLIC_VIEWERS),
    )


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    data_dir = Path(env.get("KOKOUS_DATA_DIR", "var"))
    profile = PasswordProfile()
    if env.get("KOKOUS_PASSWORD_PROFILE") == "test":
        profile = TEST_PASSWORD_PROFILE
    return Settings(
        data_dir=data_dir,
        database_url=env.get("KOKOUS_DATABASE_URL", ""),
        redis_url=env.get("KOKOUS_REDIS_URL") or None,
        sqlite_inline_reads=env.get("KOKOUS_SQLITE_INLINE_READS", "1") != "0",
        smtp_url=env.get("KOKOUS_SMTP_URL") or None,
        base_url=env.get("KOKOUS_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        password_profile=profile,
        log_level=env.get("KOKOUS_LOG_LEVEL", "INFO"),
        outbox_days=_days(env, "KOKOUS_OUTBOX_DAYS", DEFAULT_OUTBOX_DAYS),
        roll_call_timeout_seconds=_seconds(
            env, "KOKOUS_ROLL_CALL_TIMEOUT", DEFAULT_ROLL_CALL_TIMEOUT_SECONDS
        ),
        recordings_keep_days=_days(env, "KOKOUS_RECORDINGS_KEEP_DAYS", 0) or None,
        media=media_settings_from_env(env),
    )
