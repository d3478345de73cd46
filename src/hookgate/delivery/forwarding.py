"""Headers of forwarded inbound requests.

A request a source accepted is forwarded to the source's destinations as a
message whose payload is the exact body received. Its headers are stored on
the message (``forwardable``) and sent with every delivery of it
(``outbound_headers``): the original headers first, then the endpoint's
custom headers, then our ``X-Hookgate-Verified`` and Standard Webhooks
signature headers; a later header replaces an earlier one of the same name
(case-insensitively).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: Says whether Hookgate verified the forwarded request: the verification
#: scheme's name, or "false" for a source without verification.
VERIFIED_HEADER = "X-Hookgate-Verified"

#: Headers that describe one hop (or the body's framing), never forwarded.
_HOP_BY_HOP = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "transfer-encoding",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
    }
)


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Header names listed in ``Connection`` (hop-by-hop as well)."""
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    }


def _dropped(lower_name: str, also: set[str]) -> bool:
    return lower_name in _HOP_BY_HOP or lower_name.startswith("proxy-") or lower_name in also


def forwardable(headers: list[tuple[str, str]], verified: str) -> list[tuple[str, str]]:
    """The headers to store for forwarding a received request: the original
    ones, in order, without hop-by-hop, length, host and ``Proxy-*`` headers
    and without any ``X-Hookgate-Verified`` the sender set, then our own
    ``X-Hookgate-Verified: <verified>``."""
    drop = _NOT_FORWARDED | _connection_tokens(headers)
    kept = [
        (name, value)
        for name, value in headers
        if (lower := name.lower()) not in drop and not lower.startswith("proxy-")
    ]
    kept.append((VERIFIED_HEADER, verified))
    return kept


#: What ``forwardable`` drops besides ``Proxy-*`` and the ``Connection`` tokens.
_NOT_FORWARDED = _HOP_BY_HOP | {VERIFIED_HEADER.lower()}


def outbound_headers(
    original: list[tuple[str, str]],
    custom: Mapping[str, str],
    signature: Mapping[str, str],
) -> dict[str, str]:
    """The headers of one forwarded delivery (see the module docstring).
    Repeated original headers are joined with ", "."""
    also = _connection_tokens(original)
    merged: dict[str, tuple[str, str]] = {}
    for name, value in original:
        lower = name.lower()
        if _dropped(lower, also):
            continue
        if lower in merged:
            first, joined = merged[lower]
            merged[lower] = (first, f"{joined}, {value}")
        else:
            merged[lower] = (name, value)
    # Our verification marker (the last one: ``forwardable`` appends it) wins
    # over custom headers, like the signature.
    marker = [(n, v) for n, v in original if n.lower() == VERIFIED_HEADER.lower()][-1:]
    for layer in (custom, dict(marker), signature):
        for name, value in layer.items():
            merged[name.lower()] = (name, value)
    return dict(merged.values())
