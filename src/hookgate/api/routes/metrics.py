"""``GET /metrics``: this process's Prometheus metrics (``hookgate.metrics``).

Open unless ``HOOKGATE_METRICS_TOKEN`` is set; then a request must present
it as ``Authorization: Bearer <token>`` (401 otherwise). The admin token is
never required, nor accepted in its place: a scraper's credential gives no
access to the management API, and the management API's none to metrics.
"""

from __future__ import annotations

import hmac

from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from hookgate.api.deps import services
from hookgate.api.errors import error_response


async def scrape(request: Request) -> Response:
    """The Prometheus text exposition of this process."""
    svc = services(request)
    token = svc.settings.metrics_token
    if token is not None:
        refusal = _refusal(request.headers.get("authorization"), token.get_secret_value())
        if refusal is not None:
            return error_response(401, refusal)
    metrics = svc.engine.metrics
    await metrics.refresh_database_gauges(svc.db)
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def _refusal(authorization: str | None, token: str) -> str | None:
    """Why ``authorization`` does not present the metrics ``token`` (None if it does)."""
    if not authorization:
        return "Missing Authorization header (expected 'Bearer <HOOKGATE_METRICS_TOKEN>')"
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return "Authorization must be 'Bearer <HOOKGATE_METRICS_TOKEN>'"
    # Bytes, not str: compare_digest refuses non-ASCII text.
    encoded = presented.strip().encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(encoded, token.encode("utf-8", "surrogateescape")):
        return "Invalid metrics token"
    return None
