"""What message fan-out reads in every accept batch: applications by
reference and their enabled endpoints, with an in-process cache.

The cache holds committed state only. A write transaction reads through a
``FanoutReads``, which answers from the cache and from what this
transaction itself read or created, and keeps what it learned to itself;
``FanoutReads.publish`` hands that to the cache once the transaction has
committed. A transaction that rolls back publishes nothing (so an
application it created and lost is never cached), and neither does one
that overlapped a configuration change (its reads may be stale).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookgate.core import ids
from hookgate.core.polling import is_poller_url
from hookgate.store import rows
from hookgate.store.internal_apps import OPERATIONAL_APP_ID
from hookgate.store.records import Endpoint, NewApplication
from hookgate.store.tables import applications, endpoints

if TYPE_CHECKING:
    from hookgate.store.database import Database


@dataclass(slots=True)
class FanoutCache:
    """Application ids by reference (id or uid; None = no such application)
    and enabled endpoints by application id, valid for one configuration
    generation of the database."""

    generation: int = -1
    app_ids: dict[str, str | None] = field(default_factory=dict)
    endpoints: dict[str, list[Endpoint]] = field(default_factory=dict)

    def sync(self, generation: int) -> None:
        """Forget everything if the configuration changed since it was filled."""
        if generation != self.generation:
            self.app_ids.clear()
            self.endpoints.clear()
            self.generation = generation


class FanoutReads:
    """The fan-out reads of one write transaction (create it inside the
    transaction, call ``publish`` after it commits)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache = db.fanout_cache
        #: The configuration generation the transaction started in (SQLite
        #: serialises writers, so nothing changes it until we commit).
        self._generation = db.config_generation
        if self._cache is not None:
            self._cache.sync(self._generation)
        self.app_ids: dict[str, str | None] = {}
        self.endpoints: dict[str, list[Endpoint]] = {}

    def known_app_ids(self, refs: set[str]) -> dict[str, str | None]:
        """What this transaction or the cache already knows of ``refs``."""
        known = {ref: self.app_ids[ref] for ref in refs if ref in self.app_ids}
        cache = self._cache
        if cache is not None and cache.generation == self._generation:
            known.update(
                {ref: cache.app_ids[ref] for ref in refs - known.keys() if ref in cache.app_ids}
            )
        return known

    def known_endpoints(self, app_ids: set[str]) -> dict[str, list[Endpoint]]:
        """Enabled endpoints of ``app_ids`` this transaction or the cache knows."""
        known = {app_id: self.endpoints[app_id] for app_id in app_ids if app_id in self.endpoints}
        cache = self._cache
        if cache is not None and cache.generation == self._generation:
            known.update(
                {
                    app_id: cache.endpoints[app_id]
                    for app_id in app_ids - known.keys()
                    if app_id in cache.endpoints
                }
            )
        return known

    def publish(self) -> None:
        """Put what the (now committed) transaction learned into the cache,
        unless the configuration changed since it started."""
        cache = self._cache
        if cache is None or self._db.config_generation != self._generation:
            return
        cache.sync(self._generation)
        cache.app_ids.update(self.app_ids)
        cache.endpoints.update(self.endpoints)


async def resolve_apps(
    db: Database,
    conn: AsyncConnection,
    reads: FanoutReads,
    wanted: Mapping[str, NewApplication | None],
    now_ms: int,
) -> dict[str, str]:
    """Map app references (id or uid) to app ids; a reference missing from
    the database is created from its ``NewApplication`` when it has one.
    References that name no application are left out."""
    found = await _lookup_apps(conn, reads, set(wanted))
    # An id-shaped reference can only name an existing application: creating
    # one would give it another id, and every retry would create another.
    to_create: dict[str, NewApplication] = {
        ref: new_app
        for ref, new_app in wanted.items()
        if ref not in found
        and new_app is not None
        and (new_app.uid or not ids.looks_like_id(ref, ids.APP))
    }
    if to_create:
        values = []
        key_by_ref: dict[str, str] = {}
        for ref, new_app in to_create.items():
            uid = new_app.uid or ref
            # Found again by uid: another request may have created it first.
            key_by_ref[ref] = uid
            values.append(
                {
                    "id": ids.new_id(ids.APP),
                    "uid": uid,
                    "name": new_app.name,
                    "throttle_rate": new_app.throttle_rate,
                    "metadata": new_app.metadata,
                    "created_at": now_ms,
                    "updated_at": now_ms,
                }
            )
        await conn.execute(db.insert_ignoring_conflicts(applications), values)
        created = await _select_apps(conn, set(key_by_ref.values()))
        reads.app_ids.update(created)
        for ref, key in key_by_ref.items():
            app_id = created[key]
            if app_id is not None:
                found[ref] = app_id
    return found


async def _lookup_apps(conn: AsyncConnection, reads: FanoutReads, refs: set[str]) -> dict[str, str]:
    """App ids by reference, from what ``reads`` knows where it can answer."""
    known = reads.known_app_ids(refs)
    missing = refs - known.keys()
    if missing:
        found = await _select_apps(conn, missing)
        reads.app_ids.update(found)
        known.update(found)
    return {ref: app_id for ref, app_id in known.items() if app_id is not None}


async def _select_apps(conn: AsyncConnection, refs: set[str]) -> dict[str, str | None]:
    """The id of the application each of ``refs`` names (by id, else by
    uid), None for no application."""
    result = await conn.execute(
        select(applications.c.id, applications.c.uid).where(
            or_(applications.c.id.in_(refs), applications.c.uid.in_(refs)),
            # Operational events are sent by ``store.operational`` alone.
            applications.c.id != OPERATIONAL_APP_ID,
        )
    )
    found: dict[str, str | None] = dict.fromkeys(refs)
    for app_id, uid in result:
        if uid in refs and found[uid] is None:
            found[uid] = app_id
        if app_id in refs:
            found[app_id] = app_id
    return found


async def enabled_endpoints(
    conn: AsyncConnection, reads: FanoutReads, app_ids: set[str]
) -> dict[str, list[Endpoint]]:
    """Enabled endpoints to deliver to (polling endpoints are left out), by
    application, from what ``reads`` knows where it can."""
    by_app = reads.known_endpoints(app_ids)
    missing = app_ids - by_app.keys()
    if missing:
        loaded: dict[str, list[Endpoint]] = {app_id: [] for app_id in missing}
        result = await conn.execute(
            select(endpoints).where(
                endpoints.c.app_id.in_(missing), endpoints.c.disabled.is_(False)
            )
        )
        for ep in map(rows.endpoint, result):
            # A polling endpoint is read by its consumer (``store.poller``):
            # it gets no deliveries.
            if not is_poller_url(ep.url):
                loaded[ep.app_id].append(ep)
        reads.endpoints.update(loaded)
        by_app.update(loaded)
    return by_app
