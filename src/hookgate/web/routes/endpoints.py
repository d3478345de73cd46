"""``/apps/{app_id}/endpoints/{endpoint_id}``: one endpoint, its health in
detail, its newest deliveries, and what an operator does to it.

Every action is a POST with the session's CSRF token (checked by
``operator``) that does what the equivalent API call does, through the same
functions, then redirects back with a notice (``?done=``): enable and
disable (``PATCH .../endpoint``), rotate the secret (``.../secret/rotate``,
default grace period), recover failed messages (``.../recover``), send an
example event (``.../send-example``). Revealing the secret is a POST too,
answered with a fragment that htmx puts in the page: the secret is never in
the page until asked for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from hookgate.api.deps import Services, services
from hookgate.core import ids
from hookgate.core.attempt_explain import explain
from hookgate.core.clock import DAY_MS, now_ms
from hookgate.delivery import endpoint_actions
from hookgate.store import applications, endpoint_activity, endpoints, event_types
from hookgate.store.records import Application, Endpoint
from hookgate.web import forms
from hookgate.web.attempts_view import status_name
from hookgate.web.routes.apps import NOTICES, endpoint_health
from hookgate.web.sessions import OperatorSession, operator
from hookgate.web.templating import page, templates

router = APIRouter(include_in_schema=False)

#: Attempts the endpoint page looks at, and deliveries it lists.
RECENT_ATTEMPTS = 100
RECENT_DELIVERIES = 25
#: As the API's ``EndpointSecretRotateIn`` when no grace period is given.
ROTATE_GRACE_MS = DAY_MS

_PATH = "/apps/{app_id}/endpoints/{endpoint_id}"


async def _find(svc: Services, app_id: str, endpoint_id: str) -> tuple[Application, Endpoint]:
    app = await applications.get(svc.db, app_id)
    return app, await endpoints.get(svc.db, app.id, endpoint_id)


def _url(ep: Endpoint, **query: str) -> str:
    path = f"/apps/{ep.app_id}/endpoints/{ep.id}"
    return f"{path}?{urlencode(query)}" if query else path


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.get(_PATH)
async def show_endpoint(
    request: Request,
    app_id: str,
    endpoint_id: str,
    done: str | None = None,
    count: str | None = None,
    msg: str | None = None,
    before: str | None = None,
    session: OperatorSession = Depends(operator),
) -> Response:
    """The endpoint; ``before``: list the deliveries older than this one."""
    if before is not None and not ids.looks_like_id(before, ids.DELIVERY):
        raise HTTPException(400, "The list of messages was asked to start at an unknown place.")
    svc = services(request)
    app, ep = await _find(svc, app_id, endpoint_id)
    notice = NOTICES.get(done or "")
    if done == "recovered" and count is not None and count.isdigit():
        notice = f"{count} failed message{'' if count == '1' else 's'} queued again."
    sent = msg if done == "example" and msg and ids.looks_like_id(msg, ids.MESSAGE) else None
    return await _endpoint_page(
        request, svc, session, app, ep, notice=notice, sent_msg_id=sent, before=before
    )


async def _endpoint_page(
    request: Request,
    svc: Services,
    session: OperatorSession,
    app: Application,
    ep: Endpoint,
    *,
    notice: str | None = None,
    sent_msg_id: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    before: str | None = None,
) -> Response:
    [health] = await endpoint_health(svc, [ep], recent=RECENT_ATTEMPTS)
    failed = next((a for a in health.recent if a.status != 0), None)
    now = now_ms()
    deliveries = await endpoint_activity.recent_deliveries(
        svc.db, ep.id, limit=RECENT_DELIVERIES, before=before
    )
    catalogue = await event_types.list_page(
        svc.db, iterator=None, limit=50, descending=False, include_archived=False
    )
    suggestions = ep.event_types or [et.name for et in catalogue.items]
    context: dict[str, Any] = {
        "csrf_token": session.csrf_token,
        "app": app,
        "ep": ep,
        "health": health,
        "last_failure": failed,
        "last_failure_text": explain(failed).sentence if failed else None,
        "deliveries": deliveries,
        "older_url": _url(ep, before=deliveries[-1].delivery.id)
        if len(deliveries) == RECENT_DELIVERIES
        else None,
        "newest_url": _url(ep) if before else None,
        "status_name": status_name,
        "notice": notice,
        "sent_msg_id": sent_msg_id,
        "errors": errors or {},
        "values": {
            "since": datetime.fromtimestamp((now - DAY_MS) / 1000, UTC).strftime("%Y-%m-%dT%H:%M"),
            "event_type": suggestions[0] if suggestions else "",
            **(values or {}),
        },
        "suggestions": suggestions,
    }
    return page(request, "endpoint.html", context, status_code=400 if errors else 200)


async def _set_disabled(
    request: Request, app_id: str, endpoint_id: str, disabled: bool
) -> Response:
    svc = services(request)
    app, ep = await _find(svc, app_id, endpoint_id)
    await endpoints.update_fields(svc.db, app.id, ep.id, {"disabled": disabled}, now_ms())
    done = "disabled" if disabled else "enabled"
    form = await _form(request)
    if form.get("back") == "app":
        target = f"/apps/{app.id}?{urlencode({'done': done})}#ep-{ep.id}"
    else:
        target = _url(ep, done=done)
    return RedirectResponse(target, status_code=303)


@router.post(_PATH + "/disable")
async def disable(
    request: Request, app_id: str, endpoint_id: str, _: OperatorSession = Depends(operator)
) -> Response:
    """Disable the endpoint (like ``PATCH`` with ``disabled: true``)."""
    return await _set_disabled(request, app_id, endpoint_id, True)


@router.post(_PATH + "/enable")
async def enable(
    request: Request, app_id: str, endpoint_id: str, _: OperatorSession = Depends(operator)
) -> Response:
    """Enable the endpoint; as through the API, its failure streak restarts."""
    return await _set_disabled(request, app_id, endpoint_id, False)


@router.post(_PATH + "/secret")
async def reveal_secret(
    request: Request, app_id: str, endpoint_id: str, _: OperatorSession = Depends(operator)
) -> Response:
    """The current signing secret, as a fragment (``GET .../secret``)."""
    _app, ep = await _find(services(request), app_id, endpoint_id)
    response = templates.TemplateResponse(
        request, "partials/apps_secret.html", {"secret": ep.secrets[0].key}
    )
    response.headers["cache-control"] = "no-store"
    return response


@router.post(_PATH + "/secret/rotate")
async def rotate_secret(
    request: Request, app_id: str, endpoint_id: str, _: OperatorSession = Depends(operator)
) -> Response:
    """A new generated secret; the previous one keeps signing for a day."""
    svc = services(request)
    app, ep = await _find(svc, app_id, endpoint_id)
    await endpoints.rotate_secret(svc.db, app.id, ep.id, None, ROTATE_GRACE_MS, now_ms())
    return RedirectResponse(_url(ep, done="rotated"), status_code=303)


@router.post(_PATH + "/recover")
async def recover(
    request: Request,
    app_id: str,
    endpoint_id: str,
    session: OperatorSession = Depends(operator),
) -> Response:
    """Queue again the failed messages to this endpoint since a time."""
    svc = services(request)
    app, ep = await _find(svc, app_id, endpoint_id)
    form = await _form(request)
    since = forms.utc_ms(form.get("since", ""))
    if since is None:
        return await _endpoint_page(
            request,
            svc,
            session,
            app,
            ep,
            errors={"since": "Give the time to recover from, like 2026-12-01T09:30 (UTC)."},
            values={"since": form.get("since", "")},
        )
    count = await endpoint_actions.recover(svc.engine, app.id, ep.id, since, None, now_ms())
    return RedirectResponse(_url(ep, done="recovered", count=str(count)), status_code=303)


@router.post(_PATH + "/send-example")
async def send_example(
    request: Request,
    app_id: str,
    endpoint_id: str,
    session: OperatorSession = Depends(operator),
) -> Response:
    """Send the example of an event type to this endpoint alone."""
    svc = services(request)
    app, ep = await _find(svc, app_id, endpoint_id)
    form = await _form(request)
    event_type = form.get("event_type", "").strip()
    if not forms.is_event_type(event_type):
        return await _endpoint_page(
            request,
            svc,
            session,
            app,
            ep,
            errors={
                "event_type": "An event type is a name of letters, digits, '.', '-' and '_',"
                " like invoice.paid."
            },
            values={"event_type": event_type},
        )
    message = await endpoint_actions.send_example(svc.engine, app.id, ep.id, event_type)
    return RedirectResponse(_url(ep, done="example", msg=message.id), status_code=303)
