"""The dispatcher's knobs (see ``delivery/dispatcher.py``, ``delivery/lanes.py``
and ``delivery/health.py`` for what each one governs)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hookgate.core.retry import RetryPolicy


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    """How much the dispatcher holds, sends at once and waits, in all and per
    endpoint."""

    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    endpoint_concurrency: int = 32
    endpoint_start_concurrency: int = 1
    max_in_flight: int = 1000
    max_held: int = 5000
    lease_seconds: float = 60.0
    poll_interval: float = 1.0
    claim_batch_size: int = 500
    request_timeout: float = 15.0
    slow_down_seconds: float = 5.0
    #: Most jobs one endpoint's lane holds (queued plus in flight) in this process.
    endpoint_hold: int = 64
    #: Attempts in a row without an HTTP answer that pause an endpoint (the
    #: circuit breaker).
    breaker_failures: int = 5
    #: The breaker's first pause; each further failure in a row doubles it...
    breaker_pause_seconds: float = 5.0
    #: ...up to this.
    breaker_max_pause_seconds: float = 300.0
    #: Healthy requests started between two of a troubled endpoint's (while
    #: healthy endpoints are being sent to)...
    troubled_turn_every: int = 1000
    #: ...or this many seconds, whichever comes first.
    troubled_max_wait: float = 1.0
