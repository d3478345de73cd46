"""The ASGI application: the management API plus the engine's lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.routing import Route

from hookgate.api import errors
from hookgate.api.auth import TokenChecker
from hookgate.api.deps import Services, now_ms
from hookgate.api.responses import JsonResponse
from hookgate.api.routes import (
    applications,
    auth,
    endpoints,
    event_types,
    health,
    inbound,
    ingest,
    ingest_endpoints,
    messages,
)
from hookgate.config import Settings
from hookgate.delivery.engine import Engine
from hookgate.inbound.recorder import Recorder
from hookgate.store import idempotency, inbound_requests, retention
from hookgate.store.database import Database, open_database

log = logging.getLogger(__name__)

_MAINTENANCE_INTERVAL_S = 600.0


def create_app(settings: Settings, *, run_worker: bool = True) -> FastAPI:
    """Build the app; the database and engine start with the ASGI lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = open_database(settings)
        await db.wait_until_ready()
        engine = Engine(settings, db, run_worker=run_worker)
        await engine.start(sole_process=db.single_process)
        tokens = TokenChecker(db, settings.admin_token)
        recorder = Recorder(db, engine)
        app.state.services = Services(settings, db, engine, tokens, recorder)
        maintenance = asyncio.create_task(_maintain(db, settings))
        try:
            yield
        finally:
            maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await maintenance
            await recorder.drain()
            await engine.stop()
            await db.dispose()

    app = FastAPI(
        title="Hookgate",
        version="0.1.0",
        default_response_class=JsonResponse,
        lifespan=lifespan,
    )
    errors.install(app)
    # The hot paths first, as plain routes (see ``create_message_fast``).
    app.router.routes.append(
        Route("/api/v1/app/{app_id}/msg", messages.create_message_fast, methods=["POST"])
    )
    app.router.routes.append(Route("/in/{source}", inbound.receive, methods=list(inbound.METHODS)))
    for module in (
        messages,
        endpoints,
        applications,
        event_types,
        health,
        auth,
        ingest,
        ingest_endpoints,
    ):
        app.include_router(module.router)
    return app


async def _maintain(db: Database, settings: Settings) -> None:
    """Every few minutes, forget what has expired: idempotency keys, message
    payloads past their ``payloadRetentionPeriod``, inbound dedupe entries and
    received requests older than the retention."""
    while True:
        await asyncio.sleep(_MAINTENANCE_INTERVAL_S)
        try:
            await purge_expired(db, settings, now_ms())
        except Exception:
            log.exception("maintenance failed")


async def purge_expired(db: Database, settings: Settings, now: int) -> None:
    """One maintenance pass (idempotent: every API process may run it)."""
    await idempotency.purge_expired(db, now)
    await retention.expunge_expired_payloads(db, now)
    await inbound_requests.purge_expired_dedupe(db, now)
    if settings.inbound_retention_days > 0:
        cutoff = now - int(settings.inbound_retention_days * 86_400_000)
        await inbound_requests.purge_requests(db, cutoff)
