"""Sample provider events, built into complete signed requests.

``PROVIDERS`` lists what ``hookgate trigger`` can send: for each provider
its events and the headers it sends besides the signature. ``build_request``
turns one event into the exact request the provider would make, signed by
``core.sign`` from the provider's ``core.verify`` preset.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hookgate.core.sign import body_sha256, sign_headers
from hookgate.core.verify.presets import (
    GITHUB,
    GITLAB,
    PADDLE,
    SHOPIFY,
    SLACK,
    STANDARD_WEBHOOKS,
    STRIPE,
    SVIX,
    TWILIO,
)
from hookgate.core.verify.scheme import Scheme

from . import events as ev
from . import events_commerce as shop
from .events import Context

Payload = dict[str, Any]


@dataclass(frozen=True)
class Provider:
    """A sender ``hookgate trigger`` imitates.

    ``schemes`` sign each request (GitHub also sends its legacy SHA-1 header);
    ``headers(event, ctx)`` are the provider's other headers; ``compact``
    says whether its JSON has no whitespace (Stripe's is indented);
    ``form`` marks form-encoded senders (Twilio).
    """

    name: str
    title: str
    schemes: tuple[Scheme, ...]
    events: dict[str, Callable[[Context], Payload]]
    headers: Callable[[str, Context], dict[str, str]]
    compact: bool = True
    form: bool = False


@dataclass(frozen=True)
class Request:
    """One HTTP request, exactly as it is to be sent."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    #: the URL the signature covers when it differs from ``url`` (Twilio behind a proxy)
    signed_url: str | None = None


JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"


def _github(event: str, ctx: Context) -> dict[str, str]:
    return {
        "User-Agent": "GitHub-Hookshot/7f4ac8e",
        "Content-Type": JSON_TYPE,
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": ctx.delivery_id,
        "X-GitHub-Hook-ID": "109948940",
        "X-GitHub-Hook-Installation-Target-ID": "1296269",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
    }


def _stripe(event: str, ctx: Context) -> dict[str, str]:
    return {
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "Content-Type": "application/json; charset=utf-8",
        "Cache-Control": "no-cache",
        "Accept": "*/*; q=0.5, application/xml",
    }


def _shopify(event: str, ctx: Context) -> dict[str, str]:
    return {
        "User-Agent": "Shopify-Captain-Hook",
        "Content-Type": JSON_TYPE,
        "X-Shopify-Topic": event,
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "X-Shopify-API-Version": "2024-07",
        "X-Shopify-Webhook-Id": ctx.delivery_id,
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": ctx.iso(),
    }


def _slack(event: str, ctx: Context) -> dict[str, str]:
    return {"User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)", "Content-Type": JSON_TYPE}


def _twilio(event: str, ctx: Context) -> dict[str, str]:
    return {
        "User-Agent": "TwilioProxy/1.1",
        "Content-Type": FORM_TYPE,
        "I-Twilio-Idempotency-Token": ctx.delivery_id,
        "X-Home-Region": "us1",
    }


def _paddle(event: str, ctx: Context) -> dict[str, str]:
    return {"User-Agent": "Paddle", "Content-Type": JSON_TYPE}


_GITLAB_EVENTS = {"push": "Push Hook", "merge_request": "Merge Request Hook"}


def _gitlab(event: str, ctx: Context) -> dict[str, str]:
    return {
        "User-Agent": "GitLab/17.5.0",
        "Content-Type": JSON_TYPE,
        "X-Gitlab-Event": _GITLAB_EVENTS.get(event, event),
        "X-Gitlab-Event-UUID": ctx.delivery_id,
        "X-Gitlab-Webhook-UUID": "9e4f0a4c-8a3c-4b6e-9d62-0cf3b2f1c1a2",
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "Idempotency-Key": str(uuid.uuid4()),
    }


def _standard(event: str, ctx: Context) -> dict[str, str]:
    return {"User-Agent": "Standard-Webhooks", "Content-Type": JSON_TYPE}


def _svix(event: str, ctx: Context) -> dict[str, str]:
    return {"User-Agent": "Svix-Webhooks/1.38", "Content-Type": JSON_TYPE}


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "github",
            "GitHub",
            (GITHUB, *((GITHUB.fallback,) if GITHUB.fallback else ())),
            {
                "ping": ev.github_ping,
                "push": ev.github_push,
                "pull_request": ev.github_pull_request,
            },
            _github,
        ),
        Provider(
            "stripe",
            "Stripe",
            (STRIPE,),
            {
                "payment_intent.succeeded": shop.stripe_payment_intent_succeeded,
                "checkout.session.completed": shop.stripe_checkout_session_completed,
                "invoice.paid": shop.stripe_invoice_paid,
            },
            _stripe,
            compact=False,
        ),
        Provider(
            "shopify",
            "Shopify",
            (SHOPIFY,),
            {"orders/create": shop.shopify_orders_create},
            _shopify,
        ),
        Provider(
            "slack",
            "Slack",
            (SLACK,),
            {
                "url_verification": ev.slack_url_verification,
                "event_callback": ev.slack_event_callback,
            },
            _slack,
        ),
        Provider(
            "twilio",
            "Twilio",
            (TWILIO,),
            {"sms-status": ev.twilio_sms_status, "sms-incoming": ev.twilio_sms_incoming},
            _twilio,
            form=True,
        ),
        Provider(
            "paddle",
            "Paddle Billing",
            (PADDLE,),
            {
                "transaction.completed": shop.paddle_transaction_completed,
                "subscription.created": shop.paddle_subscription_created,
            },
            _paddle,
        ),
        Provider(
            "gitlab",
            "GitLab",
            (GITLAB,),
            {"push": ev.gitlab_push, "merge_request": ev.gitlab_merge_request},
            _gitlab,
        ),
        Provider(
            "standard-webhooks",
            "Standard Webhooks",
            (STANDARD_WEBHOOKS,),
            {"user.created": ev.standard_user_created, "invoice.paid": ev.standard_invoice_paid},
            _standard,
        ),
        Provider(
            "svix",
            "Svix",
            (SVIX,),
            {"user.created": ev.standard_user_created, "invoice.paid": ev.standard_invoice_paid},
            _svix,
        ),
    )
}

_ALIASES = {"standard_webhooks": "standard-webhooks", "standardwebhooks": "standard-webhooks"}


class UnknownSample(LookupError):
    """No such provider or event; the message lists what exists."""


def provider(name: str) -> Provider:
    """The provider called ``name`` (case-insensitive), or ``UnknownSample``."""
    key = name.lower()
    key = _ALIASES.get(key, key)
    try:
        return PROVIDERS[key]
    except KeyError:
        raise UnknownSample(f"unknown provider {name!r}; known: {', '.join(PROVIDERS)}") from None


def build_request(
    provider_name: str,
    event: str,
    *,
    to: str,
    secret: str,
    data: bytes | None = None,
    public_url: str | None = None,
    now: int | None = None,
) -> Request:
    """The signed request ``provider_name`` would send for ``event`` to ``to``.

    ``data`` replaces the sample body (it is signed as given). ``public_url``
    is the URL a URL-signing provider (Twilio) signs when it differs from
    ``to``. Raises ``UnknownSample`` for an unknown provider or event and
    ``ValueError`` for a secret the scheme cannot use.
    """
    prov = provider(provider_name)
    make = prov.events.get(event)
    if make is None:
        raise UnknownSample(f"unknown {prov.name} event {event!r}; known: {', '.join(prov.events)}")
    ctx = Context(now=int(time.time()) if now is None else now)
    headers = prov.headers(event, ctx)
    url, signed_url = to, public_url or to
    form: dict[str, str] | None = None
    if data is None:
        payload = make(ctx)
        if prov.form:
            form = {k: str(v) for k, v in payload.items()}
            body = urlencode(form).encode()
        else:
            body = _json(payload, prov.compact)
    else:
        body = data
        if prov.form:
            if _is_json(body):
                headers["Content-Type"] = JSON_TYPE
                url, signed_url = (
                    _with_param(u, "bodySHA256", body_sha256(body)) for u in (url, signed_url)
                )
                form = {}
            else:
                form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    msg_id = ctx.token("msg_", 27) if any("id" in s.placeholders for s in prov.schemes) else None
    for scheme in prov.schemes:
        headers.update(
            sign_headers(
                scheme,
                body=body,
                secret=secret,
                timestamp=ctx.now,
                msg_id=msg_id,
                url=signed_url if "url" in scheme.placeholders else None,
                form=form,
            )
        )
    return Request(
        "POST", url, list(headers.items()), body, signed_url if signed_url != url else None
    )


def _json(payload: Payload, compact: bool) -> bytes:
    if compact:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return json.dumps(payload, ensure_ascii=False, indent=2).encode()


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{name}={value}" if parts.query else f"{name}={value}"
    return urlunsplit(parts._replace(query=query))
