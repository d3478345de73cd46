"""Rendering pages: the Jinja2 environment, its filters, and the headers every
page carries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from hookgate.core.attempt_explain import human_duration
from hookgate.web.sessions import CSRF_FIELD

#: No script, style or frame from anywhere but this server; nothing inline.
_SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
        " connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def timestamp(ms: int | None) -> str:
    """Epoch milliseconds as ``2026-12-02 01:53:47 UTC``."""
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_timestamp(ms: int | None) -> str:
    """Epoch milliseconds in ISO 8601 (for ``<time datetime=...>``)."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def duration(ms: float | None) -> str:
    """A duration for people (``core.attempt_explain.human_duration``)."""
    return "—" if ms is None else human_duration(round(ms))


def gist(text: str, limit: int = 140) -> str:
    """The first sentence of ``text``, at most ``limit`` characters (cut
    with an ellipsis): for a list row whose detail page has the rest."""
    first, stop, _ = text.partition(". ")
    short = first + ("." if stop else "")
    return short if len(short) <= limit else short[: limit - 1].rstrip() + "…"


def byte_size(size: int | None) -> str:
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def pretty_json(value: Any) -> str:
    """``value`` (parsed JSON, or JSON text) indented; other text unchanged."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def hexdump(data: bytes, width: int = 16) -> str:
    """Bytes as an offset / hex / ASCII dump, ``width`` bytes a line."""
    lines = []
    for offset in range(0, len(data), width):
        chunk = data[offset : offset + width]
        hex_part = " ".join(f"{byte:02x}" for byte in chunk)
        text = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in chunk)
        lines.append(f"{offset:08x}  {hex_part:<{width * 3 - 1}}  {text}")
    return "\n".join(lines)


def body_text(data: bytes | None) -> tuple[str, bool]:
    """How to show a body: ``(text, False)`` if it is UTF-8 text (JSON
    pretty-printed), else ``(hexdump, True)``."""
    if not data:
        return "", False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return hexdump(data), True
    if any(ord(char) < 32 and char not in "\r\n\t" for char in text):
        return hexdump(data), True
    return pretty_json(text), False


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hookgate.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        timestamp=timestamp,
        iso_timestamp=iso_timestamp,
        duration=duration,
        byte_size=byte_size,
        gist=gist,
        pretty_json=pretty_json,
        hexdump=hexdump,
    )
    env.globals.update(csrf_field_name=CSRF_FIELD, body_text=body_text)
    return env


templates = Jinja2Templates(env=_environment())


def page(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render ``template`` with ``context`` (plus ``request``) as a page with
    the security headers every page carries."""
    response = templates.TemplateResponse(request, template, context or {}, status_code=status_code)
    response.headers.update(_SECURITY_HEADERS)
    return response
