"""Provider presets: each one a ``Scheme`` value (see ``signatures.md``).

``PRESETS`` maps a provider name to its scheme. ``generic_hmac`` and
``token_scheme`` build schemes for senders that are not listed.
"""

from __future__ import annotations

import dataclasses

from .scheme import (
    Algorithm,
    Encoding,
    FromHeader,
    FromJson,
    KeyFormat,
    Method,
    Scheme,
    SignatureFormat,
)

_GITHUB_ID = (FromHeader("X-GitHub-Delivery"),)
_GITHUB_TYPE = (FromHeader("X-GitHub-Event"),)

#: GitHub: ``X-Hub-Signature-256: sha256=<hex>`` over the body; the legacy
#: ``X-Hub-Signature: sha1=<hex>`` is accepted when the SHA-256 header is absent.
GITHUB = Scheme(
    name="github",
    signature_header="X-Hub-Signature-256",
    signature_format=SignatureFormat(prefix="sha256="),
    fallback=Scheme(
        name="github-sha1",
        signature_header="X-Hub-Signature",
        signature_format=SignatureFormat(prefix="sha1="),
        algorithm=Algorithm.SHA1,
        event_id=_GITHUB_ID,
        event_type=_GITHUB_TYPE,
    ),
    event_id=_GITHUB_ID,
    event_type=_GITHUB_TYPE,
)

#: Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]`` over ``{t}.{body}``,
#: keyed with the whole ``whsec_...`` string. Like stripe-python, only too-old
#: timestamps are rejected.
STRIPE = Scheme(
    name="stripe",
    signature_header="Stripe-Signature",
    signature_format=SignatureFormat(separator=",", pair="=", version="v1", timestamp_key="t"),
    content="{ts}.{body}",
    tolerance=300,
    reject_future=False,
    event_id=(FromJson(("id",)),),
    event_type=(FromJson(("type",)),),
)

#: Shopify: ``X-Shopify-Hmac-Sha256: <base64>`` over the body.
SHOPIFY = Scheme(
    name="shopify",
    signature_header="X-Shopify-Hmac-Sha256",
    encoding=Encoding.BASE64,
    event_id=(FromHeader("X-Shopify-Webhook-Id"), FromHeader("X-Shopify-Event-Id")),
    event_type=(FromHeader("X-Shopify-Topic"),),
)

#: Slack: ``X-Slack-Signature: v0=<hex>`` over ``v0:{ts}:{body}``, 5 minutes either way.
SLACK = Scheme(
    name="slack",
    signature_header="X-Slack-Signature",
    signature_format=SignatureFormat(prefix="v0="),
    timestamp_header="X-Slack-Request-Timestamp",
    content="v0:{ts}:{body}",
    tolerance=300,
    event_id=(FromJson(("event_id",)),),
    event_type=(FromJson(("event", "type")), FromJson(("type",))),
)


def _standard(prefix: str, name: str, fallback: Scheme | None) -> Scheme:
    return Scheme(
        name=name,
        signature_header=f"{prefix}-signature",
        signature_format=SignatureFormat(separator=" ", pair=",", version="v1"),
        timestamp_header=f"{prefix}-timestamp",
        id_header=f"{prefix}-id",
        content="{id}.{ts}.{body}",
        key_format=KeyFormat.WHSEC_BASE64,
        encoding=Encoding.BASE64,
        tolerance=300,
        event_id=(FromHeader(f"{prefix}-id"),),
        event_type=(FromJson(("type",)), FromJson(("eventType",))),
        fallback=fallback,
    )


#: Standard Webhooks: ``webhook-signature: v1,<b64> [v1,<b64>...]`` over
#: ``{id}.{ts}.{body}``, keyed by the base64 after ``whsec_``; ``svix-*``
#: headers are accepted when the ``webhook-*`` family is absent.
STANDARD_WEBHOOKS = _standard("webhook", "standard_webhooks", _standard("svix", "svix", None))
#: Svix: the same scheme, preferring the ``svix-*`` headers.
SVIX = _standard("svix", "svix", _standard("webhook", "standard_webhooks", None))

#: Twilio: ``X-Twilio-Signature`` = base64 HMAC-SHA1 of the public URL + sorted
#: form parameters; JSON bodies are bound by ``bodySHA256`` in the URL instead.
TWILIO = Scheme(
    name="twilio",
    signature_header="X-Twilio-Signature",
    content="{url}{form}",
    algorithm=Algorithm.SHA1,
    encoding=Encoding.BASE64,
    body_hash_param="bodySHA256",
    url_port_variants=True,
    event_id=(FromHeader("I-Twilio-Idempotency-Token"),),
)

#: Paddle Billing: ``Paddle-Signature: ts=<unix>;h1=<hex>[;h1=...]`` over
#: ``{ts}:{body}``; like Paddle's SDKs, rejects timestamps more than 5 s old.
PADDLE = Scheme(
    name="paddle",
    signature_header="Paddle-Signature",
    signature_format=SignatureFormat(separator=";", pair="=", version="h1", timestamp_key="ts"),
    content="{ts}:{body}",
    tolerance=5,
    reject_future=False,
    event_id=(FromJson(("event_id",)),),
    event_type=(FromJson(("event_type",)),),
)

#: GitLab: ``X-Gitlab-Token`` equals the shared secret token.
GITLAB = Scheme(
    name="gitlab",
    signature_header="X-Gitlab-Token",
    method=Method.TOKEN,
    event_id=(FromHeader("X-Gitlab-Event-UUID"), FromHeader("Idempotency-Key")),
    event_type=(FromHeader("X-Gitlab-Event"),),
)

#: Square: ``x-square-hmacsha256-signature`` = base64 HMAC-SHA256 of the
#: notification URL + body.
SQUARE = Scheme(
    name="square",
    signature_header="x-square-hmacsha256-signature",
    content="{url}{body}",
    encoding=Encoding.BASE64,
    event_id=(FromJson(("event_id",)),),
    event_type=(FromJson(("type",)),),
)

#: A configurable HMAC default: ``X-Signature: <hex HMAC-SHA256 of the body>``.
GENERIC_HMAC = Scheme(name="generic_hmac", signature_header="X-Signature")

#: HTTP Basic: secrets are ``"user:password"`` strings.
BASIC = Scheme(name="basic", signature_header="Authorization", method=Method.BASIC)

#: A bearer token: ``Authorization: Bearer <secret>``.
TOKEN = Scheme(
    name="token", signature_header="Authorization", method=Method.TOKEN, token_prefix="Bearer "
)

PRESETS: dict[str, Scheme] = {
    scheme.name: scheme
    for scheme in (
        GITHUB,
        STRIPE,
        SHOPIFY,
        SLACK,
        STANDARD_WEBHOOKS,
        SVIX,
        TWILIO,
        PADDLE,
        GITLAB,
        SQUARE,
        GENERIC_HMAC,
        BASIC,
        TOKEN,
    )
}


def generic_hmac(
    header: str = "X-Signature",
    *,
    algorithm: Algorithm = Algorithm.SHA256,
    encoding: Encoding = Encoding.HEX,
    prefix: str = "",
    content: str = "{body}",
    timestamp_header: str | None = None,
    tolerance: float | None = None,
    id_header: str | None = None,
    name: str = "generic_hmac",
) -> Scheme:
    """An HMAC scheme over ``content`` with one signature in ``header``."""
    return dataclasses.replace(
        GENERIC_HMAC,
        name=name,
        signature_header=header,
        algorithm=algorithm,
        encoding=encoding,
        signature_format=SignatureFormat(prefix=prefix),
        content=content,
        timestamp_header=timestamp_header,
        tolerance=tolerance,
        id_header=id_header,
        event_id=(FromHeader(id_header),) if id_header else (),
    )


def token_scheme(header: str = "Authorization", *, prefix: str = "Bearer ") -> Scheme:
    """A shared-token scheme: ``header`` holds ``prefix`` + a secret
    (``token_scheme("X-API-Key", prefix="")`` for an API-key header)."""
    return dataclasses.replace(TOKEN, signature_header=header, token_prefix=prefix)
