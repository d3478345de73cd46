"""The consumer portal's endpoints: add, edit, delete, the signing secret
(reveal, rotate) and recovering failed messages.

Each change asks the grant first (``PortalGrant``): endpoints change only
with ``can_manage_endpoints``, the secret shows only with
``can_view_secret`` and rotates only with ``can_rotate_secret``, recovery
needs ``can_create_attempts``; a read-only link changes nothing (403 page).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from hookgate.api import schemas as s
from hookgate.api.deps import services
from hookgate.api.urlpolicy import url_problem
from hookgate.core.clock import now_ms
from hookgate.delivery import endpoint_actions
from hookgate.store import endpoints, event_types
from hookgate.store.messages import ListFilter, endpoint_messages
from hookgate.store.records import Endpoint, EventType
from hookgate.web import forms
from hookgate.web.routes.portal_common import after, portal_page, refuse_unless
from hookgate.web.sessions import PortalSession, portal

router = APIRouter(prefix="/portal/{app_id}/endpoints", include_in_schema=False)

_RECENT_MESSAGES = 10
#: How long the previous secret keeps signing after a rotation (Svix's default).
_ROTATION_GRACE_MS = 24 * 3600 * 1000
#: An event type name as the API accepts it (``schemas.base.NAME_PATTERN``).


@router.get("/new")
async def new_endpoint(request: Request, session: PortalSession = Depends(portal)) -> Response:
    refuse_unless(session.grant.can_manage_endpoints, "add endpoints")
    return await _form(request, session, None, {"url": "", "description": "", "types": []})


@router.post("")
async def create_endpoint(request: Request, session: PortalSession = Depends(portal)) -> Response:
    """Add an endpoint from the form; the form again (422) with what is wrong."""
    refuse_unless(session.grant.can_manage_endpoints, "add endpoints")
    values = await _form_values(request)
    fields, problem = _checked(request, values)
    if fields is None:
        return await _form(request, session, None, values, problem, 422)
    ep = await endpoints.create(services(request).db, session.grant.app_id, fields, now_ms())
    return _go(after(f"/portal/{session.grant.app_id}/endpoints/{ep.id}", "created"))


@router.get("/{endpoint_id}")
async def endpoint_detail(
    request: Request, endpoint_id: str, session: PortalSession = Depends(portal)
) -> Response:
    return await _detail(request, session, endpoint_id)


@router.get("/{endpoint_id}/edit")
async def edit_endpoint(
    request: Request, endpoint_id: str, session: PortalSession = Depends(portal)
) -> Response:
    refuse_unless(session.grant.can_manage_endpoints, "change endpoints")
    ep = await endpoints.get(services(request).db, session.grant.app_id, endpoint_id)
    values = {"url": ep.url, "description": ep.description, "types": ep.event_types or []}
    return await _form(request, session, ep, values)


@router.post("/{endpoint_id}")
async def update_endpoint(
    request: Request, endpoint_id: str, session: PortalSession = Depends(portal)
) -> Response:
    refuse_unless(session.grant.can_manage_endpoints, "change endpoints")
    db = services(request).db
    app_id = session.grant.app_id
    ep = await endpoints.get(db, app_id, endpoint_id)
    values = await _form_values(request)
    fields, problem = _checked(request, values)
    if fields is None:
        return await _form(request, session, ep, values, problem, 422)
    changes = {key: fields[key] for key in ("url", "description", "event_types")}
    await endpoints.update_fields(db, app_id, ep.id, changes, now_ms())
    return _go(after(f"/portal/{app_id}/endpoints/{ep.id}", "updated"))


@router.post("/{endpoint_id}/disable")
async def disable_endpoint(
    request: Request, endpoint_id: str, session: PortalSession = Depends(portal)
) -> Response:
    """Stop deliveries to the endpoint; its messages wait until it is enabled."""
    return await _set_disabled(request, session, endpoint_id, disabled=True)


@router.post("/{endpoint_id}/enable")
async def enable_endpoint(
    request: Request, endpoint_id: str, session: PortalSession = Depends(portal)
) -> Response:
    """Deliver to the endpoint again (a failure streak that disabled it is
    forgotten: ``store.endpoints.update_fields``)."""
    return await _set_disabled(request, session, endpoint_id, disabled=False)


async def _set_disabled(
    request: Request, session: PortalSession, endpoint_id: str, *, disabled: bool
) -> Response:
    refuse_unless(session.grant.can_manage_endpoints, "enable or disable endpoints")
    db = services(request).db
    app_id = session.grant.app_id
    ep = await endpoints.get(db, app_id, endpoint_id)
    await endpoints.update_fields(db, app_id, ep.id, {"disabled": disabled}, now_ms())
    done = "disabled" if disabled else "enabled"
    return _go(after(f"/portal/{app_id}/endpoints/{ep.id}", done))


@router.get("/{endpoint_id}/delete")
async def confirm_delete(
    request: Request, endpoint_id: str, session: PortalSession = Depends(portal)
) -> Response:
    """Ask before deleting: the endpoint and its delivery history go."""
    refuse_unless(session.grant.can_manage_endpoints, "delete endpoints")
    ep = await endpoints.get(services(request).db, session.grant.app_id, endpoint_id)
    return await portal_page(request, session, "portal_endpoint_delete.html", {"endpoint": ep})


@router.post("/{endpoint_id}/delete")
async def delete_endpoint(
    request: Request, endpoint_id: str, session: PortalSession = Depends(portal)
) -> Response:
    refuse_unless(session.grant.can_manage_endpoints, "delete endpoints")
    app_id = session.grant.app_id
    await endpoints.delete_endpoint(services(request).db, app_id, endpoint_id, now_ms())
    return _go(after(f"/portal/{app_id}", "deleted"))


@router.get("/{endpoint_id}/secret")
async def reveal_secret(
    request: Request, endpoint_id: str, session: PortalSession = Depends(portal)
) -> Response:
    """The current signing secret (a fragment the reveal button swaps in)."""
    refuse_unless(session.grant.can_view_secret, "see signing secrets")
    ep = await endpoints.get(services(request).db, session.grant.app_id, endpoint_id)
    return await portal_page(
        request, session, "partials/portal_secret.html", {"secret": ep.secrets[0].key}
    )


@router.post("/{endpoint_id}/secret/rotate")
async def rotate_secret(
    request: Request, endpoint_id: str, session: PortalSession = Depends(portal)
) -> Response:
    refuse_unless(session.grant.can_rotate_secret, "rotate signing secrets")
    app_id = session.grant.app_id
    ep = await endpoints.get(services(request).db, app_id, endpoint_id)
    await endpoints.rotate_secret(
        services(request).db, app_id, ep.id, None, _ROTATION_GRACE_MS, now_ms()
    )
    return _go(after(f"/portal/{app_id}/endpoints/{ep.id}", "rotated"))


@router.post("/{endpoint_id}/recover")
async def recover(
    request: Request, endpoint_id: str, session: PortalSession = Depends(portal)
) -> Response:
    """Send again every failed message to this endpoint since the time given
    (``since``, UTC)."""
    refuse_unless(session.grant.can_create_attempts, "send messages again")
    svc = services(request)
    app_id = session.grant.app_id
    ep = await endpoints.get(svc.db, app_id, endpoint_id)
    form = await request.form()
    since = forms.utc_ms(str(form.get("since") or ""))
    if since is None:
        problem = "Give the time to recover from, e.g. 2026-12-01 14:30 (UTC)."
        return await _detail(request, session, ep.id, problem, 422)
    await endpoint_actions.recover(svc.engine, app_id, ep.id, since, None, now_ms())
    return _go(after(f"/portal/{app_id}/endpoints/{ep.id}", "recovered"))


@router.post("/{endpoint_id}/send-example")
async def send_example(
    request: Request, endpoint_id: str, session: PortalSession = Depends(portal)
) -> Response:
    """Send this endpoint alone an example message of the event type chosen
    (its schema's example), then show that message."""
    refuse_unless(session.grant.can_create_attempts, "send example events")
    svc = services(request)
    app_id = session.grant.app_id
    ep = await endpoints.get(svc.db, app_id, endpoint_id)
    form = await request.form()
    event_type = str(form.get("event_type") or "").strip()
    if not forms.is_event_type(event_type):
        problem = "Choose the event type of the example to send."
        return await _detail(request, session, ep.id, problem, 422)
    msg = await endpoint_actions.send_example(svc.engine, app_id, ep.id, event_type)
    return _go(after(f"/portal/{app_id}/messages/{msg.id}", "example"))


def _go(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


async def _detail(
    request: Request,
    session: PortalSession,
    endpoint_id: str,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    db = services(request).db
    app_id = session.grant.app_id
    ep = await endpoints.get(db, app_id, endpoint_id)
    recent = await endpoint_messages(
        db, app_id, ep.id, ListFilter(), iterator=None, limit=_RECENT_MESSAGES
    )
    return await portal_page(
        request,
        session,
        "portal_endpoint.html",
        {
            "endpoint": ep,
            "recent": recent.items,
            "more": not recent.done,
            "problem": problem,
            "example_types": ep.event_types or await _catalogue_names(request),
        },
        status_code,
    )


async def _catalogue_names(request: Request) -> list[str]:
    catalogue = await event_types.list_page(
        services(request).db, iterator=None, limit=250, descending=False, include_archived=False
    )
    return [et.name for et in catalogue.items]


async def _form_values(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {
        "url": str(form.get("url") or "").strip(),
        "description": str(form.get("description") or "").strip(),
        "types": [str(name) for name in form.getlist("event_types") if str(name)],
    }


def _checked(request: Request, values: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The endpoint fields of the form's ``values`` as the API would accept
    them, or ``(None, why not)``."""
    try:
        body = s.EndpointUpdate.model_validate(
            {
                "url": values["url"],
                "description": values["description"],
                "eventTypes": values["types"] or None,
            }
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = {"url": "URL", "eventTypes": "Event types"}.get(str(error["loc"][0]), "Form")
        return None, f"{field}: {error['msg']}"
    problem = url_problem(body.url, services(request).settings)
    if problem is not None:
        return None, f"URL: {problem}"
    return body.model_dump(), None


async def _form(
    request: Request,
    session: PortalSession,
    ep: Endpoint | None,
    values: dict[str, Any],
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    catalogue = await event_types.list_page(
        services(request).db, iterator=None, limit=250, descending=False, include_archived=False
    )
    return await portal_page(
        request,
        session,
        "portal_endpoint_form.html",
        {
            "endpoint": ep,
            "values": values,
            "problem": problem,
            "catalogue": _with_chosen(
                [_catalogue_entry(et) for et in catalogue.items], values["types"]
            ),
        },
        status_code,
    )


def _with_chosen(entries: list[dict[str, Any]], chosen: list[str]) -> list[dict[str, Any]]:
    """``entries`` plus the chosen event types they lack (archived, or never
    described), so that saving the form keeps them."""
    known = {entry["name"] for entry in entries}
    missing = [
        {
            "name": name,
            "description": "Not in the event type catalogue.",
            "deprecated": False,
            "schema": None,
            "example": None,
        }
        for name in chosen
        if name not in known
    ]
    return entries + missing


def _catalogue_entry(et: EventType) -> dict[str, Any]:
    """An event type as the form shows it: its newest schema and an example."""
    schemas = et.schemas or {}
    schema = schemas[max(schemas)] if schemas else None
    examples = schema.get("examples") if isinstance(schema, dict) else None
    example = examples[0] if isinstance(examples, list) and examples else None
    return {
        "name": et.name,
        "description": et.description,
        "deprecated": et.deprecated,
        "schema": schema,
        "example": example,
    }
