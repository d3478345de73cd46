"""The one verification engine: interprets a ``Scheme`` against a request.

``verify`` is pure: no I/O, no clock (``now`` is passed in), constant-time
comparisons (``hmac.compare_digest``) for every signature and credential;
Ed25519 signatures are checked with ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hookgate.core.jsondepth import JsonTooDeep
from hookgate.core.jsondepth import loads as json_loads

from .content import FormData, Inputs, query_param, render, url_variants
from .errors import (
    BadSignature,
    MalformedBody,
    MalformedHeader,
    MissingHeader,
    StaleTimestamp,
    WrongCredentials,
)
from .scheme import FromHeader, Locator, Method, Scheme
from .signatures import derive_key, parse_signature_header


@dataclass(frozen=True)
class Verified:
    """A request proven authentic.

    ``scheme`` is the name of the scheme that matched (a fallback's name when
    the fallback was used); ``secret_index`` the position of the matching
    secret in the list given (useful while rotating); ``timestamp`` the
    signed timestamp if the scheme has one; ``event_id``/``event_type`` as
    located by the scheme, or None.
    """

    scheme: str
    secret_index: int
    event_id: str | None = None
    event_type: str | None = None
    timestamp: int | None = None


def verify(
    scheme: Scheme,
    *,
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: float,
    url: str | None = None,
    form: FormData | None = None,
) -> Verified:
    """Verify one request against ``scheme`` with any of ``secrets``.

    ``headers`` are matched case-insensitively. ``url`` is the full public
    URL (needed by schemes that sign it); ``form`` the decoded form
    parameters (Twilio). Raises a ``VerificationError`` subclass saying what
    is wrong, or ``ValueError`` for a caller mistake (no secrets, a secret the
    scheme cannot use, a URL-signing scheme without ``url``).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    return verify_lowered(
        scheme, body=body, lower=lower, secrets=secrets, now=now, url=url, form=form
    )


def verify_lowered(
    scheme: Scheme,
    *,
    body: bytes,
    lower: Mapping[str, str],
    secrets: Sequence[str],
    now: float,
    url: str | None = None,
    form: FormData | None = None,
) -> Verified:
    """``verify`` with the headers already by lower-case name (as
    ``decide.normalize_headers`` gives them), not lower-cased again."""
    if isinstance(secrets, str):
        raise TypeError("secrets must be a sequence of strings, not one string")
    if not secrets:
        raise ValueError("at least one secret is required")
    chosen = _choose(scheme, lower)
    if chosen.signs_content:
        index, timestamp = _verify_hmac(chosen, body, lower, secrets, now, url, form)
    else:
        index, timestamp = _verify_credentials(chosen, lower, secrets), None
    return Verified(
        scheme=chosen.name,
        secret_index=index,
        event_id=locate(chosen.event_id, lower, body),
        event_type=locate(chosen.event_type, lower, body),
        timestamp=timestamp,
    )


def present_scheme(scheme: Scheme, lower: Mapping[str, str]) -> Scheme | None:
    """``scheme``, or the first of its fallbacks whose signature header is in
    ``lower`` (headers by lower-case name); None if none is. A scheme that
    reads its signature from the URL is always ``scheme`` itself."""
    if scheme.signature_in_query:
        return scheme
    candidate: Scheme | None = scheme
    while candidate is not None:
        if lower.get(candidate.signature_header.lower()):
            return candidate
        candidate = candidate.fallback
    return None


def _choose(scheme: Scheme, lower: Mapping[str, str]) -> Scheme:
    """``present_scheme``, or ``MissingHeader`` naming every header tried."""
    chosen = present_scheme(scheme, lower)
    if chosen is None:
        names = scheme.signature_headers
        raise MissingHeader(names[0], names[1:])
    return chosen


def _header(lower: Mapping[str, str], name: str) -> str:
    value = lower.get(name.lower())
    if not value:
        raise MissingHeader(name)
    return value


def _verify_hmac(
    scheme: Scheme,
    body: bytes,
    lower: Mapping[str, str],
    secrets: Sequence[str],
    now: float,
    url: str | None,
    form: FormData | None,
) -> tuple[int, int | None]:
    sig_name = scheme.signature_header
    parsed = parse_signature_header(
        sig_name, _signature_value(scheme, lower, url), scheme.signature_format, scheme.encoding
    )
    for extra in scheme.more_signature_headers:
        if lower.get(extra.lower()):
            more = parse_signature_header(
                extra, lower[extra.lower()], scheme.signature_format, scheme.encoding
            )
            parsed = dataclasses.replace(parsed, digests=parsed.digests + more.digests)
    ts_name = scheme.timestamp_header or sig_name
    raw_ts = parsed.timestamp
    if scheme.timestamp_header is not None:
        raw_ts = _header(lower, scheme.timestamp_header)
    timestamp = _parse_timestamp(ts_name, raw_ts)
    msg_id = None
    if scheme.id_header is not None and "id" in scheme.placeholders:
        msg_id = _header(lower, scheme.id_header)
    urls = url_variants(url, scheme.url_port_variants) if url is not None else None
    hash_param = scheme.body_hash_param
    if url is not None and hash_param is not None and _check_body_hash(hash_param, url, body):
        form = {}
    messages = render(scheme.content, Inputs(body, raw_ts, msg_id, url, form), urls)
    index = _match(scheme, messages, parsed.digests, secrets)
    if timestamp is not None and scheme.tolerance is not None:
        _check_age(now - timestamp, scheme.tolerance, scheme.reject_future)
    return index, timestamp


def _signature_value(scheme: Scheme, lower: Mapping[str, str], url: str | None) -> str:
    """The signature header's value, or the query parameter's for a
    ``signature_in_query`` scheme (``ValueError`` without a ``url``)."""
    if not scheme.signature_in_query:
        return _header(lower, scheme.signature_header)
    if url is None:
        raise ValueError(
            f"the {scheme.name} scheme reads its signature from the URL's query string,"
            " so it needs the URL the provider called"
        )
    value = query_param(url, scheme.signature_header)
    if not value:
        raise BadSignature(
            f"the URL has no {scheme.signature_header} query parameter ({scheme.name} puts"
            " its signature there)"
        )
    return value


def _parse_timestamp(name: str, raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise MalformedHeader(name, "timestamp is not an integer number of seconds") from None


def _check_body_hash(param: str, url: str, body: bytes) -> bool:
    """True if ``url`` carries ``param`` and it is the body's hex SHA-256 (the
    body is then JSON and no form parameters are signed); False if absent.
    Raises ``BadSignature`` if present but different."""
    expected = query_param(url, param)
    if expected is None:
        return False
    actual = hashlib.sha256(body).hexdigest()
    if not hmac.compare_digest(actual.encode(), expected.strip().lower().encode()):
        raise BadSignature(f"the body does not match the {param} query parameter of the URL")
    return True


def _match(
    scheme: Scheme, messages: Sequence[bytes], digests: Sequence[bytes], secrets: Sequence[str]
) -> int:
    """The index of the first secret whose HMAC of a message equals a digest
    (for ``ED25519`` schemes: the first public key a signature verifies with)."""
    if scheme.method is Method.ED25519:
        return _match_ed25519(scheme, messages, digests, secrets)
    for index, secret in enumerate(secrets):
        key = derive_key(secret, scheme.key_format, index)
        for message in messages:
            mac = hmac.digest(key, message, scheme.algorithm.value)
            # Compare against every digest (no early exit inside one secret).
            hits = [hmac.compare_digest(mac, digest) for digest in digests]
            if any(hits):
                return index
    raise BadSignature(
        f"no signature in {scheme.signature_header} matches the {scheme.algorithm.value.upper()}"
        f" HMAC of the {scheme.name} signed content ({scheme.content!r}) under any of the"
        f" {len(secrets)} configured secret(s)"
    )


def _match_ed25519(
    scheme: Scheme, messages: Sequence[bytes], signatures: Sequence[bytes], keys: Sequence[str]
) -> int:
    for index, encoded in enumerate(keys):
        public = Ed25519PublicKey.from_public_bytes(derive_key(encoded, scheme.key_format, index))
        for message in messages:
            for signature in signatures:
                try:
                    public.verify(signature, message)
                except InvalidSignature:
                    continue
                return index
    raise BadSignature(
        f"the Ed25519 signature in {scheme.signature_header} does not verify the"
        f" {scheme.name} signed content ({scheme.content!r}) with any of the"
        f" {len(keys)} configured public key(s)"
    )


def _check_age(age: float, tolerance: float, reject_future: bool) -> None:
    if age > tolerance or (reject_future and -age > tolerance):
        raise StaleTimestamp(age, tolerance)


def _verify_credentials(scheme: Scheme, lower: Mapping[str, str], secrets: Sequence[str]) -> int:
    name = scheme.signature_header
    value = _header(lower, name)
    if scheme.method is Method.BASIC:
        presented = _basic_credentials(name, value)
    else:
        presented = _strip_prefix(name, value, scheme.token_prefix).encode("utf-8")
    found = -1
    for index, secret in enumerate(secrets):
        if hmac.compare_digest(presented, secret.encode("utf-8")) and found < 0:
            found = index
    if found < 0:
        what = "Basic credentials" if scheme.method is Method.BASIC else "token"
        raise WrongCredentials(
            f"the {what} in {name} match none of the {len(secrets)} configured secret(s)"
        )
    return found


def _strip_prefix(name: str, value: str, prefix: str) -> str:
    if not value[: len(prefix)].lower() == prefix.lower():
        raise MalformedHeader(name, f"expected the value to start with {prefix!r}")
    return value[len(prefix) :].strip()


def _basic_credentials(name: str, value: str) -> bytes:
    encoded = _strip_prefix(name, value, "Basic ")
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise MalformedHeader(name, "Basic credentials are not valid base64") from None
    if b":" not in decoded:
        raise MalformedHeader(name, "Basic credentials lack the ':' between user and password")
    return decoded


def locate(locators: Sequence[Locator], lower: Mapping[str, str], body: bytes) -> str | None:
    """The first string (or integer, as text) found by ``locators``: a header
    value, or a value at a JSON path in ``body``. None if nothing is found or
    the body is not JSON."""
    document: Any = _NOT_PARSED
    for locator in locators:
        if isinstance(locator, FromHeader):
            value: Any = lower.get(locator.name.lower()) or None
        else:
            if document is _NOT_PARSED:
                document = _json(body)
            value = _walk(document, locator.path)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


_NOT_PARSED = object()


def _json(body: bytes) -> Any:
    try:
        return json_loads(body)
    except JsonTooDeep as exc:
        raise MalformedBody(str(exc)) from None
    except (ValueError, UnicodeDecodeError):
        return None


def _walk(document: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document
