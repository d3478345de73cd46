"""Applications through the official Svix SDK against the real server."""

from __future__ import annotations

import httpx
import pytest
from svix.api import (
    ApplicationCreateOptions,
    ApplicationIn,
    ApplicationListOptions,
    ApplicationPatch,
    Svix,
)
from svix.exceptions import HttpError

from tests.e2e.harness import unique

# Every test here drives real server processes over HTTP.
pytestmark = pytest.mark.slow


def test_create_and_get_by_id_and_uid(svix_client: Svix) -> None:
    uid = unique("acme")
    created = svix_client.application.create(
        ApplicationIn(name="Acme", uid=uid, metadata={"tier": "gold", "region": "eu"})
    )
    assert created.id.startswith("app_")
    assert created.uid == uid
    assert created.name == "Acme"
    assert created.metadata == {"tier": "gold", "region": "eu"}

    by_id = svix_client.application.get(created.id)
    by_uid = svix_client.application.get(uid)
    assert by_id == by_uid
    assert by_id.id == created.id
    assert by_id.metadata == {"tier": "gold", "region": "eu"}


def test_list_pages_through_every_application_once(svix_client: Svix) -> None:
    mine = {
        svix_client.application.create(ApplicationIn(name=f"page-{i}", uid=unique("pg"))).id
        for i in range(7)
    }
    seen: list[str] = []
    iterator: str | None = None
    for _ in range(1000):  # bounded: a broken iterator must not loop forever
        page = svix_client.application.list(ApplicationListOptions(limit=3, iterator=iterator))
        assert len(page.data) <= 3
        seen.extend(app.id for app in page.data)
        if page.done:
            break
        assert page.iterator, "a page that is not done must carry an iterator"
        iterator = page.iterator
    else:
        pytest.fail("pagination never reported done")
    assert len(seen) == len(set(seen)), "an application was listed twice"
    assert mine <= set(seen)


def test_prev_iterator_pages_backwards(svix_client: Svix) -> None:
    for i in range(7):
        svix_client.application.create(ApplicationIn(name=f"back-{i}", uid=unique("bk")))
    first = svix_client.application.list(ApplicationListOptions(limit=3))
    second = svix_client.application.list(ApplicationListOptions(limit=3, iterator=first.iterator))
    assert not {a.id for a in first.data} & {a.id for a in second.data}
    assert second.prev_iterator
    back = svix_client.application.list(
        ApplicationListOptions(limit=3, iterator=second.prev_iterator)
    )
    assert [a.id for a in back.data] == [a.id for a in first.data]


def test_idempotency_key_replays_the_create(svix_client: Svix) -> None:
    uid = unique("idem-app")
    options = ApplicationCreateOptions(idempotency_key=unique("key"))
    first = svix_client.application.create(ApplicationIn(name="Once", uid=uid), options)
    # Same key: the stored answer, not a uid conflict.
    again = svix_client.application.create(ApplicationIn(name="Once", uid=uid), options)
    assert again.id == first.id


def test_put_upserts_then_updates(svix_client: Svix) -> None:
    uid = unique("upsert")
    first = svix_client.application.upsert(uid, ApplicationIn(name="First"))
    assert first.uid == uid
    assert first.name == "First"
    # PUT replaces every field (uid included, as in Svix), so the uid is sent again.
    second = svix_client.application.upsert(
        uid, ApplicationIn(name="Second", uid=uid, metadata={"k": "v"})
    )
    assert second.id == first.id
    assert second.name == "Second"
    assert second.metadata == {"k": "v"}
    assert svix_client.application.get(uid).name == "Second"


def test_put_answers_201_when_created_and_200_when_updated(api: httpx.Client) -> None:
    uid = unique("upsert-raw")
    created = api.put(f"/api/v1/app/{uid}", json={"name": "One"})
    assert created.status_code == 201, created.text
    updated = api.put(f"/api/v1/app/{uid}", json={"name": "Two", "uid": uid})
    assert updated.status_code == 200, updated.text
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["name"] == "Two"


def test_patch_changes_only_given_fields(svix_client: Svix) -> None:
    uid = unique("patch")
    app = svix_client.application.create(ApplicationIn(name="Before", uid=uid, metadata={"a": "1"}))
    patched = svix_client.application.patch(app.id, ApplicationPatch(name="After"))
    assert patched.name == "After"
    assert patched.uid == uid
    assert patched.metadata == {"a": "1"}
    patched = svix_client.application.patch(uid, ApplicationPatch(metadata={"b": "2"}))
    assert patched.name == "After"
    assert patched.metadata == {"b": "2"}
    assert svix_client.application.get(app.id).metadata == {"b": "2"}


def test_delete_then_get_is_404(svix_client: Svix) -> None:
    app = svix_client.application.create(ApplicationIn(name="Doomed", uid=unique("del")))
    svix_client.application.delete(app.id)
    with pytest.raises(HttpError) as exc:
        svix_client.application.get(app.id)
    assert exc.value.status_code == 404
    assert exc.value.code == "not_found"
    with pytest.raises(HttpError) as exc:
        svix_client.application.delete(app.id)
    assert exc.value.status_code == 404


def test_uid_is_free_again_after_delete(svix_client: Svix) -> None:
    uid = unique("reuse")
    old = svix_client.application.create(ApplicationIn(name="Old", uid=uid))
    svix_client.application.delete(uid)
    new = svix_client.application.create(ApplicationIn(name="New", uid=uid))
    assert new.id != old.id
    assert svix_client.application.get(uid).name == "New"


def test_get_or_create_returns_the_existing_application(svix_client: Svix) -> None:
    uid = unique("goc")
    first = svix_client.application.get_or_create(ApplicationIn(name="Goc", uid=uid))
    second = svix_client.application.get_or_create(ApplicationIn(name="Other name", uid=uid))
    assert second.id == first.id
    assert second.name == "Goc"


def test_uid_conflict_is_409(svix_client: Svix) -> None:
    uid = unique("dup")
    svix_client.application.create(ApplicationIn(name="One", uid=uid))
    with pytest.raises(HttpError) as exc:
        svix_client.application.create(ApplicationIn(name="Two", uid=uid))
    assert exc.value.status_code == 409
    assert exc.value.code == "conflict"
