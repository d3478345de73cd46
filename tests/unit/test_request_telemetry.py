"""FastAPI's OpenTelemetry instrumentation is decided once, when the app is
built (``api.app.request_telemetry``): off while no provider is configured,
so requests pay no per-request look-up of the global providers; on for the
signals an operator configured (e.g. ``opentelemetry-instrument``)."""

from __future__ import annotations

import pytest
from opentelemetry import trace

from hookgate.api.app import request_telemetry


def test_nothing_is_recorded_without_a_configured_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FASTAPI_OTEL_AUTO_CONFIGURE", raising=False)
    assert request_telemetry() == {"tracing": False, "metrics": False, "logs": False}


def test_a_configured_tracer_provider_keeps_request_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FASTAPI_OTEL_AUTO_CONFIGURE", raising=False)
    configured = trace.NoOpTracerProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: configured)
    assert request_telemetry() == {"tracing": True, "metrics": False, "logs": False}


def test_fastapi_auto_configuration_keeps_fastapi_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FASTAPI_OTEL_AUTO_CONFIGURE", "true")
    assert request_telemetry() is None
