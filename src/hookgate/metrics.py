"""The Prometheus metrics of one Hookgate process (served at ``/metrics``).

Each app gets its own ``Metrics`` with its own ``CollectorRegistry`` (not
prometheus-client's global one), so every process exposes exactly its own
counters and several apps in one process (tests) do not collide. Nothing is
labelled by application or endpoint: their number is unbounded.

Counting stays off the hot paths' per-request cost: the accept path and the
inbound recorder count once per committed batch, the dispatcher once per
written batch of results, always through label children bound up front.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as Tally
from collections.abc import Iterable, Sequence
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import generate_latest

from hookgate.core import ids
from hookgate.core.outcome import ErrorKind
from hookgate.store.database import Database
from hookgate.store.gauges import state_counts
from hookgate.store.records import DeliveryResult, DeliveryStatus, TriggerType

log = logging.getLogger(__name__)

# No ``*_created`` series: a timestamp per counter and histogram that
# doubles the exposition and that Prometheus does not use (process-wide).
disable_created_metrics()  # type: ignore[no-untyped-call]

#: ``error_kind`` of a successful attempt, and of a failure without a kind.
NO_ERROR: Final = "none"
UNKNOWN_ERROR: Final = "unknown"

#: Verdicts of ``hookgate_inbound_requests_total`` (``store`` request statuses).
INBOUND_VERDICTS: Final = ("accepted", "duplicate", "rejected")

#: How long the database gauges are served from their last read (seconds).
STATE_MAX_AGE_S: Final = 5.0

#: Attempts take up to the request timeout (default 15 s).
_ATTEMPT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Accept to delivered spans milliseconds (handed straight to the
#: dispatcher) to days (retries).
_LATENCY_BUCKETS = (
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 900.0, 3600.0, 6 * 3600.0, 86400.0,
)  # fmt: skip


class Metrics:
    """The counters, histograms and gauges of this process."""

    def __init__(self, state_max_age: float = STATE_MAX_AGE_S) -> None:
        self._state_max_age = state_max_age
        self._state_read_at: float | None = None
        self._state_lock = asyncio.Lock()
        self.registry = CollectorRegistry()
        registry = self.registry
        self._accepted = Counter(
            "hookgate_messages_accepted",
            "Messages accepted (committed) through the management API",
            registry=registry,
        )
        attempts = Counter(
            "hookgate_attempts",
            "Delivery attempts whose result is recorded, by outcome and error kind",
            ["outcome", "error_kind"],
            registry=registry,
        )
        self._succeeded = attempts.labels("success", NO_ERROR)
        self._failed = {
            kind: attempts.labels("failure", kind)
            for kind in (*(k.value for k in ErrorKind), UNKNOWN_ERROR)
        }
        self._attempt_duration = Histogram(
            "hookgate_attempt_duration_seconds",
            "Duration of delivery attempts (request sent to response read)",
            buckets=_ATTEMPT_BUCKETS,
            registry=registry,
        )
        self._delivery_latency = Histogram(
            "hookgate_delivery_latency_seconds",
            "From a message's acceptance to its first successful delivery to an endpoint",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        inbound = Counter(
            "hookgate_inbound_requests",
            "Requests to /in stored, by verdict",
            ["verdict"],
            registry=registry,
        )
        self._inbound = {verdict: inbound.labels(verdict) for verdict in INBOUND_VERDICTS}
        self._deliveries_pending = Gauge(
            "hookgate_deliveries_pending",
            "Deliveries not yet succeeded or failed (queued, sending, waiting for a retry),"
            " all processes together; read from the database at most every few seconds",
            registry=registry,
        )
        self._endpoints_disabled = Gauge(
            "hookgate_endpoints_disabled",
            "Disabled endpoints; read from the database at most every few seconds",
            registry=registry,
        )

    def exposition(self) -> bytes:
        """The text exposition of every metric of this process."""
        return generate_latest(self.registry)

    async def refresh_database_gauges(self, db: Database) -> None:
        """Read the gauges that describe the database (one ``COUNT`` each)
        unless they were read less than ``state_max_age`` seconds ago;
        concurrent scrapes share one read. If the read fails, the gauges
        keep their last values (the scrape still serves the counters)."""
        async with self._state_lock:
            now = time.monotonic()
            read_at = self._state_read_at
            if read_at is not None and now - read_at < self._state_max_age:
                return
            try:
                counts = await state_counts(db)
            except Exception as exc:
                log.warning("reading the database gauges failed (%s)", type(exc).__name__)
                return
            self._state_read_at = now
            self._deliveries_pending.set(counts.deliveries_pending)
            self._endpoints_disabled.set(counts.endpoints_disabled)

    def messages_accepted(self, count: int) -> None:
        if count:
            self._accepted.inc(count)

    def inbound_recorded(self, verdicts: Iterable[str]) -> None:
        """Count stored ``/in`` requests by their verdicts (a request status)."""
        for verdict, count in Tally(verdicts).items():
            child = self._inbound.get(verdict)
            if child is not None:
                child.inc(count)

    def results_written(self, results: Sequence[DeliveryResult]) -> None:
        """Count the attempts among durably written delivery ``results``.

        Delivery latency is measured for scheduled deliveries (not manual
        resends) from the message's acceptance, which its id records to the
        millisecond, to the end of the successful attempt."""
        succeeded = 0
        failed: Tally[str] = Tally()
        observe_duration = self._attempt_duration.observe
        observe_latency = self._delivery_latency.observe
        for result in results:
            attempt = result.attempt
            if attempt is None:
                continue
            observe_duration(attempt.response_duration_ms / 1000)
            if attempt.status != DeliveryStatus.SUCCESS:
                failed[attempt.error_kind or UNKNOWN_ERROR] += 1
                continue
            succeeded += 1
            accepted_ms = ids.created_ms(result.job.msg_id)
            if result.job.trigger_type == TriggerType.SCHEDULED and accepted_ms is not None:
                done_ms = attempt.created_at + attempt.response_duration_ms
                observe_latency(max(0, done_ms - accepted_ms) / 1000)
        if succeeded:
            self._succeeded.inc(succeeded)
        for kind, count in failed.items():
            self._failed.get(kind, self._failed[UNKNOWN_ERROR]).inc(count)
