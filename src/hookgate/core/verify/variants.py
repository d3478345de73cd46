"""How received content gets changed on the way, for ``diagnose``: the
body re-serialised, its newline or line endings changed (``body_variants``),
and the URL a proxy rewrote (``url_changes``). Each ``Variant`` says what was
changed and the likely cause. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hookgate.core import jsondepth


@dataclass(frozen=True)
class Variant:
    """Content that differs from what was received in one known way."""

    #: what was changed, as "the body with its trailing newline removed"
    what: str
    #: the likely cause, as "something between the provider and Hookgate added one"
    why: str
    body: bytes | None = None
    url: str | None = None


def body_variants(body: bytes) -> Iterator[Variant]:
    """``body`` changed in the ways bodies get changed on the way, each once."""
    seen = {body}

    def fresh(candidate: bytes) -> bool:
        if candidate in seen:
            return False
        seen.add(candidate)
        return True

    if body.endswith(b"\n"):
        stripped = body[:-2] if body.endswith(b"\r\n") else body[:-1]
        if fresh(stripped):
            yield Variant(
                "the body with its trailing newline removed",
                "something between the provider and Hookgate added one",
                body=stripped,
            )
    elif fresh(body + b"\n"):
        yield Variant(
            "the body with a trailing newline added",
            "something between the provider and Hookgate removed it",
            body=body + b"\n",
        )
    if b"\r\n" in body:
        lf = body.replace(b"\r\n", b"\n")
        if fresh(lf):
            yield Variant(
                "the body with LF line endings",
                "something between the provider and Hookgate turned them into CRLF",
                body=lf,
            )
    elif b"\n" in body:
        crlf = body.replace(b"\n", b"\r\n")
        if fresh(crlf):
            yield Variant(
                "the body with CRLF line endings",
                "something between the provider and Hookgate turned them into LF",
                body=crlf,
            )
    document = _json(body)
    if document is None:
        return
    why = (
        "the JSON was re-serialised between the provider and Hookgate (by a relay such as"
        " smee, a proxy, or code that parses and re-encodes it): pass the raw bytes on unchanged"
    )
    for what, encode in _JSON_FORMS:
        try:
            candidate = encode(document).encode("utf-8")
        except (ValueError, RecursionError):
            continue
        if fresh(candidate):
            yield Variant(f"the body re-serialised as {what}", why, body=candidate)


_JSON_FORMS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    (
        "compact JSON (no spaces)",
        lambda d: json.dumps(d, separators=(",", ":"), ensure_ascii=False),
    ),
    ("JSON with a space after each , and :", lambda d: json.dumps(d, ensure_ascii=False)),
    (
        "compact JSON with sorted keys",
        lambda d: json.dumps(d, separators=(",", ":"), ensure_ascii=False, sort_keys=True),
    ),
    (
        "JSON with sorted keys and spaces",
        lambda d: json.dumps(d, ensure_ascii=False, sort_keys=True),
    ),
    ("JSON indented by 2 spaces", lambda d: json.dumps(d, ensure_ascii=False, indent=2)),
    ("compact JSON with \\u escapes", lambda d: json.dumps(d, separators=(",", ":"))),
    ("JSON with spaces and \\u escapes", json.dumps),
    ("JSON indented by 2 spaces with \\u escapes", lambda d: json.dumps(d, indent=2)),
)


def _json(body: bytes) -> Any:
    stripped = body.strip()
    if not stripped.startswith((b"{", b"[")):
        return None
    try:
        return jsondepth.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def url_changes(url: str) -> Iterator[Variant]:
    """``url`` with its scheme, default port and trailing slash varied (the
    usual differences between the URL a provider calls and the one a server
    behind a proxy sees)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return
    other_scheme = "https" if scheme == "http" else "http"
    host = parts.hostname or ""
    netloc_host = parts.netloc.rsplit("@", 1)[-1]
    bare = netloc_host.rsplit(":", 1)[0] if parts.port else netloc_host
    path = parts.path or "/"
    toggled = path[:-1] if path.endswith("/") and len(path) > 1 else path + "/"
    seen = {url}
    for new_scheme in (scheme, other_scheme):
        for netloc in (bare, netloc_host):
            for new_path in (parts.path, toggled):
                candidate = urlunsplit((new_scheme, netloc, new_path, parts.query, parts.fragment))
                if candidate in seen or not host:
                    continue
                seen.add(candidate)
                yield Variant(
                    f"the URL {candidate} (we used {url})",
                    "the provider signs a different URL, typical behind a proxy that changes"
                    " the scheme, port or path; set the source's publicUrl to it",
                    url=candidate,
                )
