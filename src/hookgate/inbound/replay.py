"""Replaying a stored inbound request: forwarding it to its source's
destinations again, as a new message of the source's internal application
(the exact bytes and headers received, see ``hookgate.inbound.forward``).

Shared by the API (``POST /ingest/api/v1/source/{id}/request/{id}/replay``)
and the dashboard's Replay button. Accepted requests and duplicates can be
replayed; ``NotReplayable`` says why anything else cannot (a request refused
for another reason, a source without destinations); unknown sources or
requests raise the store's ``NotFound``.
"""

from __future__ import annotations

from dataclasses import replace

from hookgate.inbound.forward import Submit, forward
from hookgate.store import inbound_requests, inbound_search, sources
from hookgate.store.database import Database
from hookgate.store.records import Message


class NotReplayable(Exception):
    """The request exists but cannot be replayed; the text says why."""


async def replay(db: Database, submit: Submit, source_ref: str, request_id: str) -> Message:
    """Forward request ``request_id`` of source ``source_ref`` (id or uid)
    again through ``submit`` (``Engine.accept``); the message it became."""
    source = await sources.get(db, source_ref)
    stored = await inbound_search.get_request(db, source.id, request_id)
    if stored.rejection is not None and not inbound_requests.is_duplicate(stored):
        raise NotReplayable(f"The request was rejected ({stored.rejection}); it cannot be replayed")
    if source.app_id is None:
        raise NotReplayable("The source has no destinations")
    outcome = await forward(submit, source, replace(stored, rejection=None))
    if outcome is None or outcome.message is None:
        raise NotReplayable("The request could not be forwarded")
    return outcome.message
