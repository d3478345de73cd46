"""Signing requests as a provider does: the counterpart of ``core.verify``.

``sign_headers`` reads the same ``Scheme`` value the verifier interprets
(what is signed, the digest, its encoding, the header layout) and produces
the headers that scheme verifies, so each provider's format is described
once, in ``core/verify/presets.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from hookgate.core.verify.content import FormData, Inputs, render
from hookgate.core.verify.scheme import Encoding, Method, Scheme
from hookgate.core.verify.signatures import derive_key


def sign_headers(
    scheme: Scheme,
    *,
    body: bytes,
    secret: str,
    timestamp: int | None = None,
    msg_id: str | None = None,
    url: str | None = None,
    form: FormData | None = None,
) -> dict[str, str]:
    """The headers proving ``body`` (and ``url``/``form`` where signed) came
    from the holder of ``secret`` under ``scheme``.

    Only ``scheme`` itself is used, never its fallback. The timestamp header
    (or entry) and the id header are included when the scheme signs them.
    Raises ``ValueError`` if the scheme needs a ``timestamp``, ``msg_id`` or
    ``url`` that was not given, the secret is unusable for its key format, or
    the scheme is not signed with a shared secret in a header (Ed25519, a
    signature in the URL).
    """
    if scheme.method is Method.TOKEN:
        return {scheme.signature_header: scheme.token_prefix + secret}
    if scheme.method is Method.BASIC:
        encoded = base64.b64encode(secret.encode("utf-8")).decode("ascii")
        return {scheme.signature_header: f"Basic {encoded}"}
    if scheme.method is not Method.HMAC:
        raise ValueError(f"signing {scheme.method} schemes ({scheme.name}) is not supported")
    if scheme.signature_in_query:
        raise ValueError(f"signing into the URL ({scheme.name}) is not supported")
    fmt = scheme.signature_format
    has_ts = scheme.timestamp_header is not None or fmt.timestamp_key is not None
    if has_ts and timestamp is None:
        raise ValueError(f"the {scheme.name} scheme signs a timestamp: pass timestamp=")
    signs_id = "id" in scheme.placeholders
    if signs_id and msg_id is None:
        raise ValueError(f"the {scheme.name} scheme signs a message id: pass msg_id=")
    ts = str(timestamp) if timestamp is not None else None
    [content] = render(scheme.content, Inputs(body, ts, msg_id, url, form), [url] if url else None)
    key = derive_key(secret, scheme.key_format, 0)
    digest = hmac.new(key, content, scheme.algorithm.value).digest()
    signature = _encode(digest, scheme.encoding)
    headers: dict[str, str] = {}
    if scheme.id_header is not None and signs_id and msg_id is not None:
        headers[scheme.id_header] = msg_id
    if scheme.timestamp_header is not None and ts is not None:
        headers[scheme.timestamp_header] = ts
    if fmt.separator is None:
        headers[scheme.signature_header] = fmt.prefix + signature
    else:
        entries = [f"{fmt.version}{fmt.pair}{signature}"]
        if fmt.timestamp_key is not None:
            entries.insert(0, f"{fmt.timestamp_key}{fmt.pair}{ts}")
        headers[scheme.signature_header] = fmt.separator.join(entries)
    return headers


def _encode(digest: bytes, encoding: Encoding) -> str:
    if encoding is Encoding.HEX:
        return digest.hex()
    if encoding is Encoding.BASE64:
        return base64.b64encode(digest).decode("ascii")
    if encoding is Encoding.BASE64URL:
        return base64.urlsafe_b64encode(digest).decode("ascii")
    raise ValueError(f"signatures encoded as {encoding} are not supported")


def body_sha256(body: bytes) -> str:
    """The hex SHA-256 of ``body``, as a ``body_hash_param`` carries it (Twilio)."""
    return hashlib.sha256(body).hexdigest()
