"""``/login`` and ``/logout`` of the operator dashboard."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from hookgate.api.auth import Unauthenticated
from hookgate.api.deps import services
from hookgate.core.clock import now_ms
from hookgate.store import web_sessions
from hookgate.web.sessions import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    OPERATOR_COOKIE,
    OperatorSession,
    operator,
    safe_next,
    set_cookie,
)
from hookgate.web.templating import page

router = APIRouter(include_in_schema=False)

_LOGIN_FORM_S = 3600


def _login_page(request: Request, next_url: str, error: str | None, status: int) -> Response:
    login_csrf = secrets.token_urlsafe(24)
    response = page(
        request,
        "login.html",
        {"next": next_url, "error": error, "login_csrf": login_csrf},
        status_code=status,
    )
    set_cookie(
        response, request, LOGIN_CSRF_COOKIE, login_csrf, path="/login", max_age=_LOGIN_FORM_S
    )
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, safe_next(next), None, 200)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the pasted API token; on success start a session and go on to
    ``next``. The token is neither kept nor echoed: only its hash is stored."""
    form = await request.form()
    next_url = safe_next(str(form.get("next") or "/"))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    presented = str(form.get(CSRF_FIELD) or "")
    if not expected or not hmac.compare_digest(expected.encode(), presented.encode()):
        return _login_page(request, next_url, "The login form expired; please try again.", 403)
    token = str(form.get("token") or "").strip()
    svc = services(request)
    try:
        principal = await svc.tokens.authenticate(f"Bearer {token}")
    except Unauthenticated:
        principal = None
    if principal is None or principal.app_id is not None:
        return _login_page(request, next_url, "That token is not a valid API token.", 401)
    lifetime_s = int(svc.settings.session_hours * 3600)
    now = now_ms()
    secret = await web_sessions.create_operator(svc.db, token, now, now + lifetime_s * 1000)
    response = RedirectResponse(next_url, status_code=303)
    set_cookie(response, request, OPERATOR_COOKIE, secret, path="/", max_age=lifetime_s)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, _: OperatorSession = Depends(operator)) -> Response:
    secret = request.cookies.get(OPERATOR_COOKIE)
    if secret:
        await web_sessions.end(services(request).db, secret)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(OPERATOR_COOKIE, path="/")
    return response
