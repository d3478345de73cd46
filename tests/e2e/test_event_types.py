"""The event type catalogue through the SDK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from svix.api import (
    EventTypeDeleteOptions,
    EventTypeIn,
    EventTypeListOptions,
    EventTypeOut,
    EventTypePatch,
    EventTypeUpsertIn,
    Svix,
)
from svix.exceptions import HttpError

from tests.e2e.harness import unique

# Every test here drives real server processes over HTTP.
pytestmark = pytest.mark.slow

SCHEMA = {
    "1": {
        "type": "object",
        "properties": {"id": {"type": "string"}},
        "examples": [{"id": "inv_1"}],
    }
}


def _all_event_types(svix_client: Svix, **options: object) -> Iterator[EventTypeOut]:
    iterator: str | None = None
    for _ in range(1000):
        page = svix_client.event_type.list(
            EventTypeListOptions(limit=50, iterator=iterator, **options)  # type: ignore[arg-type]
        )
        yield from page.data
        if page.done:
            return
        iterator = page.iterator
    pytest.fail("event type pagination never reported done")


def _names(svix_client: Svix, **options: object) -> set[str]:
    return {et.name for et in _all_event_types(svix_client, **options)}


def test_create_get_list(svix_client: Svix) -> None:
    name = unique("invoice.paid")
    created = svix_client.event_type.create(
        EventTypeIn(name=name, description="An invoice was paid", schemas=SCHEMA)
    )
    assert created.name == name
    assert created.description == "An invoice was paid"
    assert not created.archived
    assert not created.deprecated

    got = svix_client.event_type.get(name)
    assert got.name == name
    assert got.schemas == SCHEMA
    assert name in _names(svix_client)
    listed = {et.name: et for et in _all_event_types(svix_client, with_content=True)}
    assert listed[name].schemas == SCHEMA


def test_duplicate_name_is_409(svix_client: Svix) -> None:
    name = unique("dup.event")
    svix_client.event_type.create(EventTypeIn(name=name, description="one"))
    with pytest.raises(HttpError) as exc:
        svix_client.event_type.create(EventTypeIn(name=name, description="two"))
    assert exc.value.status_code == 409


def test_patch_and_update(svix_client: Svix) -> None:
    name = unique("user.signup")
    svix_client.event_type.create(EventTypeIn(name=name, description="v1"))

    patched = svix_client.event_type.patch(name, EventTypePatch(deprecated=True))
    assert patched.deprecated
    assert patched.description == "v1"

    updated = svix_client.event_type.upsert(
        name, EventTypeUpsertIn(description="v2", schemas=SCHEMA)
    )
    assert updated.description == "v2"
    assert not updated.deprecated  # PUT replaces every field
    assert svix_client.event_type.get(name).schemas == SCHEMA


def test_put_creates_a_missing_event_type(svix_client: Svix) -> None:
    name = unique("order.created")
    created = svix_client.event_type.upsert(name, EventTypeUpsertIn(description="made by PUT"))
    assert created.name == name
    assert svix_client.event_type.get(name).description == "made by PUT"


def test_delete_archives(svix_client: Svix) -> None:
    name = unique("legacy.event")
    svix_client.event_type.create(EventTypeIn(name=name, description="old"))
    svix_client.event_type.delete(name)

    assert name not in _names(svix_client)
    assert name in _names(svix_client, include_archived=True)
    assert svix_client.event_type.get(name).archived


def test_unknown_event_type_is_404(svix_client: Svix) -> None:
    with pytest.raises(HttpError) as exc:
        svix_client.event_type.get(unique("missing.event"))
    assert exc.value.status_code == 404


def test_delete_with_expunge_removes_it(svix_client: Svix) -> None:
    name = unique("gone.event")
    svix_client.event_type.create(EventTypeIn(name=name, description="bye"))
    svix_client.event_type.delete(name, EventTypeDeleteOptions(expunge=True))
    with pytest.raises(HttpError) as exc:
        svix_client.event_type.get(name)
    assert exc.value.status_code == 404
    assert name not in _names(svix_client, include_archived=True)
