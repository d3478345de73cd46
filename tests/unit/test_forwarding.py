"""Headers of forwarded inbound requests (``delivery.forwarding``) and the
event type they are forwarded under (``inbound.forward``)."""

from __future__ import annotations

from hookgate.delivery.forwarding import forwardable, outbound_headers
from hookgate.inbound.forward import event_type

RECEIVED = [
    ("Host", "gateway.example.com"),
    ("Content-Length", "12"),
    ("Content-Type", "application/json"),
    ("Connection", "keep-alive, X-Hop"),
    ("X-Hop", "1"),
    ("Transfer-Encoding", "chunked"),
    ("Keep-Alive", "timeout=5"),
    ("TE", "trailers"),
    ("Trailer", "X-T"),
    ("Upgrade", "h2c"),
    ("Proxy-Authorization", "Basic x"),
    ("X-GitHub-Event", "push"),
    ("x-hookgate-verified", "spoofed"),
    ("Accept", "a"),
    ("accept", "b"),
]


def test_forwardable_drops_hop_by_hop_and_spoofed_marker() -> None:
    assert forwardable(RECEIVED, "github") == [
        ("Content-Type", "application/json"),
        ("X-GitHub-Event", "push"),
        ("Accept", "a"),
        ("accept", "b"),
        ("X-Hookgate-Verified", "github"),
    ]


def test_outbound_headers_layer_original_custom_then_signature() -> None:
    original = [
        *forwardable(RECEIVED, "false"),
        ("webhook-signature", "forged"),
        ("X-Team", "original"),
    ]
    headers = outbound_headers(
        original,
        {"x-team": "custom", "X-Hookgate-Verified": "custom"},
        {"webhook-id": "msg_1", "webhook-signature": "v1,ok"},
    )
    assert headers == {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "Accept": "a, b",
        "X-Hookgate-Verified": "false",
        "webhook-signature": "v1,ok",
        "x-team": "custom",
        "webhook-id": "msg_1",
    }
    assert outbound_headers([("Host", "h"), ("Proxy-X", "y")], {}, {}) == {}


def test_event_type_is_sanitized() -> None:
    assert event_type(None) == "inbound"
    assert event_type("") == "inbound"
    assert event_type("invoice.paid") == "invoice.paid"
    assert event_type("issues/opened ✓") == "issues_opened__"
    assert len(event_type("x" * 300)) == 256
