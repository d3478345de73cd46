"""The one verify -> decide -> reply core for a received webhook.

Both the toolkit (``hookgate.receive.Receiver``) and the server's ``/in``
path (``hookgate.inbound.handle_request``) reach their verdict here, so a
request gets the same answer from either::

    decide(scheme, secrets, body=..., headers=..., url=..., now=...)
     ├── Accepted(event_id, event_type, verified, ...)   verified (or not verifying)
     │    └── Challenge(..., document)                    Slack / Zoom URL handshakes
     │                                                    (``challenge_reply``)
     └── Refused(status, code, detail, diagnosis)         the one error -> status mapping
                                                          (``refusal_reply``)

The rules, each in one place:

- **Status of a failure** (``refusal``): 400 ``missing_header`` /
  ``malformed_header`` / ``malformed_body``; 401 ``bad_signature`` /
  ``stale_timestamp`` / ``wrong_credentials``; 500 ``source_misconfigured``
  for a secret or setting the scheme cannot use (never the client's fault).
- **Form bodies** (``parse_form``): ``application/x-www-form-urlencoded``
  (any parameters, any case) decoded as UTF-8; undecodable bytes give no form.
- **Payload** (``Accepted.payload``): the JSON body; for a form body the JSON
  in its ``payload`` field if that is its only field (GitHub / Slack form
  mode), else the form (one value per name as a string, repeated names as a
  list); None when the body is neither, or is JSON nested too deep.
- **Event type fallback**: when neither the caller's locator nor the scheme
  finds an event type, a top-level string ``type`` in the payload.
- **Handshakes** (``Challenge``, answered 200 with ``Challenge.document``
  instead of the source's usual reply): Slack's ``url_verification`` (a
  request verified by the ``slack`` scheme whose payload is ``{"type":
  "url_verification", "challenge": <string>}``: echo ``{"challenge": ...}``)
  and Zoom's ``endpoint.url_validation`` (verified by ``zoom``, payload
  ``{"event": "endpoint.url_validation", "payload": {"plainToken": <string>}}``:
  ``{"plainToken": ..., "encryptedToken": hex HMAC-SHA256 of the plain token
  keyed by the secret token that verified it}``).
- **Reply to a refusal** (``refusal_reply``): its status, with the JSON body
  ``{"code": <code>, "detail": <what is wrong>}`` (``error_document``);
  details never contain a secret.
- **Diagnosis of a refusal** (``Refused.diagnosis``, ``diagnose.py``): why,
  as far as can be known (which change to the body or URL explains a bad
  signature, which clock is off...). Computed only for refusals, with bounded
  work; it is part of the stored ``reason``, not of the reply to the sender.

Pure: no I/O, no clock (``now`` is passed in). Headers are matched
case-insensitively; of a repeated header the first value counts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs

from hookgate.core import jsondepth

from .content import FormData
from .diagnose import diagnose
from .engine import Verified, locate, verify_lowered
from .errors import MalformedBody, MalformedHeader, MissingHeader, VerificationError
from .scheme import Locator, Scheme
from .signatures import derive_key

FORM_TYPE = "application/x-www-form-urlencoded"
#: Statuses by failure kind; every other ``VerificationError`` is 401.
_CLIENT_MISTAKES = (MissingHeader, MalformedHeader, MalformedBody)
_CODES = {
    "MissingHeader": "missing_header",
    "MalformedHeader": "malformed_header",
    "MalformedBody": "malformed_body",
    "BadSignature": "bad_signature",
    "StaleTimestamp": "stale_timestamp",
    "WrongCredentials": "wrong_credentials",
}

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
Form = Mapping[str, Sequence[str]]
_NOT_PARSED: Any = object()
#: Schemes whose providers check the URL with a handshake (``handshake_reply``).
_HANDSHAKE_SCHEMES = frozenset({"slack", "zoom"})


@dataclass(frozen=True)
class Refused:
    """The request is refused: answer ``status`` with ``error_document``."""

    status: int
    code: str
    detail: str
    #: why, as far as can be known (``diagnose.diagnose``); "" when nothing to add
    diagnosis: str = ""

    @property
    def reason(self) -> str:
        """What to store and show as the rejection reason: detail and diagnosis."""
        return f"{self.detail}; {self.diagnosis}" if self.diagnosis else self.detail


@dataclass(frozen=True)
class Accepted:
    """The request is authentic (``verified``), or the caller verifies
    nothing (``verified`` None). ``event_id`` / ``event_type`` as located."""

    event_id: str | None
    event_type: str | None
    verified: Verified | None
    body: bytes = field(repr=False)
    #: The decoded form body, or None when the body is not a form.
    form: Form | None = field(repr=False)

    @cached_property
    def payload(self) -> Any:
        """The parsed body (see the module docstring), parsed on first use."""
        return parse_payload(self.body, self.form)


@dataclass(frozen=True)
class Challenge(Accepted):
    """A verified URL handshake (Slack ``url_verification``, Zoom
    ``endpoint.url_validation``): answer 200 with ``document``
    (``challenge_reply``)."""

    document: Mapping[str, str] = field(default_factory=dict)

    @property
    def challenge(self) -> str | None:
        """Slack's challenge string (None for other handshakes)."""
        return self.document.get("challenge")


Decision = Accepted | Refused


class LowerHeaders(dict[str, str]):
    """Headers by lower-case name, the first value of a repeated one (what
    ``normalize_headers`` returns): passed as ``headers``, not normalized
    again."""

    __slots__ = ()


def normalize_headers(headers: Headers) -> LowerHeaders:
    """Lower-cased header names; of a repeated header the first value."""
    if type(headers) is LowerHeaders:
        return headers
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    lower = LowerHeaders()
    for name, value in pairs:
        lower.setdefault(name.lower(), value)
    return lower


def decide(
    scheme: Scheme | None,
    secrets: Sequence[str],
    *,
    body: bytes,
    headers: Headers,
    now: float,
    url: str | None = None,
    form: FormData | None = None,
    event_id_at: Locator | None = None,
    event_type_at: Locator | None = None,
) -> Decision:
    """The verdict on one request: ``examine``, with every failure mapped by
    ``refusal`` instead of raised, and diagnosed (``Refused.diagnosis``)."""
    try:
        return examine(
            scheme,
            secrets,
            body=body,
            headers=headers,
            now=now,
            url=url,
            form=form,
            event_id_at=event_id_at,
            event_type_at=event_type_at,
        )
    except VerificationError as exc:
        refused = refusal(exc)
        lower = normalize_headers(headers)
        if form is None:
            form = parse_form(lower.get("content-type"), body)
        why = diagnose(exc, scheme, secrets, body=body, headers=lower, url=url, form=form)
        return replace(refused, diagnosis=why) if why else refused
    except ValueError as exc:
        return Refused(500, "source_misconfigured", f"source configuration error: {exc}")


def examine(
    scheme: Scheme | None,
    secrets: Sequence[str],
    *,
    body: bytes,
    headers: Headers,
    now: float,
    url: str | None = None,
    form: FormData | None = None,
    event_id_at: Locator | None = None,
    event_type_at: Locator | None = None,
) -> Accepted:
    """Verify a request against ``scheme`` (None: verify nothing) with any of
    ``secrets`` and locate its event id and type.

    ``body`` is the raw bytes received; ``url`` the public URL the provider
    signed (schemes that sign it); ``form`` the decoded form if the caller has
    it (else decoded from ``body`` by ``parse_form``). ``event_id_at`` /
    ``event_type_at`` replace the scheme's own locations. Returns ``Accepted``
    (a ``Challenge`` for Slack's ``url_verification``); raises a
    ``VerificationError`` subclass, or ``ValueError`` for a secret or setting
    the scheme cannot use.
    """
    lower = normalize_headers(headers)
    parsed_form = parse_form(lower.get("content-type"), body)
    verified = None
    if scheme is not None:
        verified = verify_lowered(
            scheme,
            body=body,
            lower=lower,
            secrets=secrets,
            now=now,
            url=url,
            form=form if form is not None else parsed_form,
        )
    event_id = _locate(event_id_at, verified.event_id if verified else None, lower, body)
    event_type = _locate(event_type_at, verified.event_type if verified else None, lower, body)
    payload: Any = _NOT_PARSED
    handshake = None
    if event_type is None or _may_challenge(verified):
        payload = parse_payload(body, parsed_form)
        event_type = event_type or _payload_type(payload)
        handshake = handshake_reply(scheme, secrets, verified, payload)
    accepted = (
        Accepted(event_id, event_type, verified, body, parsed_form)
        if handshake is None
        else Challenge(event_id, event_type, verified, body, parsed_form, document=handshake)
    )
    if payload is not _NOT_PARSED:
        accepted.__dict__["payload"] = payload  # what ``payload`` would parse again
    return accepted


def refusal(exc: VerificationError) -> Refused:
    """The one mapping of a verification failure to an answer."""
    status = 400 if isinstance(exc, _CLIENT_MISTAKES) else 401
    return Refused(status, error_code(exc), str(exc))


def error_code(exc: VerificationError) -> str:
    """``BadSignature`` -> ``"bad_signature"`` (subclasses: their parent's code)."""
    for kind in type(exc).__mro__:
        code = _CODES.get(kind.__name__)
        if code is not None:
            return code
    return "verification_failed"


JSON_HEADERS: Mapping[str, str] = {"content-type": "application/json"}


@dataclass(frozen=True)
class Reply:
    """An HTTP answer, for a server or framework adapter to send."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: dict(JSON_HEADERS))

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` of ``body``."""
        return next(
            (v for k, v in self.headers.items() if k.lower() == "content-type"), "application/json"
        )


def json_reply(status: int, document: Mapping[str, Any]) -> Reply:
    """``document`` as a JSON answer."""
    return Reply(status, json.dumps(document).encode("utf-8"))


def error_document(refused: Refused) -> dict[str, Any]:
    """The body of a refusal: ``{"code": ..., "detail": ...}``."""
    return {"code": refused.code, "detail": refused.detail}


def refusal_reply(refused: Refused) -> Reply:
    """The answer to a refused request."""
    return json_reply(refused.status, error_document(refused))


def challenge_reply(challenge: Challenge) -> Reply:
    """The answer to a URL handshake: 200 with its document."""
    return json_reply(200, challenge.document)


def parse_form(content_type: str | None, body: bytes) -> dict[str, list[str]] | None:
    """The form parameters of a form-encoded body, else None."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != FORM_TYPE:
        return None
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return None


def parse_payload(body: bytes, form: Form | None) -> Any:
    """The JSON body, or what a form body carries (module docstring)."""
    if form is None:
        return _json(body)
    if list(form) == ["payload"] and len(form["payload"]) == 1:
        return _json(form["payload"][0].encode("utf-8"))
    return {name: values[0] if len(values) == 1 else list(values) for name, values in form.items()}


def handshake_reply(
    scheme: Scheme | None, secrets: Sequence[str], verified: Verified | None, payload: Any
) -> dict[str, str] | None:
    """The document answering a verified URL handshake (module docstring),
    or None when the request is not one."""
    if verified is None or scheme is None or not isinstance(payload, dict):
        return None
    if verified.scheme == "slack":
        challenge = payload.get("challenge")
        if payload.get("type") == "url_verification" and isinstance(challenge, str):
            return {"challenge": challenge}
    elif verified.scheme == "zoom" and payload.get("event") == "endpoint.url_validation":
        inner = payload.get("payload")
        plain = inner.get("plainToken") if isinstance(inner, dict) else None
        if isinstance(plain, str):
            key = derive_key(secrets[verified.secret_index], scheme.key_format, 0)
            encrypted = hmac.new(key, plain.encode("utf-8"), hashlib.sha256).hexdigest()
            return {"plainToken": plain, "encryptedToken": encrypted}
    return None


def _may_challenge(verified: Verified | None) -> bool:
    return verified is not None and verified.scheme in _HANDSHAKE_SCHEMES


def _locate(
    configured: Locator | None, found: str | None, lower: Mapping[str, str], body: bytes
) -> str | None:
    return found if configured is None else locate((configured,), lower, body)


def _payload_type(payload: Any) -> str | None:
    if isinstance(payload, dict):
        value = payload.get("type")
        if isinstance(value, str) and value:
            return value
    return None


def _json(raw: bytes) -> Any:
    try:
        return jsondepth.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
