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

#: Meta (Facebook, Instagram, WhatsApp): ``X-Hub-Signature-256: sha256=<hex>``
#: HMAC-SHA256 of the body keyed by the app secret.
META = Scheme(
    name="meta",
    signature_header="X-Hub-Signature-256",
    signature_format=SignatureFormat(prefix="sha256="),
)

#: Zoom: ``x-zm-signature: v0=<hex>`` over ``v0:{ts}:{body}`` with
#: ``x-zm-request-timestamp``, keyed by the app's secret token.
ZOOM = Scheme(
    name="zoom",
    signature_header="x-zm-signature",
    signature_format=SignatureFormat(prefix="v0="),
    timestamp_header="x-zm-request-timestamp",
    content="v0:{ts}:{body}",
    tolerance=300,
    event_type=(FromJson(("event",)),),
)

#: Segment: ``X-Signature`` = hex HMAC-SHA1 of the body with the shared secret.
SEGMENT = Scheme(
    name="segment",
    signature_header="X-Signature",
    algorithm=Algorithm.SHA1,
    event_id=(FromJson(("messageId",)),),
)

#: Veriff: ``X-HMAC-SIGNATURE`` = hex HMAC-SHA256 of the body with the shared secret key.
VERIFF = Scheme(name="veriff", signature_header="X-HMAC-SIGNATURE")

#: DocuSign Connect: ``X-DocuSign-Signature-1`` = base64 HMAC-SHA256 of the
#: body with a Connect HMAC key; with several active keys, one more header
#: per key (``-2``, ``-3``, ... up to 100), any of which may match.
DOCUSIGN = Scheme(
    name="docusign",
    signature_header="X-DocuSign-Signature-1",
    more_signature_headers=tuple(f"X-DocuSign-Signature-{n}" for n in range(2, 101)),
    encoding=Encoding.BASE64,
    event_type=(FromJson(("event",)),),
)

#: Nango: ``X-Nango-Hmac-Sha256`` = hex HMAC-SHA256 of the body with the
#: environment's secret key.
NANGO = Scheme(name="nango", signature_header="X-Nango-Hmac-Sha256")

#: Port: ``x-port-signature: v1,<base64>`` HMAC-SHA256 of ``{ts}.{body}``
#: with ``x-port-timestamp`` (seconds), keyed by the client secret.
PORT_IO = Scheme(
    name="port-io",
    signature_header="x-port-signature",
    signature_format=SignatureFormat(separator=" ", pair=",", version="v1"),
    timestamp_header="x-port-timestamp",
    content="{ts}.{body}",
    encoding=Encoding.BASE64,
    tolerance=300,
)

#: Tailscale: ``Tailscale-Webhook-Signature: t=<unix>,v1=<hex>`` over
#: ``{t}.{body}``; like Svix's ``tailscale`` source, no freshness check.
TAILSCALE = Scheme(
    name="tailscale",
    signature_header="Tailscale-Webhook-Signature",
    signature_format=SignatureFormat(separator=",", pair="=", version="v1", timestamp_key="t"),
    content="{ts}.{body}",
)

#: Airwallex: ``x-signature`` = hex HMAC-SHA256 of ``{x-timestamp}{body}``;
#: the timestamp is in milliseconds, so no freshness check.
AIRWALLEX = Scheme(
    name="airwallex",
    signature_header="x-signature",
    timestamp_header="x-timestamp",
    content="{ts}{body}",
    event_id=(FromJson(("id",)),),
    event_type=(FromJson(("name",)),),
)

#: EasyPost: ``X-Hmac-Signature: hmac-sha256-hex=<hex>`` HMAC-SHA256 of the body.
EASYPOST = Scheme(
    name="easypost",
    signature_header="X-Hmac-Signature",
    signature_format=SignatureFormat(prefix="hmac-sha256-hex="),
    event_id=(FromJson(("id",)),),
    event_type=(FromJson(("description",)),),
)

#: Merge: ``X-Merge-Webhook-Signature`` = URL-safe base64 HMAC-SHA256 of the body.
MERGE = Scheme(
    name="merge",
    signature_header="X-Merge-Webhook-Signature",
    encoding=Encoding.BASE64URL,
)

#: Vapi: ``X-Vapi-Secret`` equals the server URL secret.
VAPI = Scheme(name="vapi", signature_header="X-Vapi-Secret", method=Method.TOKEN)

#: Adobe Acrobat Sign: ``X-AdobeSign-ClientId`` equals the application's client id
#: (Adobe's own check; the answer must echo it, see ``inbound.config``).
ADOBE_SIGN = Scheme(name="adobe-sign", signature_header="X-AdobeSign-ClientId", method=Method.TOKEN)

#: Telnyx: ``telnyx-signature-ed25519`` = base64 Ed25519 signature of
#: ``{ts}|{body}`` with ``telnyx-timestamp``; verified with the account's public key.
TELNYX = Scheme(
    name="telnyx",
    signature_header="telnyx-signature-ed25519",
    method=Method.ED25519,
    key_format=KeyFormat.ED25519_PUBLIC,
    encoding=Encoding.BASE64,
    timestamp_header="telnyx-timestamp",
    content="{ts}|{body}",
    tolerance=300,
    event_id=(FromJson(("data", "id")),),
    event_type=(FromJson(("data", "event_type")),),
)

#: Checkbook: ``signature: nonce=<n>,signature=<hex>`` HMAC-SHA256 of the body
#: followed by the nonce, keyed by the webhooks key. The nonce is read as the
#: scheme's timestamp (it is an integer) but no freshness is checked.
CHECKBOOK = Scheme(
    name="checkbook",
    signature_header="signature",
    signature_format=SignatureFormat(
        separator=",", pair="=", version="signature", timestamp_key="nonce"
    ),
    content="{body}{ts}",
    event_id=(FromJson(("id",)),),
    event_type=(FromJson(("type",)),),
)

#: Rutter: ``X-Rutter-Signature: sha256=<base64>`` HMAC-SHA256 of the body,
#: keyed by the organization's client secret.
RUTTER = Scheme(
    name="rutter",
    signature_header="X-Rutter-Signature",
    signature_format=SignatureFormat(prefix="sha256="),
    encoding=Encoding.BASE64,
    event_type=(FromJson(("code",)),),
)

#: OpenClaw hooks: ``Authorization: Bearer <token>``, or ``x-openclaw-token:
#: <token>`` when there is no ``Authorization`` header.
OPENCLAW = Scheme(
    name="openclaw",
    signature_header="Authorization",
    method=Method.TOKEN,
    token_prefix="Bearer ",
    fallback=Scheme(name="openclaw", signature_header="x-openclaw-token", method=Method.TOKEN),
)

#: PandaDoc: ``?signature=<hex>`` on the webhook URL, HMAC-SHA256 of the body
#: keyed by the shared key.
PANDADOC = Scheme(
    name="panda-doc",
    signature_header="signature",
    signature_in_query=True,
    event_type=(FromJson(("event",)),),
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
        META,
        ZOOM,
        SEGMENT,
        VERIFF,
        DOCUSIGN,
        NANGO,
        PORT_IO,
        TAILSCALE,
        AIRWALLEX,
        EASYPOST,
        MERGE,
        VAPI,
        ADOBE_SIGN,
        TELNYX,
        CHECKBOOK,
        RUTTER,
        OPENCLAW,
        PANDADOC,
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
