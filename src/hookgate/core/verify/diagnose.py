"""Why a request failed verification, in words an operator can act on.

``diagnose(error, scheme, secrets, body=..., headers=..., url=..., form=...)``
returns one or more sentences to add to a rejection's reason (``""`` when
there is nothing to add):

- missing header: which headers the request does carry (names only), and
  which provider's signature header came instead, so a source set to the
  wrong provider is obvious;
- malformed header: the start of the value received;
- stale timestamp: whether a clock, a replay or a timestamp in milliseconds
  is the likely cause;
- bad signature, for HMAC and Ed25519 schemes: the signature is recomputed
  over plausible variants of what was received; a match says exactly which
  change explains the failure:

  * the body with a trailing newline added / removed, with CRLF / LF line
    endings, or re-serialised as JSON (compact, with spaces, sorted keys,
    indented, with ``\\u00e9``-style escapes): "the body was changed on the way";
  * for schemes that sign the URL (Twilio, Square): the URL with http /
    https swapped, the default port added / removed, the trailing slash
    added / removed: "the provider signs a different URL" (a proxy);
  * (HMAC) the secret keyed another way: its text instead of its base64
    decoding or the reverse, without surrounding whitespace, with / without
    a ``whsec_`` prefix;

  else "no secret of this source produces this signature: the secret is
  wrong or the body was changed before it arrived", with the first
  ``PREFIX`` characters of the received and the expected signature.

The work is bounded (at most ``MAX_SECRETS`` secrets, a dozen variants,
bodies up to ``MAX_BODY`` bytes) and meant only for rejected requests.
Never included: a secret, or more than a short prefix of a signature.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator, Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .content import FormData, Inputs, query_param, render, url_variants
from .engine import present_scheme
from .errors import (
    BadSignature,
    MalformedHeader,
    MissingHeader,
    StaleTimestamp,
    VerificationError,
)
from .presets import PRESETS
from .scheme import Encoding, KeyFormat, Method, Scheme
from .signatures import WHSEC_PREFIX, ParsedSignatures, derive_key, parse_signature_header
from .variants import Variant, body_variants, url_changes

#: Only the first secrets are tried (the diagnosis stays a few HMACs).
MAX_SECRETS = 3
#: Bodies larger than this are not varied (JSON re-serialisation is not free).
MAX_BODY = 256 * 1024
#: How many characters of a signature a diagnosis may show.
PREFIX = 7
#: A timestamp further ahead than this (seconds) is in milliseconds.
_MILLISECONDS = 10**10
#: How many header names a missing-header diagnosis lists.
MAX_NAMES = 20


def diagnose(
    error: VerificationError,
    scheme: Scheme | None,
    secrets: Sequence[str],
    *,
    body: bytes,
    headers: Mapping[str, str],
    url: str | None = None,
    form: FormData | None = None,
) -> str:
    """The explanation to add to ``error``'s message (``""``: nothing to add).

    ``headers`` lower-cased (as ``decide.normalize_headers`` gives them);
    ``body``, ``url``, ``form`` as verification saw them. Never raises for
    odd input: a diagnosis that cannot be made is ``""``.
    """
    try:
        if isinstance(error, MissingHeader):
            return _missing(error, scheme, headers)
        if isinstance(error, MalformedHeader):
            return _malformed(error, headers)
        if isinstance(error, StaleTimestamp):
            return _stale(error)
        if isinstance(error, BadSignature) and scheme is not None and secrets:
            return _bad_signature(scheme, secrets, body, headers, url, form)
    except (ValueError, VerificationError, UnicodeError, RecursionError):
        return ""
    return ""


def _missing(error: MissingHeader, scheme: Scheme | None, headers: Mapping[str, str]) -> str:
    names = sorted(headers)
    if not names:
        return "the request has no headers at all"
    shown = ", ".join(names[:MAX_NAMES]) + (", ..." if len(names) > MAX_NAMES else "")
    others = _signed_by_others(error, scheme, headers)
    if others:
        return (
            f"the request carries the signature header of {others}: is this source's provider"
            f" set right? (headers: {shown})"
        )
    return (
        f"the request has the headers {shown}: is this source's provider the one sending,"
        " and does the provider have signing enabled?"
    )


def _signed_by_others(
    error: MissingHeader, scheme: Scheme | None, headers: Mapping[str, str]
) -> str:
    """ "gitlab (X-Gitlab-Token)" for the presets whose signature header the
    request carries (at most three), or ""."""
    own = {name.lower() for name in (error.name, *error.alternatives)}
    if scheme is not None:
        own |= {name.lower() for name in scheme.signature_headers}
    found: dict[str, str] = {}
    for name, preset in PRESETS.items():
        header = preset.signature_header.lower()
        if header not in own and header not in found and headers.get(header):
            found[header] = f"{name} ({preset.signature_header})"
    return ", ".join(list(found.values())[:3])


def _malformed(error: MalformedHeader, headers: Mapping[str, str]) -> str:
    value = headers.get(error.name.lower(), "")
    if not value:
        return ""
    return f"the value received starts {_prefix(value, 12)!r}"


def _stale(error: StaleTimestamp) -> str:
    if -error.age > _MILLISECONDS:
        return (
            "the timestamp looks like milliseconds since 1970: this scheme's timestamps are"
            " seconds, so the sender is not signing the way the provider does"
        )
    if error.age >= 0:
        return (
            "a replayed or long-delayed request, or a sender clock running behind;"
            " a fresh delivery from the provider should pass"
        )
    return "the sender's clock runs ahead of Hookgate's (or Hookgate's clock is behind): check NTP"


def _bad_signature(
    scheme: Scheme,
    secrets: Sequence[str],
    body: bytes,
    headers: Mapping[str, str],
    url: str | None,
    form: FormData | None,
) -> str:
    chosen = present_scheme(scheme, headers)
    if chosen is None or not chosen.signs_content:
        return ""
    sig_value = _signature_value(chosen, headers, url)
    if not sig_value:
        return ""
    parsed = parse_signature_header(
        chosen.signature_header, sig_value, chosen.signature_format, chosen.encoding
    )
    for extra in chosen.more_signature_headers:
        if headers.get(extra.lower()):
            more = parse_signature_header(
                extra, headers[extra.lower()], chosen.signature_format, chosen.encoding
            )
            parsed = ParsedSignatures(parsed.digests + more.digests, parsed.timestamp)
    hash_param = chosen.body_hash_param
    if url is not None and hash_param is not None:
        signed_hash = query_param(url, hash_param)
        if signed_hash is not None:
            if hashlib.sha256(body).hexdigest() != signed_hash.strip().lower():
                return _body_hash(body, signed_hash.strip().lower(), hash_param)
            form = {}
    keys = _keys(chosen, secrets)
    if not keys:
        return ""
    raw_ts = parsed.timestamp
    if chosen.timestamp_header is not None:
        raw_ts = headers.get(chosen.timestamp_header.lower())
    msg_id = headers.get(chosen.id_header.lower()) if chosen.id_header else None

    def messages(variant_body: bytes, variant_url: str | None) -> list[bytes]:
        urls = None
        if variant_url is not None:
            urls = url_variants(variant_url, chosen.url_port_variants)
        inputs = Inputs(variant_body, raw_ts, msg_id, variant_url, form)
        return render(chosen.content, inputs, urls)

    matcher = _Matcher(chosen, keys, parsed)
    several = len(secrets) > 1
    for variant in _variants(chosen, body, url):
        variant_body = body if variant.body is None else variant.body
        index = matcher.first(messages(variant_body, variant.url or url))
        if index is not None:
            which = f" under secret #{index + 1}" if several else ""
            return f"the signature matches {variant.what}{which}: {variant.why}"
    received_messages = messages(body, url)
    if chosen.method is Method.HMAC:
        keyed = _other_keying(chosen, secrets, matcher, received_messages)
        if keyed:
            return keyed
    tried = f" (the first {MAX_SECRETS} tried)" if len(secrets) > MAX_SECRETS else ""
    received = _prefix(_encode(parsed.digests[0], chosen.encoding), PREFIX)
    if chosen.method is Method.ED25519:
        what = "configured public key verifies"
        facts = f"received {received}...{tried}"
    else:
        what = "secret of this source produces"
        expected = _encode(matcher.mac(keys[0], received_messages[0]), chosen.encoding)
        facts = f"received {received}..., secret #1 gives {_prefix(expected, PREFIX)}...{tried}"
    if "url" in chosen.placeholders:
        return (
            f"no {what} this signature for the URL we used ({url}),"
            " nor for its http/https, port or trailing-slash variants: the provider signs a"
            " different URL (set the source's publicUrl to the URL configured at the"
            f" provider) or the secret is wrong; {facts}"
        )
    wrong = "key" if chosen.method is Method.ED25519 else "secret"
    return (
        f"no {what} this signature: the {wrong} is wrong or the body"
        f" was changed before it arrived; {facts}"
    )


def _signature_value(scheme: Scheme, headers: Mapping[str, str], url: str | None) -> str | None:
    if not scheme.signature_in_query:
        return headers.get(scheme.signature_header.lower())
    return query_param(url, scheme.signature_header) if url is not None else None


def _keys(scheme: Scheme, secrets: Sequence[str]) -> list[bytes]:
    keys: list[bytes] = []
    for index, secret in enumerate(secrets[:MAX_SECRETS]):
        try:
            keys.append(derive_key(secret, scheme.key_format, index))
        except ValueError:
            keys.append(b"")
    return keys if any(keys) else []


def _other_keying(
    scheme: Scheme, secrets: Sequence[str], matcher: _Matcher, messages: Sequence[bytes]
) -> str:
    """The explanation if a secret signs the received content once keyed
    another way (its text as is / base64-decoded after ``whsec_``, without
    surrounding whitespace, with / without the ``whsec_`` prefix), else ""."""
    for index, secret in enumerate(secrets[:MAX_SECRETS]):
        which = f" #{index + 1}" if len(secrets) > 1 else ""
        if secret.strip() != secret:
            stripped = _keys(scheme, [secret.strip()])
            if stripped and matcher.signs(stripped[0], messages):
                return (
                    f"the signature matches with secret{which} without its surrounding"
                    " whitespace: the configured secret has spaces or a line break copied"
                    " with it"
                )
        if scheme.key_format is KeyFormat.WHSEC_BASE64:
            for text in dict.fromkeys((secret, secret.removeprefix(WHSEC_PREFIX))):
                if matcher.signs(text.encode("utf-8"), messages):
                    return (
                        f"the signature matches with the text of secret{which} as the HMAC key:"
                        " the sender does not base64-decode the secret after 'whsec_' as"
                        f" {scheme.name} requires"
                    )
            continue
        toggled = (
            secret.removeprefix(WHSEC_PREFIX)
            if secret.startswith(WHSEC_PREFIX)
            else WHSEC_PREFIX + secret
        )
        if matcher.signs(toggled.encode("utf-8"), messages):
            change = "without" if secret.startswith(WHSEC_PREFIX) else "with"
            return (
                f"the signature matches with secret{which} {change} a '{WHSEC_PREFIX}' prefix:"
                f" {scheme.name} keys the HMAC with the secret exactly as the provider shows it"
            )
        try:
            decoded = derive_key(secret, KeyFormat.WHSEC_BASE64, index)
        except ValueError:
            continue
        if matcher.signs(decoded, messages):
            return (
                f"the signature matches with secret{which} base64-decoded as the HMAC key:"
                f" the sender decodes the secret, {scheme.name} keys the HMAC with its text"
            )
    return ""


class _Matcher:
    """Signatures of candidate messages compared with the received ones
    (HMAC digests, or Ed25519 signatures checked with public keys)."""

    def __init__(self, scheme: Scheme, keys: Sequence[bytes], parsed: ParsedSignatures) -> None:
        self.scheme = scheme
        self.keys = keys
        self.digests = parsed.digests

    def mac(self, key: bytes, message: bytes) -> bytes:
        return hmac.new(key, message, self.scheme.algorithm.value).digest()

    def signs(self, key: bytes, messages: Sequence[bytes]) -> bool:
        """Whether ``key`` signs one of ``messages`` as received."""
        if self.scheme.method is Method.ED25519:
            return _ed25519_verifies(key, messages, self.digests)
        for message in messages:
            mac = self.mac(key, message)
            if any(hmac.compare_digest(mac, digest) for digest in self.digests):
                return True
        return False

    def first(self, messages: Sequence[bytes]) -> int | None:
        """The index of the first key signing one of ``messages``, or None."""
        for index, key in enumerate(self.keys):
            if key and self.signs(key, messages):
                return index
        return None


def _ed25519_verifies(key: bytes, messages: Sequence[bytes], signatures: Sequence[bytes]) -> bool:
    public = Ed25519PublicKey.from_public_bytes(key)
    for message in messages:
        for signature in signatures:
            try:
                public.verify(signature, message)
            except InvalidSignature:
                continue
            return True
    return False


def _variants(scheme: Scheme, body: bytes, url: str | None) -> Iterator[Variant]:
    placeholders = scheme.placeholders
    if "body" in placeholders and len(body) <= MAX_BODY:
        yield from body_variants(body)
    if "url" in placeholders and url is not None:
        yield from url_changes(url)


def _body_hash(body: bytes, signed: str, param: str) -> str:
    for variant in body_variants(body) if len(body) <= MAX_BODY else iter(()):
        assert variant.body is not None
        if hashlib.sha256(variant.body).hexdigest() == signed:
            return f"the URL's {param} is the SHA-256 of {variant.what}: {variant.why}"
    return (
        f"the URL's {param} is the SHA-256 of other bytes: the body was changed before it"
        " arrived (or the URL is not the one the provider called)"
    )


def _encode(digest: bytes, encoding: Encoding) -> str:
    if encoding is Encoding.HEX:
        return digest.hex()
    if encoding is Encoding.BASE64URL:
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return base64.b64encode(digest).decode("ascii")


def _prefix(text: str, length: int) -> str:
    return text[:length]
