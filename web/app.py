"""The application factory: `create_app(settings)` wires routes, middleware, errors and background jobs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, WebSocket, get, websocket
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.static_files import create_static_files_router
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from audit.actions import checkpoint_if_stale
from auth.failures import WINDOW_SECONDS, flush_failure_summaries
from core.clock import Clock, system_clock
from core.config import Settings
from core.db import Database, begin_read
from core.logging import configure_logging
from meetings.decision_procedure.scheduler import DeadlineScheduler
from meetings.delivery import ACTOR as MAIL_ACTOR
from meetings.delivery import (
    default_sender,
    deliver_pending,
    do_purge_outbox,
    outbox_cutoff,
    transport_for,
)
from meetings.live.actions.roll_call import RollCallTimer
from minutes.jobs import personal_data_loop
from web import openapi
from web.api.attachments import attachments_router
from web.api.audit import audit_api
from web.api.auth import auth_router, me_router
from web.api.bodies import bodies_router
from web.api.imports import imports_router
from web.api.live import live_router
from web.api.live_socket import follow_meeting
from web.api.media import media_router
from web.api.meetings import meetings_router
from web.api.minutes import minutes_api
from web.api.procedure import procedure_api
from web.api.procedure_check import procedure_check_api
from web.api.recordings import recordings_router
from web.api.roll_call import roll_call_router
from web.api.users import users_router
from web.context import AppContext, build_context
from web.errors import HANDLERS
from web.feeds import feeds_router
from web.guards import ids_in_range, spend_step_up
from web.limits import SMALL_BODY, BodyLimitMiddleware
from web.media_bridge import media_lifespan
from web.pages.account import account_router
from web.pages.admin import admin_pages_router
from web.pages.audit import audit_pages_router
from web.pages.bodies import bodies_pages_router
from web.pages.declarations import declarations_router
from web.pages.editor import meeting_pages_router
from web.pages.home import home_router
from web.pages.live import live_pages_router
from web.pages.media import media_pages_router
from web.pages.meeting import meeting_router
from web.pages.minutes import minutes_pages
from web.pages.procedure import procedure_pages
from web.pages.procedure_check import procedure_check_pages
from web.pages.recordings import recordings_pages
from web.pages.search import search_router
from web.pages.signin import pages_router
from web.realtime.fanout import LiveFanOut, channel_for
from web.recordings import recordings_loop
from web.security import (
    SAFE_METHODS,
    AuthenticationMiddleware,
    SecurityHeadersMiddleware,
    WebSocketOriginMiddleware,
    csrf_guard,
    warn_if_plain_http,
)
from web.viewer import current_viewer, record_hidden

log = logging.getLogger("kokous")
STATIC = Path(__file__).parent / "static"
CHECKPOINT_EVERY_SECONDS = 3600
PURGE_OUTBOX_EVERY = timedelta(hours=1)


async def provide_session(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    """One transaction per request: committed after the handler returns, rolled back if it raises.

    Safe requests to routes marked BOUNDED_READS read on the event loop's thread on SQLite (decision 0006).
    """
    db: Database = request.app.state.context.db
    write = request.method not in SAFE_METHODS
    bounded = not write and bool(request.route_handler.opt.get("bounded_reads"))
    async with db.session(write=write, bounded=bounded) as session, session.begin():
        if not write:
            await begin_read(session)
        await spend_step_up(request, session)
        yield session


@get("/health", tags=["service"])
async def health(request: Request[Any, Any, Any]) -> dict[str, str]:
    """Liveness and database reachability, for load balancers and monitoring."""
    async with request.app.state.context.db.read(bounded=True) as session:
        await session.execute(text("SELECT 1"))
    return {"status": "ok"}


@websocket("/ws/health")
async def ws_health(socket: WebSocket[Any, Any, Any]) -> None:
    """A WebSocket heartbeat that clients use to test their connection (Origin-checked like every socket)."""
    await socket.accept()
    with contextlib.suppress(Exception):
        while True:
            message = await socket.receive_text()
            await socket.send_text("pong" if message == "ping" else message[:64])


async def purge_outbox_when_due(context: AppContext, last: datetime | None) -> datetime:
    """Delete old delivered and given-up e-mail at most once an hour (a failure waits its hour too);
    returns when the purge last ran. Concurrent workers may each purge: a row is deleted once."""
    now = context.db.clock()
    if last is not None and now - last < PURGE_OUTBOX_EVERY:
        return last
    try:
        async with context.db.write() as session:
            cutoff = outbox_cutoff(context.settings, now)
            await do_purge_outbox(session, older_than=cutoff, actor=MAIL_ACTOR)
    except Exception:
        log.exception("outbox purge failed")
    return now


async def _mail_loop(context: AppContext, interval: float) -> None:
    """Deliver queued e-mail soon after it is committed, retry failures on their schedule, and purge the
    outbox of old mail hourly."""
    transport = transport_for(context.settings)
    sender = default_sender(context.settings)
    purged: datetime | None = None
    while True:
        context.mail_waiting.clear()
        try:
            await deliver_pending(context.db, transport, sender=sender)
        except Exception:
            log.exception("mail delivery job failed")
        purged = await purge_outbox_when_due(context, purged)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(context.mail_waiting.wait(), timeout=interval)


async def _checkpoint_loop(context: AppContext, interval: float) -> None:
    """At least hourly signed checkpoints; the write lock makes concurrent workers agree on one."""
    while True:
        try:
            async with context.db.write() as session:
                await checkpoint_if_stale(session, max_age_seconds=CHECKPOINT_EVERY_SECONDS)
        except Exception:
            log.exception("audit checkpoint job failed")
        await asyncio.sleep(interval)


async def failure_summary_loop(context: AppContext, interval: float) -> None:
    """Summaries of refusals left out in windows that have ended (auth.failures); at shutdown, of all."""
    try:
        while True:
            await asyncio.sleep(interval)
            try:
                await flush_failure_summaries(context.db)
            except Exception:
                log.exception("failure summary job failed")
    finally:
        with contextlib.suppress(Exception):
            await flush_failure_summaries(context.db, everything=True)


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Clock = system_clock,
    context: AppContext | None = None,
    background_jobs: bool = True,
) -> Litestar:
    configure_logging(settings.log_level)
    warn_if_plain_http(settings)
    context = context or build_context(settings, db=db, clock=clock)
    live = LiveFanOut(context.db, redis_url=settings.redis_url, channel=channel_for(settings))  # docs/live.md

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        # What start-up built (modules, the app, mappers) lives as long as the process: moving it out of
        # the collector's sight keeps full collections short, which otherwise stall every request.
        gc.collect()
        gc.freeze()
        jobs = [
            asyncio.create_task(_checkpoint_loop(context, 60)),
            asyncio.create_task(_mail_loop(context, 30)),
            asyncio.create_task(failure_summary_loop(context, WINDOW_SECONDS)),
            asyncio.create_task(personal_data_loop(context.db)),
        ]
        jobs.append(asyncio.create_task(DeadlineScheduler(context.db, base_url=settings.base_url).run()))
        jobs.append(asyncio.create_task(RollCallTimer(context.db).run()))  # R-EMEET-1(1): time-outs
        # The public's download counts and, with KOKOUS_RECORDINGS_KEEP_DAYS, the recordings' retention.
        recordings = recordings_loop(context.db, settings.data_dir, settings.recordings_keep_days)
        jobs.append(asyncio.create_task(recordings))
        if not background_jobs:
            for job in jobs:
                job.cancel()
        await live.start()
        try:
            yield
        finally:
            await live.stop()
            for job in jobs:
                job.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job
            if db is None:
                await context.db.dispose()

    return Litestar(
        route_handlers=[
            health,
            ws_health,
            # the JSON API and the meeting's WebSocket (web/api/)
            auth_router,
            me_router,
            users_router,
            bodies_router,
            imports_router,
            meetings_router,
            attachments_router,
            live_router,
            follow_meeting,
            media_router,
            recordings_router,
            roll_call_router,
            procedure_api,
            minutes_api,
            procedure_check_api,
            audit_api,
            # the pages (web/pages/) and the feeds
            home_router,
            pages_router,
            account_router,
            search_router,
            bodies_pages_router,
            meeting_router,
            declarations_router,
            meeting_pages_router,
            live_pages_router,
            media_pages_router,
            recordings_pages,
            procedure_pages,
            minutes_pages,
            procedure_check_pages,
            audit_pages_router,
            admin_pages_router,
            feeds_router,
            create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
        ],
        dependencies={"session": Provide(provide_session), "viewer": Provide(current_viewer)},
        guards=[ids_in_range, csrf_guard],
        middleware=[
            DefineMiddleware(SecurityHeadersMiddleware, https=settings.https),
            DefineMiddleware(BodyLimitMiddleware),
            DefineMiddleware(WebSocketOriginMiddleware, allowed=frozenset({settings.origin})),
            DefineMiddleware(AuthenticationMiddleware, exclude=["^/static", "^/health$", "^/schema"]),
        ],
        request_max_body_size=SMALL_BODY,  # routes that take more say so (web.limits)
        exception_handlers=HANDLERS,
        after_exception=[record_hidden],
        openapi_config=openapi.config(),
        logging_config=None,  # core.logging already writes JSON lines
        state=State({"context": context, "live": live}),
        lifespan=[lifespan, media_lifespan],
    )
