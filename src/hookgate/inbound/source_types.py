"""The Svix Ingest source types and the verification behind each.

``resolve`` maps a type to its ``core.verify.PRESETS`` scheme: ``DIRECT``
names one, ``STANDARD`` types use Standard Webhooks, ``REFUSED`` types and
unknown ones are refused with a ``ConfigError`` naming the type (never
accepted unverified). ``inbound.config`` parses the rest of a source's
configuration.
"""

from __future__ import annotations

from hookgate.core.verify import PRESETS

#: ``scheme`` of a source that does not verify requests.
NO_SCHEME = "none"
GENERIC = "generic-webhook"
#: Hookgate's inspector bin (``inbound.bins``): verifies nothing, keeps everything.
BIN_TYPE = "hookgate-bin"

#: Svix Ingest types whose verification is the ``PRESETS`` scheme named here.
DIRECT = {
    "github": "github",
    "stripe": "stripe",
    "shopify": "shopify",
    "slack": "slack",
    "meta": "meta",
    "zoom": "zoom",
    "segment": "segment",
    "veriff": "veriff",
    "docusign": "docusign",
    "nango": "nango",
    "port-io": "port-io",
    "tailscale": "tailscale",
    "airwallex": "airwallex",
    "easypost": "easypost",
    "merge": "merge",
    "vapi": "vapi",
    "adobe-sign": "adobe-sign",
    "telnyx": "telnyx",
    "checkbook": "checkbook",
    "rutter": "rutter",
    "openclaw": "openclaw",
    "panda-doc": "panda-doc",
}
#: Svix Ingest types whose senders sign with Standard Webhooks (``SvixConfig``).
STANDARD = frozenset(
    {
        "svix",
        "beehiiv",
        "brex",
        "clerk",
        "guesty",
        "incident-io",
        "lithic",
        "nash",
        "pleo",
        "psi-fi",
        "replicate",
        "resend",
        "safebase",
        "sardine",
        "stych",
        "open-ai",
        "render",
    }
)
_UNDOCUMENTED = (
    "its signature scheme is not publicly documented well enough to verify it;"
    " use generic-webhook with config.scheme if you know how it signs"
)
#: Svix Ingest types Hookgate refuses (422), and why. Never accepted unverified.
REFUSED: dict[str, str] = {
    "cron": (
        "a cron source is not a webhook: Svix itself emits its payload on a schedule,"
        " and Hookgate has no scheduler for ingest sources"
    ),
    "hubspot": (
        "HubSpot's v3 signature covers the HTTP method and a millisecond timestamp,"
        " which Hookgate's schemes cannot express yet"
    ),
    "orum-io": (
        "Orum signs with RSA over the body plus the body's created_at field,"
        " which Hookgate's schemes cannot express yet"
    ),
    "vgs": _UNDOCUMENTED,
}
#: The config key (as the SDK sends it) holding the credential of types whose
#: key is not ``secret``; it is stored as the source's secret.
CREDENTIAL_KEY = {"telnyx": "publicKey", "adobe-sign": "clientId"}
#: Config keys the SDK sends that Hookgate cannot honour: refused, not ignored.
UNSUPPORTED_KEYS = {
    "tailscale": {
        "timestampGraceSeconds": "Hookgate does not check the age of Tailscale timestamps"
    },
}


class ConfigError(ValueError):
    """The source configuration is unusable; the message says why (no secret)."""


def resolve(source_type: str, scheme: str | None) -> str:
    """The ``PRESETS`` name (or ``NO_SCHEME``) verifying a ``source_type`` source."""
    if source_type == GENERIC:
        if scheme is None:
            return NO_SCHEME
        if scheme not in PRESETS:
            raise ConfigError(f"config.scheme must be one of {sorted(PRESETS)}, not {scheme!r}")
        return scheme
    if scheme is not None:
        raise ConfigError("config.scheme is only for generic-webhook sources")
    if source_type in DIRECT:
        return DIRECT[source_type]
    if source_type in STANDARD:
        return "standard_webhooks"
    if source_type in REFUSED:
        raise ConfigError(f"source type {source_type!r} is not supported: {REFUSED[source_type]}")
    raise ConfigError(
        f"source type {source_type!r} is not a known Svix Ingest source type;"
        " use generic-webhook with config.scheme"
    )


def scheme_of(source_type: str) -> str | None:
    """The ``PRESETS`` name verifying ``source_type`` (``NO_SCHEME`` for a
    generic webhook, which may pick one); None if the type is refused or unknown."""
    if source_type in (GENERIC, BIN_TYPE):
        return NO_SCHEME
    if source_type in STANDARD:
        return "standard_webhooks"
    return DIRECT.get(source_type)
