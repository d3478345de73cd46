"""The ASGI application: the management API plus the engine's lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry import _logs, metrics, trace
from starlette.routing import Route

from hookgate.api import errors
from hookgate.api.auth import AdminToken, ApiTokens, PortalTokens, TokenChecker
from hookgate.api.deps import Services, now_ms
from hookgate.api.gate import RequestGate
from hookgate.api.hotpath import HotPathApp
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
    operational_webhooks,
    poller,
    request_stream,
)
from hookgate.api.routes.metrics import scrape as scrape_metrics
from hookgate.config import Settings
from hookgate.delivery.engine import Engine
from hookgate.inbound.config import MAX_BODY_LIMIT
from hookgate.inbound.recorder import Recorder
from hookgate.store import (
    idempotency,
    inbound_requests,
    portal_tokens,
    retention,
    web_sessions,
)
from hookgate.store.database import Database, open_database
from hookgate.store.tokens import Revocations
from hookgate.web import app as web_app

log = logging.getLogger(__name__)

_MAINTENANCE_INTERVAL_S = 600.0


def create_app(
    settings: Settings, *, run_worker: bool = True, freeze_heap: bool = False
) -> FastAPI:
    """Build the app; the database and engine start with the ASGI lifespan.

    ``freeze_heap``: once started, exclude what is alive from garbage
    collection (``freeze_startup_heap``); for a server process that runs
    this one app (``hookgate serve``), not for tests creating many."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = open_database(settings)
        await db.wait_until_ready()
        engine = Engine(settings, db, run_worker=run_worker)
        await engine.start(sole_process=db.single_process)
        revocations = Revocations(db)
        await revocations.start()
        tokens = TokenChecker(
            [AdminToken(settings.admin_token), ApiTokens(db, revocations), PortalTokens(db)]
        )
        recorder = Recorder(db, engine, metrics=engine.metrics)
        app.state.services = Services(settings, db, engine, tokens, recorder)
        maintenance = asyncio.create_task(_maintain(db, settings))
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await maintenance
            await recorder.drain()
            await revocations.stop()
            await engine.stop()
            await db.dispose()

    telemetry = request_telemetry()
    app = HotPathApp(
        title="Hookgate",
        version="0.1.0",
        default_response_class=JsonResponse,
        lifespan=lifespan,
        telemetry=telemetry,
    )
    errors.install(app)
    # The token is checked before the body limit applies, and both before
    # any route reads a byte of the body. ``/in/{source}`` checks a declared
    # length against its source's limit itself, so that the refusal is
    # recorded.
    limit_for = body_limit_for(settings)
    app.add_middleware(RequestGate, limit_for=limit_for, self_refusing=("/in/",))
    # The hot paths first, as plain routes (see ``create_message_fast``),
    # ahead of the documentation routes FastAPI added.
    create_message = Route(
        "/api/v1/app/{app_id}/msg", messages.create_message_fast, methods=["POST"]
    )
    receive_inbound = Route("/in/{source}", inbound.receive, methods=list(inbound.METHODS))
    if telemetry is not None and not any(telemetry.values()):
        # Behind the same gate, without the rest of the stack (``api.hotpath``).
        app.serve_hot_route(create_message, lambda inner: RequestGate(inner, limit_for))
        app.serve_raw_route(receive_inbound, inbound.answer)
    app.router.routes[0:0] = [
        create_message,
        receive_inbound,
        Route(
            "/in/{source}/{rest:path}",
            inbound.receive_sub_path,
            methods=list(inbound.SUB_PATH_METHODS),
        ),
        Route("/metrics", scrape_metrics, methods=["GET"], include_in_schema=False),
    ]
    for module in (
        messages,
        endpoints,
        applications,
        event_types,
        health,
        auth,
        ingest,
        ingest_endpoints,
        operational_webhooks,
        poller,
        request_stream,
    ):
        app.include_router(module.router)
    web_app.install(app)
    return app


#: What OpenTelemetry's API returns for a signal while no provider is set.
_PLACEHOLDER_PROVIDERS = frozenset(
    {"ProxyTracerProvider", "_ProxyMeterProvider", "ProxyLoggerProvider"}
)


def request_telemetry() -> TelemetryConfig | None:
    """Which of FastAPI's OpenTelemetry signals (traces, metrics, logs) to
    record for each request: those with a provider configured when the app is
    built (e.g. by ``opentelemetry-instrument hookgate serve``), decided once.

    FastAPI's default decides on every request, looking the three global
    providers up each time (three environment look-ups while none is set):
    about 8 % of the server's time per ``/in`` request. With
    ``FASTAPI_OTEL_AUTO_CONFIGURE=true`` FastAPI sets the providers up itself
    at startup, so its default (None) stays.
    """
    if os.getenv("FASTAPI_OTEL_AUTO_CONFIGURE", "").lower() == "true":
        return None

    def configured(provider: object) -> bool:
        return type(provider).__name__ not in _PLACEHOLDER_PROVIDERS

    return {
        "tracing": configured(trace.get_tracer_provider()),
        "metrics": configured(metrics.get_meter_provider()),
        "logs": configured(_logs.get_logger_provider()),
    }


def freeze_startup_heap() -> None:
    """Exclude everything alive once the app has started (modules, routes,
    schemas, the engine; about 185,000 objects) from garbage collection.

    Requests allocate steadily, so the collector's full (oldest generation)
    pass runs every few seconds under load, and it walks every tracked object:
    on the 2-core machine that took 160-230 ms, an event-loop stall every
    in-flight request waited out (the accept answer's p99). Frozen objects
    are never walked again; they are never freed either, which is right for
    objects that live as long as the process. The same technique as
    ``gc.freeze`` in Instagram's and gunicorn's pre-fork servers.
    """
    gc.collect()
    gc.freeze()


#: Room for the JSON envelope around the largest accepted message payload.
_ENVELOPE_BYTES = 64 * 1024


def body_limit_for(settings: Settings) -> Callable[[str], int]:
    """The body limit of each path: ``/in/{source}`` starts at the largest
    ``maxBodyBytes`` a source may have and lowers it to its source's own
    before reading; everything else gets ``HOOKGATE_MAX_PAYLOAD_BYTES`` plus
    room for the JSON around a payload."""
    api_limit = settings.max_payload_bytes + _ENVELOPE_BYTES

    def limit_for(path: str) -> int:
        return MAX_BODY_LIMIT if path.startswith("/in/") else api_limit

    return limit_for


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
    await portal_tokens.purge_expired(db, now)
    await web_sessions.purge_expired(db, now)
    if settings.inbound_retention_days > 0:
        cutoff = now - int(settings.inbound_retention_days * 86_400_000)
        await inbound_requests.purge_requests(db, cutoff)
