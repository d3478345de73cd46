"""What message fan-out reads in every accept batch: applications by
reference and their enabled endpoints, with an in-process cache."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hookgate.core import ids
from hookgate.store import rows
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


async def resolve_apps(
    db: Database,
    conn: AsyncConnection,
    wanted: Mapping[str, NewApplication | None],
    now_ms: int,
) -> dict[str, str]:
    """Map app references (id or uid) to app ids; a reference missing from
    the database is created from its ``NewApplication`` when it has one.
    References that name no application are left out."""
    found = await _lookup_apps(db, conn, set(wanted))
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
            app_id = ids.new_id(ids.APP)
            uid = new_app.uid or ref
            # Found again by uid: another request may have created it first.
            key_by_ref[ref] = uid
            values.append(
                {
                    "id": app_id,
                    "uid": uid,
                    "name": new_app.name,
                    "throttle_rate": new_app.throttle_rate,
                    "metadata": new_app.metadata,
                    "created_at": now_ms,
                    "updated_at": now_ms,
                }
            )
        await conn.execute(db.insert_ignoring_conflicts(applications), values)
        db.config_generation += 1
        created = await _lookup_apps(db, conn, set(key_by_ref.values()))
        for ref, key in key_by_ref.items():
            if key in created:
                found[ref] = created[key]
    return found


async def _lookup_apps(db: Database, conn: AsyncConnection, refs: set[str]) -> dict[str, str]:
    """App ids by reference, from the fan-out cache where it can answer."""
    cache = db.fanout_cache
    known: dict[str, str | None] = {}
    if cache is not None:
        cache.sync(db.config_generation)
        known = {ref: cache.app_ids[ref] for ref in refs if ref in cache.app_ids}
    missing = refs - known.keys()
    if missing:
        result = await conn.execute(
            select(applications.c.id, applications.c.uid).where(
                or_(applications.c.id.in_(missing), applications.c.uid.in_(missing))
            )
        )
        found: dict[str, str | None] = dict.fromkeys(missing)
        for app_id, uid in result:
            if uid in missing and found[uid] is None:
                found[uid] = app_id
            if app_id in missing:
                found[app_id] = app_id
        known.update(found)
        if cache is not None:
            cache.app_ids.update(found)
    return {ref: app_id for ref, app_id in known.items() if app_id is not None}


async def enabled_endpoints(
    db: Database, conn: AsyncConnection, app_ids: set[str]
) -> dict[str, list[Endpoint]]:
    """Enabled endpoints by application, from the fan-out cache where it can."""
    cache = db.fanout_cache
    by_app: dict[str, list[Endpoint]] = {}
    if cache is not None:
        cache.sync(db.config_generation)
        by_app = {
            app_id: cache.endpoints[app_id] for app_id in app_ids if app_id in cache.endpoints
        }
    missing = app_ids - by_app.keys()
    if missing:
        loaded: dict[str, list[Endpoint]] = {app_id: [] for app_id in missing}
        result = await conn.execute(
            select(endpoints).where(
                endpoints.c.app_id.in_(missing), endpoints.c.disabled.is_(False)
            )
        )
        for ep in map(rows.endpoint, result):
            loaded[ep.app_id].append(ep)
        by_app.update(loaded)
        if cache is not None:
            cache.endpoints.update(loaded)
    return by_app
