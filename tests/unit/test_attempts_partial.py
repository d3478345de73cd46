"""The shared attempts partial renders from plain values, without a session."""

from __future__ import annotations

from hookgate.store.records import Attempt, Delivery, DeliveryStatus, Endpoint, TriggerType
from hookgate.web.attempts_view import (
    DestinationView,
    MessageAttempts,
    attempt_view,
    attempts_context,
    status_name,
)
from hookgate.web.templating import templates


def _endpoint() -> Endpoint:
    return Endpoint(
        id="ep_1",
        app_id="app_1",
        uid=None,
        url="https://hooks.example.com/in",
        description="Billing",
        throttle_rate=None,
        disabled=False,
        event_types=None,
        channels=None,
        metadata={},
        headers={},
        secrets=(),
        created_at=0,
        updated_at=0,
    )


def _delivery(status: DeliveryStatus) -> Delivery:
    return Delivery("d_1", "msg_1", "app_1", "ep_1", status, 1, 1_000, 0, 0, 0)


def _attempt(status: DeliveryStatus, code: int, body: bytes | None) -> Attempt:
    return Attempt(
        id="atmpt_1",
        msg_id="msg_1",
        endpoint_id="ep_1",
        app_id="app_1",
        url="https://hooks.example.com/in",
        status=status,
        response_status_code=code,
        response=body,
        response_duration_ms=2100,
        trigger_type=TriggerType.SCHEDULED,
        error_kind="http_status" if code >= 300 else None,
        error_message=f"HTTP {code}" if code >= 300 else None,
        created_at=0,
        response_headers=b"Content-Type: application/json\r\nX-Request-Id: r-42\r\n",
    )


def _render(view: MessageAttempts, csrf_token: str | None) -> str:
    context = attempts_context(view, poll_url="/poll", csrf_token=csrf_token)
    return templates.env.get_template("partials/attempts.html").render(context)


def _view(delivery: DeliveryStatus, resend_url: str | None) -> MessageAttempts:
    failed = _attempt(DeliveryStatus.FAIL, 500, b'{"error": "boom"}')
    return MessageAttempts(
        destinations=[
            DestinationView(
                endpoint=_endpoint(),
                delivery=_delivery(delivery),
                status_name=status_name(delivery),
                attempts=[attempt_view(failed)],
                resend_url=resend_url,
            )
        ],
        truncated=False,
    )


def test_failed_attempt_shows_code_body_and_explanation() -> None:
    html = _render(_view(DeliveryStatus.FAIL, "/resend"), "tok")
    assert "The endpoint answered 500 after 2.1 s" in html
    assert "&#34;error&#34;: &#34;boom&#34;" in html or "&quot;error&quot;" in html
    assert 'action="/resend"' in html
    assert "every 1s" not in html
    assert "X-Request-Id: r-42" in html


def test_pending_delivery_polls_and_no_form_without_csrf() -> None:
    html = _render(_view(DeliveryStatus.PENDING, "/resend"), None)
    assert 'hx-get="/poll"' in html
    assert 'hx-trigger="every 1s"' in html
    assert "<form" not in html
