"""``verify``: check a provider's request and return the parsed ``Event``."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from hookgate.core import jsondepth
from hookgate.core.verify import PRESETS, Scheme, Verified
from hookgate.core.verify import verify as verify_scheme

FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Event:
    """A verified inbound webhook.

    ``payload`` is the JSON body; for a form body, the JSON in its ``payload``
    field if that is all it has (GitHub/Slack form mode), else the form as a
    dict (one value per name as a string, repeated names as a list); None
    when the body is neither. ``body`` is the exact bytes received;
    ``headers`` the request headers with lower-cased names.
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
    lower = {k.lower(): v for k, v in headers.items()}
    parsed_form = _form(body) if _is_form(lower) else None
    verified = verify_scheme(
        scheme,
        body=body,
        headers=lower,
        secrets=secrets,
        now=time.time() if now is None else now,
        url=url,
        form=form if form is not None else parsed_form,
    )
    payload = _payload(body, parsed_form)
    event_type = verified.event_type
    if event_type is None and isinstance(payload, dict) and isinstance(payload.get("type"), str):
        event_type = payload["type"]
    return Event(
        provider=scheme.name if isinstance(provider, Scheme) else provider,
        id=verified.event_id,
        type=event_type,
        payload=payload,
        body=body,
        headers=lower,
        verified=verified,
    )


def _is_form(lower: Mapping[str, str]) -> bool:
    return lower.get("content-type", "").split(";")[0].strip().lower() == FORM_TYPE


def _form(body: bytes) -> dict[str, list[str]]:
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}


def _payload(body: bytes, form: dict[str, list[str]] | None) -> Any:
    if form is None:
        return _json(body)
    if list(form) == ["payload"] and len(form["payload"]) == 1:
        return _json(form["payload"][0].encode("utf-8"))
    return {k: v[0] if len(v) == 1 else v for k, v in form.items()}


def _json(raw: bytes) -> Any:
    try:
        return jsondepth.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
