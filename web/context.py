"""What a running app holds: settings, the database and the services built from them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from redis.asyncio import Redis

from audit.notes import Signer, load_or_create_signer
from auth.credentials import CredentialFlow
from auth.login import LoginFlow
from auth.notices import NOTICES
from auth.passwords import Hasher
from auth.ratelimit import Limiter, MemoryLimiter, RedisLimiter
from auth.secretbox import SecretBox
from auth.services import AuthServices
from auth.tokens import TokenService
from core.clock import Clock, system_clock
from core.config import Settings
from core.db import Database, create_engine
from meetings.delivery import MAIL_QUEUED
from meetings.live.actions.roll_call import TIMEOUT_SERVICE
from meetings.notices import OutboxNotices
from minutes.ca import MunicipalCA, publish_audit_key
from web.cache import PageCache, page_cache


@dataclass(slots=True)
class AppContext:
    settings: Settings
    db: Database
    auth: AuthServices
    signer: Signer
    login: LoginFlow
    credentials: CredentialFlow
    minutes_ca: MunicipalCA
    # Set after a commit that queued e-mail, so the delivery job wakes at once instead of at its next tick.
    mail_waiting: asyncio.Event = field(default_factory=asyncio.Event)
    pages: PageCache = field(default_factory=page_cache)


def build_limiter(settings: Settings, clock: Clock) -> Limiter:
    if settings.redis_url:
        return RedisLimiter(Redis.from_url(settings.redis_url), clock=clock)
    return MemoryLimiter(clock)


def build_context(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Clock = system_clock,
    limiter: Limiter | None = None,
) -> AppContext:
    """Load or create the keys in the data directory and wire the services to one Database."""
    keys = settings.data_dir / "keys"
    signer = load_or_create_signer(keys / "audit-ed25519.pem", settings.audit_origin)
    # The minutes' CA and the audit key's verifier are published for anyone who checks signed minutes.
    minutes_ca = MunicipalCA.load_or_create(settings.data_dir, municipality=settings.host, now=clock())
    publish_audit_key(settings.data_dir, signer.verifier.vkey)
    auth = AuthServices(
        settings=settings,
        hasher=Hasher(settings.password_profile, concurrency=settings.hash_concurrency),
        tokens=TokenService.load_or_create(keys / "token-es256.pem", issuer=settings.base_url),
        secrets=SecretBox.load_or_create(keys / "secretbox.key"),
        limiter=limiter or build_limiter(settings, clock),
    )
    if db is None:
        db = Database(
            create_engine(settings.resolved_database_url),
            clock=clock,
            inline_reads=settings.sqlite_inline_reads,
        )
    db.services.update(
        {
            "auth": auth,
            "audit_signer": signer,
            NOTICES: OutboxNotices(),
            "minutes_ca": minutes_ca,
            TIMEOUT_SERVICE: timedelta(seconds=settings.roll_call_timeout_seconds),
        }
    )
    context = AppContext(
        settings, db, auth, signer, LoginFlow(db, auth), CredentialFlow(db, auth), minutes_ca
    )
    db.signals.subscribe(MAIL_QUEUED, lambda _: context.mail_waiting.set())
    return context
