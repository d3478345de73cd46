"""Building the exact bytes a provider signed, from a ``Scheme.content`` template."""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

FormData = Mapping[str, str | Sequence[str]]

_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class Inputs:
    """The request parts a template may refer to (``None`` when not available)."""

    body: bytes
    ts: str | None = None
    id: str | None = None
    url: str | None = None
    form: FormData | None = None


def render(template: str, inputs: Inputs, urls: Sequence[str] | None = None) -> list[bytes]:
    """The signed content: one candidate per URL in ``urls`` (or one if the
    template has no ``{url}``).

    Raises ``ValueError`` if the template needs a URL and none was given;
    callers check ``ts``/``id`` presence before rendering.
    """
    if template == "{body}":  # most schemes: the body as received
        return [inputs.body]
    parsed = _parsed(template)
    if any(name == "url" for _, name, _, _ in parsed):
        if not urls:
            raise ValueError("this scheme signs the request URL: pass url=")
        return [_render_one(parsed, inputs, url) for url in urls]
    return [_render_one(parsed, inputs, None)]


@functools.lru_cache(maxsize=256)
def _parsed(template: str) -> tuple[tuple[str, str | None, str | None, str | None], ...]:
    """``template`` split into literals and fields (templates are few: per scheme)."""
    return tuple(string.Formatter().parse(template))


def _render_one(
    parsed: Sequence[tuple[str, str | None, str | None, str | None]],
    inputs: Inputs,
    url: str | None,
) -> bytes:
    out = bytearray()
    for literal, name, _, _ in parsed:
        out += literal.encode("utf-8")
        if name is None:
            continue
        if name == "body":
            out += inputs.body
        elif name == "url":
            out += (url or "").encode("utf-8")
        elif name == "form":
            out += form_string(inputs.form or {}).encode("utf-8")
        else:
            value = inputs.ts if name == "ts" else inputs.id
            out += (value or "").encode("utf-8")
    return bytes(out)


def form_string(form: FormData) -> str:
    """Form parameters as Twilio signs them: names sorted, each name's distinct
    values sorted, concatenated as ``name + value`` with no separators."""
    parts: list[str] = []
    for name in sorted(set(form)):
        raw = form[name]
        values = [raw] if isinstance(raw, str) else list(raw)
        parts.extend(name + value for value in sorted(set(values)))
    return "".join(parts)


def url_variants(url: str, with_ports: bool) -> list[str]:
    """``[url]``, plus (``with_ports``) the same URL with its default port
    removed if present or added if absent, as Twilio's validator tries both."""
    if not with_ports:
        return [url]
    parsed = urlparse(url)
    host = parsed.netloc.rsplit("@", 1)[-1]
    userinfo = parsed.netloc[: len(parsed.netloc) - len(host)]
    if parsed.port:
        other = parsed._replace(netloc=userinfo + host.rsplit(":", 1)[0])
    else:
        port = _DEFAULT_PORTS.get(parsed.scheme, 80)
        other = parsed._replace(netloc=f"{parsed.netloc}:{port}")
    return list(dict.fromkeys([url, parsed.geturl(), other.geturl()]))


def query_param(url: str, name: str) -> str | None:
    """The first value of query parameter ``name`` in ``url``, if any."""
    values = parse_qs(urlparse(url).query, keep_blank_values=True).get(name)
    return values[0] if values else None
