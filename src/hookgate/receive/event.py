"""``verify``: check a provider's request and return the parsed ``Event``."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hookgate.core.verify import PRESETS, Scheme, Verified
from hookgate.core.verify.decide import Accepted, Headers, examine, normalize_headers


@dataclass(frozen=True)
class Event:
    """A verified inbound webhook.

    ``payload`` is the JSON body; for a form body, the JSON in its ``payload``
    field if that is all it has (GitHub/Slack form mode), else the form as a
    dict (one value per name as a string, repeated names as a list); None
    when the body is neither. ``type`` is the scheme's event type, else a
    top-level string ``type`` in the payload. ``body`` is the exact bytes
    received; ``headers`` the request headers with lower-cased names (the
    first value of a repeated header). These rules are the server's too
    (``hookgate.core.verify.decide``).
    """

    provider: str
    id: str | None
    type: str | None
    payload: Any
    body: bytes
    headers: Mapping[str, str] = field(repr=False)
    verified: Verified

    @property
    def dedupe_key(self) -> str | None:
        """``"<provider>:<id>"``, or None when the provider gave no event id."""
        return f"{self.provider}:{self.id}" if self.id else None


def scheme_for(provider: str | Scheme) -> Scheme:
    """The preset named ``provider`` (or ``provider`` itself if it is a
    ``Scheme``). Raises ``ValueError`` listing the known names."""
    if isinstance(provider, Scheme):
        return provider
    try:
        return PRESETS[provider]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ValueError(f"unknown provider {provider!r}; known: {known}") from None


def verify(
    provider: str | Scheme,
    body: bytes,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    url: str | None = None,
    now: float | None = None,
    form: Mapping[str, str | Sequence[str]] | None = None,
) -> Event:
    """Verify a request from ``provider`` (a preset name or a ``Scheme``).

    ``body`` must be the raw bytes as received. ``secret`` is one secret or
    several (rotation: any may match). ``url`` is the full *public* URL,
    required for Twilio and Square. A form body is decoded from ``body`` when
    ``form`` is not given. ``now`` defaults to ``time.time()``. Raises a
    ``VerificationError`` subclass, or ``ValueError`` for a caller mistake.
    """
    scheme = scheme_for(provider)
    secrets = [secret] if isinstance(secret, str) else list(secret)
    accepted = examine(
        scheme,
        secrets,
        body=body,
        headers=headers,
        now=time.time() if now is None else now,
        url=url,
        form=form,
    )
    return event_from(provider, accepted, headers)


def event_from(provider: str | Scheme, accepted: Accepted, headers: Headers) -> Event:
    """The ``Event`` of a request ``examine`` or ``decide`` accepted."""
    if accepted.verified is None:
        raise ValueError("only a verified request is an Event")
    return Event(
        provider=provider.name if isinstance(provider, Scheme) else provider,
        id=accepted.event_id,
        type=accepted.event_type,
        payload=accepted.payload,
        body=accepted.body,
        headers=normalize_headers(headers),
        verified=accepted.verified,
    )
