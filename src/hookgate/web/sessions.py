"""Browser sessions: who a page request is, and CSRF protection.

An operator logs in at ``/login`` with an API token; a consumer opens a
portal link whose token (in the URL fragment, so no server ever logs it) the
page exchanges for a session. Either way the browser then holds only a random
secret in an HttpOnly, SameSite=Strict cookie (Secure over TLS); the store
keeps its hash (``store.web_sessions``), so logging out, revoking the API
token or expiring the portal token ends the session at once, in every process.

Every form and every htmx request that changes something carries the
session's CSRF token (``csrf_token``: a form field or the ``X-CSRF-Token``
header, which the base template sets for htmx); it is an HMAC of the cookie
secret, so a page of another site can neither read nor forge it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response

from hookgate.api.deps import Services, services
from hookgate.core.clock import now_ms
from hookgate.core.portal import PortalGrant
from hookgate.store import web_sessions
from hookgate.store.tokens import hash_token

OPERATOR_COOKIE = "hookgate_session"
PORTAL_COOKIE = "hookgate_portal"
#: The double-submit cookie of the login form (there is no session yet).
LOGIN_CSRF_COOKIE = "hookgate_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token_for(secret: str) -> str:
    """The CSRF token of the session whose cookie holds ``secret``."""
    return hmac.new(secret.encode(), b"hookgate csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class OperatorSession:
    """A logged-in operator: may see and do everything the API allows."""

    id: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class PortalSession:
    """A consumer in the portal of one application (``grant.app_id``)."""

    grant: PortalGrant
    csrf_token: str


class LoginRequired(Exception):
    """No valid session: send the browser to ``login_url``."""

    def __init__(self, login_url: str) -> None:
        super().__init__(login_url)
        self.login_url = login_url


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token."""


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, path: str, max_age: int
) -> None:
    """Set a session cookie: HttpOnly, SameSite=Strict, Secure over TLS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default`` (no open
    redirect to another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_url_for(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(here, safe="")


async def _check_csrf(request: Request, expected: str) -> None:
    if request.method in _SAFE_METHODS:
        return
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        form = await request.form()
        value: Any = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if presented is None or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise CsrfRejected


def _admin_token_hash(svc: Services) -> str | None:
    admin = svc.settings.admin_token
    return None if admin is None else hash_token(admin)


async def operator(request: Request) -> OperatorSession:
    """Dependency of every dashboard page: the logged-in operator, or
    ``LoginRequired``; a state-changing request must carry the CSRF token
    (``CsrfRejected`` otherwise)."""
    svc = services(request)
    secret = request.cookies.get(OPERATOR_COOKIE)
    session_id = None
    if secret:
        session_id = await web_sessions.find_operator(
            svc.db, secret, now_ms(), _admin_token_hash(svc)
        )
    if secret is None or session_id is None:
        raise LoginRequired(login_url_for(request))
    csrf = csrf_token_for(secret)
    await _check_csrf(request, csrf)
    return OperatorSession(id=session_id, csrf_token=csrf)


async def portal(request: Request) -> PortalSession:
    """Dependency of every portal page below ``/portal/{app_id}/``: the
    consumer's session, which must be for that very application."""
    svc = services(request)
    app_id = request.path_params.get("app_id")
    secret = request.cookies.get(PORTAL_COOKIE)
    grant = None
    if secret:
        grant = await web_sessions.find_portal(svc.db, secret, now_ms())
    if secret is None or grant is None or grant.app_id != app_id:
        raise LoginRequired(f"/portal/{quote(str(app_id), safe='')}")
    csrf = csrf_token_for(secret)
    await _check_csrf(request, csrf)
    return PortalSession(grant=grant, csrf_token=csrf)
