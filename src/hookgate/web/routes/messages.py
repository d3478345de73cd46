"""The operator's message pages: ``/apps/{app_id}/msg`` (search) and
``/apps/{app_id}/msg/{msg_id}`` (one message, its deliveries and attempts,
Resend).

The search is a plain GET form (the results also update in place through
htmx, which fetches the same page and keeps its ``#results``); bad filter
values give the page again with a message. Unknown applications and
messages give the 404 page (``NotFound`` from the store).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from hookgate.api.deps import services
from hookgate.core.clock import now_ms
from hookgate.store import applications, message_search
from hookgate.store import messages as message_store
from hookgate.store.errors import NotFound
from hookgate.store.message_search import MessageQuery, Outcome
from hookgate.store.pagination import DEFAULT_LIMIT
from hookgate.store.records import Application, Endpoint, Message
from hookgate.web import forms
from hookgate.web.attempts_view import attempts_context, message_attempts
from hookgate.web.sessions import OperatorSession, operator
from hookgate.web.templating import page

router = APIRouter(include_in_schema=False)

#: The search form's fields, in the order they appear in URLs.
_FIELDS = ("q", "event_type", "channel", "tag", "after", "before", "outcome")
_MAX_TEXT = 256
#: What a paging cursor looks like (a message id, ``-`` in front going back).
_ITERATOR = re.compile(r"-?[A-Za-z0-9_]{1,64}")


class BadFilter(ValueError):
    """A filter value the search cannot use; the message says which and why."""


@dataclass(frozen=True, slots=True)
class SearchForm:
    """The search form as sent (strings, for filling the form back in)."""

    values: dict[str, str]

    @classmethod
    def from_request(cls, request: Request) -> SearchForm:
        params = request.query_params
        return cls({name: params.get(name, "").strip() for name in _FIELDS})

    def query(self) -> MessageQuery:
        """The store query; ``BadFilter`` for a value it cannot be."""
        v = self.values
        for name, value in v.items():
            if len(value) > _MAX_TEXT:
                raise BadFilter(f"The {name} filter is too long (at most {_MAX_TEXT} characters).")
            if "\x00" in value:
                raise BadFilter(f"The {name} filter contains a NUL character.")
        outcome = None
        if v["outcome"]:
            try:
                outcome = Outcome(v["outcome"])
            except ValueError:
                raise BadFilter(f"There is no outcome {v['outcome']!r}.") from None
        after, before = _time(v["after"], "after"), _time(v["before"], "before")
        if after is not None and before is not None and after >= before:
            raise BadFilter("The 'after' time must be earlier than the 'before' time.")
        event_types = [t for t in v["event_type"].replace(",", " ").split() if t]
        return MessageQuery(
            ref=v["q"] or None,
            event_types=event_types or None,
            channel=v["channel"] or None,
            tag=v["tag"] or None,
            after=after,
            before=before,
            outcome=outcome,
        )

    def url(self, base: str, iterator: str | None = None) -> str:
        params = [(name, value) for name, value in self.values.items() if value]
        if iterator:
            params.append(("iterator", iterator))
        return f"{base}?{urlencode(params)}" if params else base


def _time(text: str, name: str) -> int | None:
    """A form time (``datetime-local`` value or ISO 8601; UTC unless it says
    otherwise) as epoch ms."""
    if not text:
        return None
    moment = forms.utc_ms(text)
    if moment is None:
        raise BadFilter(f"The '{name}' time {text!r} is not a date and time like 2026-12-02T01:30.")
    return moment


def _checked(what: str, ref: str) -> None:
    """``NotFound(what)`` for an id no record can have: PostgreSQL refuses
    NUL in text, and the page should say "not found" on either database."""
    if "\x00" in ref:
        raise NotFound(what)


def _app_base(app_id: str) -> str:
    return f"/apps/{quote(app_id, safe='')}"


def _message_base(app_id: str, msg_id: str) -> str:
    return f"{_app_base(app_id)}/msg/{quote(msg_id, safe='')}"


@router.get("/apps/{app_id}/msg")
async def search(
    request: Request, app_id: str, session: OperatorSession = Depends(operator)
) -> Response:
    svc = services(request)
    _checked("Application", app_id)
    app = await applications.get(svc.db, app_id)
    form = SearchForm.from_request(request)
    base = f"{_app_base(app.id)}/msg"
    iterator = request.query_params.get("iterator") or None
    if iterator is not None and not _ITERATOR.fullmatch(iterator):
        iterator = None  # not one of ours: start from the newest
    context = {
        "csrf_token": session.csrf_token,
        "app": app,
        "form": form.values,
        "outcomes": [o.value for o in Outcome],
        "search_url": base,
        "error": None,
        "results": [],
        "next_url": None,
        "prev_url": None,
    }
    try:
        query = form.query()
    except BadFilter as bad:
        context["error"] = str(bad)
        # htmx leaves a 4xx answer unswapped, so its requests see the message
        # in a 200; a plain form gets the honest 400.
        status = 200 if request.headers.get("hx-request") else 400
        return page(request, "messages.html", context, status_code=status)
    found = await message_search.search_messages(
        svc.db, app.id, query, iterator=iterator, limit=DEFAULT_LIMIT
    )
    context["results"] = found.items
    if not found.done and found.iterator:
        context["next_url"] = form.url(base, found.iterator)
    if iterator and found.prev_iterator:
        context["prev_url"] = form.url(base, found.prev_iterator)
    return page(request, "messages.html", context)


async def _attempts(
    request: Request, app_id: str, msg_id: str, session: OperatorSession
) -> tuple[Application, Message, dict[str, Any]]:
    """The application, the message and the attempts partial's context."""
    svc = services(request)
    _checked("Application", app_id)
    _checked("Message", msg_id)
    app = await applications.get(svc.db, app_id)
    msg = await message_store.get_message(svc.db, app.id, msg_id)
    base = _message_base(app.id, msg.id)

    def resend_url(endpoint: Endpoint) -> str:
        return f"{base}/endpoint/{quote(endpoint.id, safe='')}/resend"

    view = await message_attempts(svc.db, app.id, msg.id, resend_url=resend_url)
    context = attempts_context(view, poll_url=f"{base}/attempts", csrf_token=session.csrf_token)
    return app, msg, context


async def _detail(
    request: Request,
    app_id: str,
    msg_id: str,
    session: OperatorSession,
    *,
    resent: str | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    """The message page; ``resent``: the id of the endpoint just resent to,
    named in a notice."""
    app, msg, attempts = await _attempts(request, app_id, msg_id, session)
    notice = None
    if resent:
        urls = [d.endpoint.url for d in attempts["destinations"] if d.endpoint.id == resent]
        target = urls[0] if urls else "the endpoint"
        notice = f"Queued again for {target}: its new attempt appears below."
    context = {
        "csrf_token": session.csrf_token,
        "app": app,
        "msg": msg,
        "search_url": f"{_app_base(app.id)}/msg",
        "notice": notice,
        "problem": problem,
        **attempts,
    }
    return page(request, "message.html", context, status_code=status_code)


@router.get("/apps/{app_id}/msg/{msg_id}")
async def detail(
    request: Request,
    app_id: str,
    msg_id: str,
    resent: str | None = None,
    session: OperatorSession = Depends(operator),
) -> Response:
    return await _detail(request, app_id, msg_id, session, resent=resent)


@router.get("/apps/{app_id}/msg/{msg_id}/attempts")
async def attempts_partial(
    request: Request, app_id: str, msg_id: str, session: OperatorSession = Depends(operator)
) -> Response:
    """The attempts part of the message page alone, for its live updates."""
    _, _, context = await _attempts(request, app_id, msg_id, session)
    return page(request, "partials/attempts.html", context)


@router.post("/apps/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend")
async def resend(
    request: Request,
    app_id: str,
    msg_id: str,
    endpoint_id: str,
    session: OperatorSession = Depends(operator),
) -> Response:
    """Queue the message for the endpoint again (as the API's resend does),
    then back to the message page, which follows the new attempt live."""
    svc = services(request)
    _checked("Application", app_id)
    _checked("Message", msg_id)
    app = await applications.get(svc.db, app_id)
    msg = await message_store.get_message(svc.db, app.id, msg_id)
    if msg.payload is None:
        return await _detail(
            request,
            app.id,
            msg.id,
            session,
            problem="This message's content was removed, so it cannot be sent again.",
            status_code=409,
        )
    try:
        _checked("Endpoint", endpoint_id)
        await message_store.resend(svc.db, app.id, msg.id, endpoint_id, now_ms())
    except NotFound as missing:
        return await _detail(
            request,
            app.id,
            msg.id,
            session,
            problem=f"Nothing was resent: {missing}.",
            status_code=404,
        )
    await svc.engine.wake()
    target = f"{_message_base(app.id, msg.id)}?{urlencode({'resent': endpoint_id})}"
    return RedirectResponse(target, status_code=303)
