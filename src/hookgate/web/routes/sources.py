"""Inbound sources in the dashboard: ``/sources`` (the list),
``/sources/{source_id}`` (settings and received requests, live while open:
see ``web.routes.live``), ``/sources/{source_id}/requests/{request_id}`` (one
request, byte for byte) and its Replay button.

Everything is read through the same store functions as the ingest API
(``store.sources``, ``store.inbound_search``) and replayed through the same
function (``inbound.replay``). No secret is shown: ingest URLs show
``<token>`` instead of the source's token (stored request paths never hold
it), the config is the API's public view, and credential headers are
redacted as in the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from hookgate.api.deps import services
from hookgate.api.routes.ingest import public_base, shown_headers
from hookgate.core import ids
from hookgate.core.clock import DAY_MS, now_ms
from hookgate.inbound import bins, checks
from hookgate.inbound import config as source_config
from hookgate.inbound.replay import NotReplayable, replay
from hookgate.store import inbound_search, inbound_summary, request_stream, sources
from hookgate.store.database import Database
from hookgate.store.errors import NotFound
from hookgate.store.inbound_requests import DUPLICATE_PREFIX, InboundRequest, RequestStatus
from hookgate.store.inbound_search import RequestFilter
from hookgate.store.pagination import Page
from hookgate.store.source_lookup import TOKEN_PLACEHOLDER
from hookgate.store.sources import Source
from hookgate.web.sessions import OperatorSession, operator
from hookgate.web.templating import body_text, page

router = APIRouter(include_in_schema=False)

#: Sources and requests per page.
PAGE_SIZE = 50
#: The verdicts a request list can be filtered by, in the order offered.
VERDICTS = tuple(status.value for status in RequestStatus)
_DATETIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True, slots=True)
class RequestListQuery:
    """The request list's filters as the form sent them (``form``, shown
    back in the form and carried by every pager and live link) and as the
    store takes them (``search``); ``errors`` says which values were unusable
    (those filters are left out)."""

    form: dict[str, str]
    search: RequestFilter
    errors: list[str]

    def query_string(self, **extra: str) -> str:
        """The filters (those set) plus ``extra`` as a URL query string."""
        values = {k: v for k, v in {**self.form, **extra}.items() if v}
        return urlencode(values)


def _utc_ms(text: str) -> int:
    """A ``datetime-local`` value, taken as UTC, in epoch ms; ValueError if bad."""
    for fmt in _DATETIME_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return int(parsed.timestamp() * 1000)
    raise ValueError(text)


def request_list_query(params: Any) -> RequestListQuery:
    """The filters of a request list from the query ``params``: ``verdict``
    (accepted, rejected, duplicate), ``since`` and ``until`` (UTC
    ``YYYY-MM-DDTHH:MM``, exclusive) and ``event_type``."""
    form = {name: str(params.get(name) or "").strip() for name in ("verdict", "since", "until")}
    form["event_type"] = str(params.get("event_type") or "").strip()
    errors: list[str] = []
    status = None
    if form["verdict"]:
        if form["verdict"] in VERDICTS:
            status = RequestStatus(form["verdict"])
        else:
            errors.append(f"Unknown verdict {form['verdict']!r}: choose one of the list.")
    times: dict[str, int | None] = {"since": None, "until": None}
    for name in times:
        if form[name]:
            try:
                times[name] = _utc_ms(form[name])
            except ValueError:
                errors.append(f"{form[name]!r} is not a time like 2026-12-02T01:30 (UTC).")
    event_type = form["event_type"] or None
    if event_type is not None and len(event_type) > 256:
        errors.append("The event type is longer than 256 characters.")
        event_type = None
    search = RequestFilter(
        status=status, after=times["since"], before=times["until"], event_type=event_type
    )
    return RequestListQuery(form=form, search=search, errors=errors)


def _path_part(value: str) -> str:
    return quote(value, safe="")


def source_url(source_id: str) -> str:
    return f"/sources/{_path_part(source_id)}"


def request_url(source_id: str, request_id: str) -> str:
    return f"{source_url(source_id)}/requests/{_path_part(request_id)}"


@dataclass(frozen=True, slots=True)
class SourceView:
    """A source as the list and its page show it: no token, no secret."""

    source: Source
    #: Where providers send: ``<base>/in/<token>`` (the token left out).
    token_url: str
    #: ``<base>/in/<uid or id>`` if the source accepts it (not ``requireToken``).
    plain_url: str | None


def source_view(source: Source, base: str) -> SourceView:
    options = checks.source_options(source)
    plain = None if options.require_token else f"{base}/in/{source.uid or source.id}"
    return SourceView(source, f"{base}/in/{TOKEN_PLACEHOLDER}", plain)


def _pager(
    path: str, iterator: str | None, listed: Page[Any], query: RequestListQuery | None = None
) -> dict[str, str | None]:
    """The links of the page ``listed`` (reached with ``iterator``): older
    (forward) unless it is the last; newer (backward) unless it is the first,
    or a backward page that came back short. Links keep ``query``'s filters."""

    def link(cursor: str) -> str:
        extra = query.query_string(iterator=cursor) if query else urlencode({"iterator": cursor})
        return f"{path}?{extra}"

    backwards = iterator is not None and iterator.startswith("-")
    newer = iterator is not None and (not backwards or len(listed.items) >= PAGE_SIZE)
    older = backwards or not listed.done
    return {
        "next_url": link(listed.iterator) if older and listed.iterator else None,
        "prev_url": link(listed.prev_iterator) if newer and listed.prev_iterator else None,
    }


@router.get("/sources")
async def source_list(
    request: Request, iterator: str | None = None, session: OperatorSession = Depends(operator)
) -> Response:
    """Every source, newest first, with its ingest URL and its requests of
    the last 24 hours by verdict."""
    svc = services(request)
    listed = await sources.list_page(svc.db, iterator=iterator, limit=PAGE_SIZE, descending=True)
    base = public_base(svc, request)
    counts = await inbound_summary.counts_since(
        svc.db, [item.id for item in listed.items], now_ms() - DAY_MS
    )
    return page(
        request,
        "sources.html",
        {
            "csrf_token": session.csrf_token,
            "sources": [source_view(item, base) for item in listed.items],
            "counts": counts,
            "verdicts": VERDICTS,
            **_pager("/sources", iterator, listed),
        },
    )


#: ``?created=`` of a bin's page right after the dashboard created it: the
#: page shows the bin's full URL (with its token) once.
BIN_CREATED = "bin"


@router.get("/sources/{source_id}")
async def source_page(
    request: Request,
    source_id: str,
    iterator: str | None = None,
    created: str | None = None,
    session: OperatorSession = Depends(operator),
) -> Response:
    """A source's settings and its received requests, newest first,
    filtered; on the first page, new requests appear live at the top."""
    svc = services(request)
    source = await sources.get(svc.db, source_id)
    base = public_base(svc, request)
    new_bin_url = (
        f"{base}/in/{source.token}" if created == BIN_CREATED and bins.is_bin(source) else None
    )
    query = request_list_query(request.query_params)
    listed = await inbound_search.list_requests(
        svc.db, source.id, query.search, iterator=iterator, limit=PAGE_SIZE
    )
    live_url = None
    if iterator is None:
        newest = listed.items[0].id if listed.items else ""
        live_url = f"{source_url(source.id)}/live?{query.query_string(after=newest)}"
    return page(
        request,
        "source.html",
        {
            "csrf_token": session.csrf_token,
            "view": source_view(source, base),
            "new_bin_url": new_bin_url,
            "config": source_config.public_config(source.config),
            "requests": listed.items,
            "source_id": source.id,
            "app_id": source.app_id,
            "form": query.form,
            "errors": query.errors,
            "verdicts": VERDICTS,
            "live_url": live_url,
            **_pager(source_url(source.id), iterator, listed, query),
        },
        status_code=400 if query.errors else 200,
    )


def duplicate_of(item: InboundRequest) -> str | None:
    """The id of the request ``item`` repeated, if it is a duplicate."""
    if item.status is RequestStatus.DUPLICATE and item.rejection:
        return item.rejection.removeprefix(DUPLICATE_PREFIX).strip() or None
    return None


async def _is_stored(db: Database, source_id: str, request_id: str) -> bool:
    """Whether the request is still stored (retention purges requests, but
    a dedupe entry may outlive the request it names)."""
    try:
        await inbound_search.get_request(db, source_id, request_id)
    except NotFound:
        return False
    return True


async def _request_page(
    request: Request,
    session: OperatorSession,
    source_id: str,
    request_id: str,
    *,
    replayed: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    svc = services(request)
    source = await sources.get(svc.db, source_id)
    item = await inbound_search.get_request(svc.db, source.id, request_id)
    duplicates = await inbound_summary.duplicates_of(svc.db, source.id, item.id)
    original = duplicate_of(item)
    shown, is_hex = body_text(item.body)
    local = await request_stream.local_response(svc.db, item.id)
    return page(
        request,
        "inbound_request.html",
        {
            "csrf_token": session.csrf_token,
            "view": source_view(source, public_base(svc, request)),
            "item": item,
            "headers": shown_headers(item.headers),
            "body": shown,
            "body_is_hex": is_hex,
            # Pretty-printing changes the bytes (spacing, 1.50 -> 1.5): the
            # exact text stays one click away, as providers signed it.
            "raw_text": raw_text(item.body, shown, is_hex),
            "duplicate_of": original,
            "original_stored": original is not None
            and await _is_stored(svc.db, source.id, original),
            "duplicates": duplicates,
            "replayable": item.status is not RequestStatus.REJECTED,
            "replayed": replayed,
            "replayed_url": (
                f"/apps/{_path_part(source.app_id)}/msg/{_path_part(replayed)}"
                if replayed and source.app_id
                else None
            ),
            "error": error,
            "local": local,
            "local_body": body_text(local.body)[0] if local else None,
            "source_url": source_url(source.id),
            "request_url": request_url(source.id, item.id),
        },
        status_code=status_code,
    )


def raw_text(body: bytes, shown: str, is_hex: bool) -> str | None:
    """The body's exact text when the shown text differs from it, else None."""
    if is_hex or not body:
        return None
    text = body.decode("utf-8")
    return None if text == shown else text


@router.get("/sources/{source_id}/requests/{request_id}")
async def request_page(
    request: Request,
    source_id: str,
    request_id: str,
    replayed: str | None = None,
    session: OperatorSession = Depends(operator),
) -> Response:
    """One received request: method, path, query, headers in order, the
    exact body, verdict and reason, dedupe hits, and Replay."""
    shown = replayed if replayed and ids.looks_like_id(replayed, ids.MESSAGE) else None
    return await _request_page(request, session, source_id, request_id, replayed=shown)


@router.post("/sources/{source_id}/requests/{request_id}/replay")
async def replay_request(
    request: Request,
    source_id: str,
    request_id: str,
    session: OperatorSession = Depends(operator),
) -> Response:
    """Forward the request to the source's destinations again (as the API's
    replay does), then back to the request with a notice; 409 with the
    reason when it cannot be replayed."""
    svc = services(request)
    try:
        message = await replay(svc.db, svc.engine.accept, source_id, request_id)
    except NotReplayable as exc:
        return await _request_page(
            request, session, source_id, request_id, error=str(exc), status_code=409
        )
    source = await sources.get(svc.db, source_id)
    target = f"{request_url(source.id, request_id)}?{urlencode({'replayed': message.id})}"
    return RedirectResponse(target, status_code=303)
