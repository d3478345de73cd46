"""Svix-style cursor pagination over id-ordered tables.

A page is requested with an ``iterator`` (the id to continue after) and a
``limit``. The response carries ``iterator`` (continue forwards from the last
item), ``prev_iterator`` (``"-" + first id``, to page backwards) and ``done``.
Ids are time-sortable, so id order is creation order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Column, Row, Select
from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 250


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    iterator: str | None
    prev_iterator: str | None
    done: bool


async def paginate(
    conn: AsyncConnection,
    query: Select[Any],
    id_column: Column[Any],
    to_record: Callable[[Row[Any]], T],
    *,
    iterator: str | None,
    limit: int | None,
    descending: bool,
) -> Page[T]:
    """Run ``query`` for one page, ordered by ``id_column``."""
    size = max(1, min(limit or DEFAULT_LIMIT, MAX_LIMIT))
    backwards = iterator is not None and iterator.startswith("-")
    cursor = iterator[1:] if iterator and backwards else iterator
    # Going backwards walks the opposite direction, then flips the page.
    walk_descending = descending != backwards
    if cursor:
        query = query.where(id_column < cursor if walk_descending else id_column > cursor)
    query = query.order_by(id_column.desc() if walk_descending else id_column.asc())
    rows = (await conn.execute(query.limit(size + 1))).all()
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    items = [to_record(row) for row in rows]
    if not rows:
        # Nothing before the first item: paging forward again starts afresh.
        return Page(items, iterator=None if backwards else cursor, prev_iterator=None, done=True)
    first_id, last_id = rows[0]._mapping[id_column.name], rows[-1]._mapping[id_column.name]
    done = not more if not backwards else False
    return Page(items, iterator=last_id, prev_iterator=f"-{first_id}", done=done)
