"""Wire compatibility of hookgate.api.schemas with the official svix SDK.

Responses: we build each model, dump it the way the API does
(``model_dump(mode="json", by_alias=True)``) and parse it with the SDK model.
Requests: the SDK serializes its *In models (``model_dump_json(exclude_unset=
True, by_alias=True)``, as in svix/api/*.py) and our models must accept that.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import pydantic
import pytest
import svix.models as sdk
from svix.exceptions import HttpError as SdkHttpError
from svix.exceptions import HTTPValidationError as SdkHTTPValidationError

from hookgate.api import schemas as s

T0 = datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
APP_ID = "app_2fX0aaaaaaaaaaaaaaaaaaaaaaa"
EP_ID = "ep_2fX0aaaaaaaaaaaaaaaaaaaaaaa"
MSG_ID = "msg_2fX0aaaaaaaaaaaaaaaaaaaaaaa"


def wire(model: pydantic.BaseModel) -> dict[str, Any]:
    """What the API puts on the wire for a response model."""
    data = model.model_dump(mode="json", by_alias=True)
    # Must survive a real JSON round trip, like an HTTP body.
    result: dict[str, Any] = json.loads(json.dumps(data))
    return result


def sdk_body(model: pydantic.BaseModel) -> dict[str, Any]:
    """What the SDK sends for one of its request models (see svix/api/*.py)."""
    result: dict[str, Any] = json.loads(model.model_dump_json(exclude_unset=True, by_alias=True))
    return result


def sdk_aliases(model_cls: type[pydantic.BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model_cls.model_fields.items()}


def assert_keys_known_to_sdk(data: dict[str, Any], sdk_cls: type[pydantic.BaseModel]) -> None:
    """Every key we emit is a field the SDK knows (catches camelCase slips),
    and every field the SDK requires is present."""
    assert set(data) <= sdk_aliases(sdk_cls)
    required = {f.alias or n for n, f in sdk_cls.model_fields.items() if f.is_required()}
    assert required <= set(data)


# --- response fixtures ------------------------------------------------------------


def application_out() -> s.ApplicationOut:
    return s.ApplicationOut(
        id=APP_ID,
        uid="my-app",
        name="My app",
        throttle_rate=10,
        metadata={"team": "a"},
        created_at=T0,
        updated_at=T1,
    )


def event_type_out() -> s.EventTypeOut:
    return s.EventTypeOut(
        name="user.signup",
        description="A user signed up",
        archived=False,
        deprecated=True,
        feature_flag="beta",
        schemas={"1": {"type": "object"}},
        created_at=T0,
        updated_at=T1,
    )


def endpoint_out() -> s.EndpointOut:
    return s.EndpointOut(
        id=EP_ID,
        uid="ep-1",
        url="https://example.com/hook",
        description="main",
        disabled=True,
        throttle_rate=None,
        event_types=["user.signup"],
        channels=["project_1"],
        metadata={"k": "v"},
        created_at=T0,
        updated_at=T1,
    )


def message_out() -> s.MessageOut:
    return s.MessageOut(
        id=MSG_ID,
        event_type="user.signup",
        event_id="evt-1",
        payload={"email": "a@example.com", "n": [1, 2]},
        channels=["project_1"],
        tags=["t1"],
        timestamp=T0,
    )


def attempt_out() -> s.MessageAttemptOut:
    return s.MessageAttemptOut(
        id="atmpt_2fX0aaaaaaaaaaaaaaaaaaaaaaa",
        msg_id=MSG_ID,
        endpoint_id=EP_ID,
        url="https://example.com/hook",
        response='{"ok": true}',
        response_status_code=500,
        response_duration_ms=42,
        status=s.MessageStatus.FAIL,
        status_text=s.MessageStatusText.FAIL,
        trigger_type=s.MessageAttemptTriggerType.MANUAL,
        timestamp=T0,
    )


def message_endpoint_out() -> s.MessageEndpointOut:
    return s.MessageEndpointOut(
        id=EP_ID,
        url="https://example.com/hook",
        description="",
        status=s.MessageStatus.PENDING,
        status_text=s.MessageStatusText.PENDING,
        next_attempt=T1,
        created_at=T0,
        updated_at=T0,
    )


def endpoint_message_out() -> s.EndpointMessageOut:
    return s.EndpointMessageOut(
        id=MSG_ID,
        event_type="user.signup",
        payload={"a": 1},
        timestamp=T0,
        status=s.MessageStatus.SENDING,
        status_text=s.MessageStatusText.SENDING,
    )


# --- responses parse with the SDK ----------------------------------------------------


def test_application_out() -> None:
    data = wire(application_out())
    assert_keys_known_to_sdk(data, sdk.ApplicationOut)
    parsed = sdk.ApplicationOut.model_validate(data)
    assert parsed.id == APP_ID
    assert parsed.uid == "my-app"
    assert parsed.throttle_rate == 10
    assert parsed.metadata == {"team": "a"}
    assert parsed.created_at == T0
    assert parsed.updated_at == T1


def test_nulls_are_emitted_not_dropped() -> None:
    out = s.ApplicationOut(id=APP_ID, name="n", metadata={}, created_at=T0, updated_at=T0)
    data = wire(out)
    assert data["uid"] is None
    assert data["throttleRate"] is None
    assert sdk.ApplicationOut.model_validate(data).uid is None


def test_datetimes_are_utc_with_z() -> None:
    plus2 = timezone(timedelta(hours=2))
    out = s.ApplicationOut(
        id=APP_ID,
        name="n",
        metadata={},
        created_at=datetime(2024, 1, 1, 2, 0, tzinfo=plus2),
        updated_at=datetime(2024, 1, 1),  # naive: taken as UTC
    )
    assert out.created_at.tzinfo is UTC
    data = wire(out)
    assert data["createdAt"] == "2024-01-01T00:00:00Z"
    assert data["updatedAt"] == "2024-01-01T00:00:00Z"
    assert wire(application_out())["createdAt"] == "2024-05-01T12:30:15.123000Z"
    parsed = sdk.ApplicationOut.model_validate(data)
    assert parsed.created_at == datetime(2024, 1, 1, tzinfo=UTC)


def test_event_type_out() -> None:
    data = wire(event_type_out())
    assert_keys_known_to_sdk(data, sdk.EventTypeOut)
    parsed = sdk.EventTypeOut.model_validate(data)
    assert parsed.name == "user.signup"
    assert parsed.deprecated is True
    assert parsed.archived is False
    assert parsed.feature_flag == "beta"
    assert parsed.schemas == {"1": {"type": "object"}}


def test_endpoint_out() -> None:
    data = wire(endpoint_out())
    assert_keys_known_to_sdk(data, sdk.EndpointOut)
    parsed = sdk.EndpointOut.model_validate(data)
    assert parsed.id == EP_ID
    assert parsed.url == "https://example.com/hook"
    assert parsed.event_types == ["user.signup"]
    assert parsed.channels == ["project_1"]
    assert parsed.disabled is True
    assert parsed.throttle_rate is None
    assert "secret" not in data


def test_endpoint_headers_out() -> None:
    out = s.EndpointHeadersOut(headers={"X-Foo": "bar"}, sensitive=["Authorization"])
    data = wire(out)
    assert_keys_known_to_sdk(data, sdk.EndpointHeadersOut)
    parsed = sdk.EndpointHeadersOut.model_validate(data)
    assert parsed.headers == {"X-Foo": "bar"}
    assert parsed.sensitive == ["Authorization"]


def test_endpoint_secret_out() -> None:
    data = wire(s.EndpointSecretOut(key=SECRET))
    assert data == {"key": SECRET}
    assert sdk.EndpointSecretOut.model_validate(data).key == SECRET


def test_endpoint_stats() -> None:
    data = wire(s.EndpointStats(success=5, pending=4, sending=3, fail=2))
    assert_keys_known_to_sdk(data, sdk.EndpointStats)
    parsed = sdk.EndpointStats.model_validate(data)
    assert (parsed.success, parsed.pending, parsed.sending, parsed.fail) == (5, 4, 3, 2)
    assert parsed.canceled == 0


def test_recover_out() -> None:
    out = s.RecoverOut(
        id="qtask_2fX0aaaaaaaaaaaaaaaaaaaaaaa",
        status=s.BackgroundTaskStatus.RUNNING,
        task=s.BackgroundTaskType.ENDPOINT_RECOVER,
        updated_at=T0,
    )
    data = wire(out)
    assert data["status"] == "running"
    assert data["task"] == "endpoint.recover"
    parsed = sdk.RecoverOut.model_validate(data)
    assert parsed.status == sdk.BackgroundTaskStatus.RUNNING
    assert parsed.task == sdk.BackgroundTaskType.ENDPOINT_RECOVER
    assert parsed.updated_at == T0


def test_message_out() -> None:
    data = wire(message_out())
    assert_keys_known_to_sdk(data, sdk.MessageOut)
    parsed = sdk.MessageOut.model_validate(data)
    assert parsed.id == MSG_ID
    assert parsed.event_type == "user.signup"
    assert parsed.event_id == "evt-1"
    assert parsed.payload == {"email": "a@example.com", "n": [1, 2]}
    assert parsed.tags == ["t1"]
    assert parsed.timestamp == T0


def test_message_attempt_out() -> None:
    data = wire(attempt_out())
    assert_keys_known_to_sdk(data, sdk.MessageAttemptOut)
    assert data["status"] == 2
    assert data["statusText"] == "fail"
    assert data["triggerType"] == 1
    parsed = sdk.MessageAttemptOut.model_validate(data)
    assert parsed.status == sdk.MessageStatus.FAIL
    assert parsed.status_text == sdk.MessageStatusText.FAIL
    assert parsed.trigger_type == sdk.MessageAttemptTriggerType.MANUAL
    assert parsed.response_status_code == 500
    assert parsed.response_duration_ms == 42
    assert parsed.msg_id == MSG_ID
    assert parsed.endpoint_id == EP_ID


def test_message_endpoint_out() -> None:
    data = wire(message_endpoint_out())
    assert_keys_known_to_sdk(data, sdk.MessageEndpointOut)
    parsed = sdk.MessageEndpointOut.model_validate(data)
    assert parsed.status == sdk.MessageStatus.PENDING
    assert parsed.next_attempt == T1
    assert parsed.event_types is None


def test_endpoint_message_out() -> None:
    data = wire(endpoint_message_out())
    assert_keys_known_to_sdk(data, sdk.EndpointMessageOut)
    parsed = sdk.EndpointMessageOut.model_validate(data)
    assert parsed.status == sdk.MessageStatus.SENDING
    assert parsed.status_text == sdk.MessageStatusText.SENDING
    assert parsed.next_attempt is None
    assert parsed.payload == {"a": 1}


def test_app_portal_access_out() -> None:
    out = s.AppPortalAccessOut(url="https://portal.example.com/#key=abc", token="tok_x")
    parsed = sdk.AppPortalAccessOut.model_validate(wire(out))
    assert parsed.url == "https://portal.example.com/#key=abc"
    assert parsed.token == "tok_x"


@pytest.mark.parametrize(
    ("make", "sdk_list"),
    [
        (application_out, sdk.ListResponseApplicationOut),
        (event_type_out, sdk.ListResponseEventTypeOut),
        (endpoint_out, sdk.ListResponseEndpointOut),
        (message_out, sdk.ListResponseMessageOut),
        (attempt_out, sdk.ListResponseMessageAttemptOut),
        (message_endpoint_out, sdk.ListResponseMessageEndpointOut),
        (endpoint_message_out, sdk.ListResponseEndpointMessageOut),
    ],
)
def test_list_responses(
    make: Callable[[], pydantic.BaseModel], sdk_list: type[pydantic.BaseModel]
) -> None:
    one = make()
    page_cls: Any = s.ListResponse[type(one)]  # type: ignore[misc]
    page = page_cls(data=[one, one], iterator="it_2", prev_iterator="-it_1", done=False)
    data = wire(page)
    assert set(data) == {"data", "iterator", "prevIterator", "done"}
    parsed: Any = sdk_list.model_validate(data)
    assert len(parsed.data) == 2
    assert parsed.data[0].model_dump() == parsed.data[1].model_dump()
    assert parsed.iterator == "it_2"
    assert parsed.prev_iterator == "-it_1"
    assert parsed.done is False


def test_last_page_keeps_null_iterator() -> None:
    # The SDK's list models declare `iterator: Optional[str]` without a default,
    # i.e. required: the key must be present even when null.
    data = wire(s.ListResponse[s.ApplicationOut](data=[], done=True))
    assert data == {"data": [], "iterator": None, "prevIterator": None, "done": True}
    parsed = sdk.ListResponseApplicationOut.model_validate(data)
    assert parsed.done is True
    assert parsed.iterator is None


def test_http_error_out() -> None:
    data = wire(s.HttpErrorOut(code="not_found", detail="Entity not found"))
    err = SdkHttpError.from_dict(data)
    assert (err.code, err.detail) == ("not_found", "Entity not found")
    assert err.additional_keys == []


def test_http_validation_error() -> None:
    item = s.ValidationErrorItem(loc=["body", "channels", 3], msg="bad", type="value_error")
    data = wire(s.HTTPValidationError(detail=[item]))
    assert data == {
        "detail": [{"loc": ["body", "channels", "[3]"], "msg": "bad", "type": "value_error"}]
    }
    err = SdkHTTPValidationError.from_dict(data)
    assert err.detail[0].loc == ["body", "channels", "[3]"]
    assert err.detail[0].msg == "bad"
    assert err.detail[0].type == "value_error"


def test_enums_match_sdk() -> None:
    pairs: list[tuple[type[Enum], type[Enum]]] = [
        (s.MessageStatus, sdk.MessageStatus),
        (s.MessageStatusText, sdk.MessageStatusText),
        (s.MessageAttemptTriggerType, sdk.MessageAttemptTriggerType),
        (s.StatusCodeClass, sdk.StatusCodeClass),
        (s.Ordering, sdk.Ordering),
        (s.BackgroundTaskStatus, sdk.BackgroundTaskStatus),
        (s.BackgroundTaskType, sdk.BackgroundTaskType),
    ]
    for ours, theirs in pairs:
        for member in ours:
            assert theirs(member.value).value == member.value
    assert [m.value for m in s.MessageStatus] == [0, 1, 2, 3]
    assert s.MessageStatus.FAIL.text is s.MessageStatusText.FAIL
    assert [m.value for m in s.StatusCodeClass] == [0, 100, 200, 300, 400, 500]


# --- requests sent by the SDK parse into ours ----------------------------------------


def test_application_in_from_sdk() -> None:
    body = sdk_body(
        sdk.ApplicationIn(name="My app", uid="my-app", throttle_rate=5, metadata={"a": "b"})
    )
    app = s.ApplicationIn.model_validate(body)
    assert (app.name, app.uid, app.throttle_rate, app.metadata) == (
        "My app",
        "my-app",
        5,
        {"a": "b"},
    )

    minimal = s.ApplicationIn.model_validate(sdk_body(sdk.ApplicationIn(name="x")))
    assert (minimal.uid, minimal.throttle_rate, minimal.metadata) == (None, None, {})


def test_application_patch_from_sdk() -> None:
    patch = s.ApplicationPatch.model_validate(
        sdk_body(sdk.ApplicationPatch(name="renamed", uid=None))
    )
    assert patch.model_fields_set == {"name", "uid"}
    assert patch.name == "renamed"
    assert patch.uid is None
    assert patch.model_dump(exclude_unset=True) == {"name": "renamed", "uid": None}


def test_event_type_in_from_sdk() -> None:
    body = sdk_body(
        sdk.EventTypeIn(
            name="user.signup",
            description="A user signed up",
            archived=True,
            schemas={"1": {"type": "object"}},
            group_name="users",  # not supported: ignored
            feature_flags=["beta"],  # not supported: ignored
        )
    )
    et = s.EventTypeIn.model_validate(body)
    assert et.name == "user.signup"
    assert et.archived is True
    assert et.deprecated is False
    assert et.schemas == {"1": {"type": "object"}}
    assert et.feature_flag is None
    assert not hasattr(et, "group_name")


def test_event_type_update_and_patch_from_sdk() -> None:
    upd = s.EventTypeUpdate.model_validate(
        sdk_body(sdk.EventTypeUpsertIn(description="d", deprecated=True))
    )
    assert (upd.description, upd.deprecated, upd.archived) == ("d", True, False)

    patch = s.EventTypePatch.model_validate(sdk_body(sdk.EventTypePatch(schemas=None)))
    assert patch.model_dump(exclude_unset=True) == {"schemas": None}
    # featureFlag is the OSS doc's spelling
    assert s.EventTypePatch.model_validate({"featureFlag": "x"}).feature_flag == "x"


def test_endpoint_in_from_sdk() -> None:
    body = sdk_body(
        sdk.EndpointIn(
            url="https://example.com/hook",
            description="main",
            throttle_rate=100,
            uid="ep-1",
            disabled=False,
            event_types=["user.signup", "user.deleted"],
            channels=["project_1"],
            secret=SECRET,
            metadata={"k": "v"},
            headers={"X-Api-Key": "abc"},
        )
    )
    ep = s.EndpointIn.model_validate(body)
    assert ep.url == "https://example.com/hook"
    assert ep.description == "main"
    assert ep.throttle_rate == 100
    assert ep.uid == "ep-1"
    assert ep.event_types == ["user.signup", "user.deleted"]
    assert ep.channels == ["project_1"]
    assert ep.secret == SECRET
    assert ep.metadata == {"k": "v"}
    assert ep.headers == {"X-Api-Key": "abc"}

    minimal = s.EndpointIn.model_validate(sdk_body(sdk.EndpointIn(url="http://localhost:8080/")))
    assert (minimal.description, minimal.disabled, minimal.metadata) == ("", False, {})
    assert minimal.event_types is None
    assert minimal.channels is None
    assert minimal.secret is None


def test_explicit_nulls_in_create_bodies_mean_default() -> None:
    # The SDK sends null for any field explicitly set to None.
    body = sdk_body(
        sdk.EndpointIn(url="https://example.com", description=None, disabled=None, metadata=None)
    )
    assert body["description"] is None
    ep = s.EndpointIn.model_validate(body)
    assert (ep.description, ep.disabled, ep.metadata) == ("", False, {})
    msg = s.MessageIn.model_validate(
        {"eventType": "a", "payload": {}, "payloadRetentionPeriod": None}
    )
    assert msg.payload_retention_period == 90


def test_endpoint_update_from_sdk_upsert() -> None:
    body = sdk_body(sdk.EndpointUpsertIn(url="https://example.com/v2", channels=["a", "b"]))
    ep = s.EndpointUpdate.model_validate(body)
    assert ep.url == "https://example.com/v2"
    assert ep.channels == ["a", "b"]
    assert ep.event_types is None


def test_endpoint_patch_from_sdk() -> None:
    body = sdk_body(sdk.EndpointPatch(url="https://example.com/new", event_types=None))
    patch = s.EndpointPatch.model_validate(body)
    assert patch.model_dump(exclude_unset=True) == {
        "url": "https://example.com/new",
        "event_types": None,
    }


def test_patch_rejects_null_for_non_nullable_fields() -> None:
    cases: list[tuple[type[pydantic.BaseModel], str]] = [
        (s.EndpointPatch, "url"),
        (s.EndpointPatch, "description"),
        (s.EndpointPatch, "disabled"),
        (s.EndpointPatch, "metadata"),
        (s.ApplicationPatch, "name"),
        (s.ApplicationPatch, "metadata"),
        (s.EventTypePatch, "description"),
        (s.EventTypePatch, "archived"),
        (s.EventTypePatch, "deprecated"),
    ]
    for model, key in cases:
        with pytest.raises(pydantic.ValidationError, match="must not be null"):
            model.model_validate({key: None})
    # nullable ones may be cleared
    patch = s.EndpointPatch.model_validate(
        {"uid": None, "throttleRate": None, "eventTypes": None, "channels": None}
    )
    assert patch.model_fields_set == {"uid", "throttle_rate", "event_types", "channels"}


def test_endpoint_headers_from_sdk() -> None:
    hdrs = s.EndpointHeadersIn.model_validate(
        sdk_body(sdk.EndpointHeadersIn(headers={"X-Foo": "1", "Authorization": "Bearer x"}))
    )
    assert hdrs.headers == {"X-Foo": "1", "Authorization": "Bearer x"}

    patch = s.EndpointHeadersPatchIn.model_validate(
        sdk_body(sdk.EndpointHeadersPatchIn(headers={"X-Foo": "2"}, delete_headers=["X-Bar"]))
    )
    assert patch.headers == {"X-Foo": "2"}
    assert patch.delete_headers == ["X-Bar"]
    # The OSS doc's way of deleting: a null value
    doc_style = s.EndpointHeadersPatchIn.model_validate({"headers": {"X-Bar": None}})
    assert doc_style.headers == {"X-Bar": None}
    assert doc_style.delete_headers == []


def test_secret_rotate_from_sdk() -> None:
    rot = s.EndpointSecretRotateIn.model_validate(
        sdk_body(sdk.EndpointSecretRotateIn(key=SECRET, grace_period_seconds=0))
    )
    assert (rot.key, rot.grace_period_seconds) == (SECRET, 0)
    default = s.EndpointSecretRotateIn.model_validate(sdk_body(sdk.EndpointSecretRotateIn()))
    assert (default.key, default.grace_period_seconds) == (None, 86400)
    unprefixed = s.EndpointSecretRotateIn.model_validate({"key": SECRET.removeprefix("whsec_")})
    assert unprefixed.key == SECRET.removeprefix("whsec_")


def test_recover_in_from_sdk() -> None:
    rec = s.RecoverIn.model_validate(sdk_body(sdk.RecoverIn(since=T0, until=T1)))
    assert (rec.since, rec.until) == (T0, T1)
    naive = s.RecoverIn.model_validate({"since": "2024-05-01T12:30:15"})
    assert naive.since == datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)
    offset = s.RecoverIn.model_validate({"since": "2024-05-01T14:30:15+02:00"})
    assert offset.since == naive.since
    assert offset.since.tzinfo is UTC


def test_event_example_in_from_sdk() -> None:
    ex = s.EventExampleIn.model_validate(
        sdk_body(sdk.EventExampleIn(event_type="user.signup", example_index=1))
    )
    assert ex.event_type == "user.signup"


def test_message_in_from_sdk() -> None:
    body = sdk_body(
        sdk.MessageIn(
            event_type="user.signup",
            event_id="evt-1",
            payload={"email": "a@example.com", "nested": {"x": [1, None]}},
            channels=["project_1", "group_2"],
            tags=["t1", "t2"],
            application=sdk.ApplicationIn(name="Auto app", uid="auto-app"),
            payload_retention_period=30,
            deliver_at=T1,  # not supported: ignored
            transformations_params={"x": 1},  # not supported: ignored
        )
    )
    msg = s.MessageIn.model_validate(body)
    assert msg.event_type == "user.signup"
    assert msg.event_id == "evt-1"
    assert msg.payload == {"email": "a@example.com", "nested": {"x": [1, None]}}
    assert msg.channels == ["project_1", "group_2"]
    assert msg.tags == ["t1", "t2"]
    assert msg.payload_retention_period == 30
    assert msg.application is not None
    assert msg.application.uid == "auto-app"

    minimal = s.MessageIn.model_validate(
        sdk_body(sdk.MessageIn(event_type="user.signup", payload={}))
    )
    assert minimal.payload_retention_period == 90
    assert minimal.application is None
    assert minimal.tags is None


def test_app_portal_access_in_from_sdk() -> None:
    body = sdk_body(
        sdk.AppPortalAccessIn(
            application=sdk.ApplicationIn(name="x"),
            feature_flags=["beta", "beta", "new-ui"],
            read_only=True,  # not supported: ignored
            capabilities=[sdk.AppPortalCapability.VIEW_BASE],  # not supported: ignored
            expiry=3600,  # not supported: ignored
        )
    )
    access = s.AppPortalAccessIn.model_validate(body)
    assert access.application is not None
    assert access.application.name == "x"
    assert access.feature_flags == ["beta", "new-ui"]
    assert s.AppPortalAccessIn.model_validate({}).feature_flags == []


def test_unknown_fields_are_ignored() -> None:
    extras = {
        "version": 1,
        "rateLimit": 5,
        "featureFlags": ["x"],
        "groupName": "g",
        "transformationsParams": {"a": 1},
        "somethingNew": {"deep": True},
    }
    cases: list[tuple[type[pydantic.BaseModel], dict[str, Any]]] = [
        (s.ApplicationIn, {"name": "n"}),
        (s.ApplicationPatch, {}),
        (s.EventTypeIn, {"name": "a.b", "description": "d"}),
        (s.EventTypeUpdate, {"description": "d"}),
        (s.EventTypePatch, {}),
        (s.EndpointIn, {"url": "https://example.com"}),
        (s.EndpointUpdate, {"url": "https://example.com"}),
        (s.EndpointPatch, {}),
        (s.EndpointHeadersIn, {"headers": {}}),
        (s.EndpointHeadersPatchIn, {"headers": {}}),
        (s.EndpointSecretRotateIn, {}),
        (s.RecoverIn, {"since": "2024-01-01T00:00:00Z"}),
        (s.EventExampleIn, {"eventType": "a"}),
        (s.MessageIn, {"eventType": "a", "payload": {}}),
        (s.AppPortalAccessIn, {}),
    ]
    for model, body in cases:
        parsed = model.model_validate({**body, **extras})
        dumped = parsed.model_dump(by_alias=True)
        unknown = set(extras) - sdk_aliases(model)  # AppPortalAccessIn has featureFlags
        assert unknown
        assert not unknown & set(dumped), model.__name__
        assert not parsed.model_extra, model.__name__


def test_snake_case_names_are_accepted_too() -> None:
    ep = s.EndpointIn.model_validate({"url": "https://example.com", "event_types": ["a"]})
    assert ep.event_types == ["a"]


def test_duplicate_set_items_are_dropped() -> None:
    ep = s.EndpointIn.model_validate(
        {"url": "https://example.com", "eventTypes": ["a", "b", "a"], "channels": ["c"] * 11}
    )
    assert ep.event_types == ["a", "b"]
    assert ep.channels == ["c"]


# --- invalid requests ------------------------------------------------------------


def invalid(model: type[pydantic.BaseModel], body: dict[str, Any]) -> str:
    with pytest.raises(pydantic.ValidationError) as info:
        model.model_validate(body)
    return str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com/hook",
        "/relative/path",
        "ftp://example.com/",
        "javascript:alert(1)",
        "https://",
        "http:///nohost",
        "https://exa mple.com/",
        "https://example.com/\nX-Injected: 1",
        "https://example.com:99999/",
        "https://example.com:port/",
    ],
)
def test_bad_url_rejected(url: str) -> None:
    for model in (s.EndpointIn, s.EndpointUpdate, s.EndpointPatch):
        assert "url must be an absolute http or https URL" in invalid(model, {"url": url})


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com",
        "http://localhost:8080/hook?x=1#frag",
        "HTTPS://EXAMPLE.COM/Path",
        "http://[::1]:9000/",
        "https://user:pw@example.com/a%20b",
    ],
)
def test_good_url_kept_verbatim(url: str) -> None:
    assert s.EndpointIn.model_validate({"url": url}).url == url


@pytest.mark.parametrize(
    "uid", ["", "has space", "slash/", "x" * 257, "new\nline", "ünïcode", "abc\n"]
)
def test_bad_uid_rejected(uid: str) -> None:
    invalid(s.ApplicationIn, {"name": "n", "uid": uid})
    invalid(s.ApplicationPatch, {"uid": uid})
    invalid(s.EndpointIn, {"url": "https://example.com", "uid": uid})
    invalid(s.EndpointPatch, {"uid": uid})
    invalid(s.MessageIn, {"eventType": "a", "payload": {}, "eventId": uid})


def test_good_uid_accepted() -> None:
    uid = "azAZ09-_." + "x" * 247  # 256 chars
    assert s.ApplicationIn.model_validate({"name": "n", "uid": uid}).uid == uid


def test_uid_must_not_use_the_id_prefix_of_its_resource() -> None:
    assert "id prefix" in invalid(s.ApplicationIn, {"name": "n", "uid": APP_ID})
    assert "id prefix" in invalid(s.ApplicationPatch, {"uid": "app_x"})
    assert "id prefix" in invalid(s.EndpointIn, {"url": "https://e.com", "uid": "ep_x"})
    assert "id prefix" in invalid(s.EndpointPatch, {"uid": "ep_x"})
    assert "id prefix" in invalid(
        s.MessageIn, {"eventType": "a", "payload": {}, "eventId": "msg_x"}
    )
    # other resources' prefixes are fine (as in Svix)
    assert s.ApplicationIn.model_validate({"name": "n", "uid": "ep_x"}).uid == "ep_x"
    assert s.ApplicationIn.model_validate({"name": "n", "uid": "_app_x"}).uid == "_app_x"


def test_channel_limits() -> None:
    eleven = [f"c{i}" for i in range(11)]
    for model in (s.EndpointIn, s.EndpointUpdate, s.EndpointPatch):
        invalid(model, {"url": "https://example.com", "channels": eleven})
        invalid(model, {"url": "https://example.com", "channels": []})
        invalid(model, {"url": "https://example.com", "channels": ["bad channel"]})
        invalid(model, {"url": "https://example.com", "channels": ["x" * 129]})
        ok = model.model_validate({"url": "https://example.com", "channels": eleven[:10]})
        assert len(getattr(ok, "channels", None) or []) == 10
    msg = {"eventType": "a", "payload": {}}
    invalid(s.MessageIn, {**msg, "channels": [f"c{i}" for i in range(6)]})
    invalid(s.MessageIn, {**msg, "channels": []})
    assert s.MessageIn.model_validate({**msg, "channels": ["a"] * 6}).channels == ["a"]


def test_event_types_must_not_be_empty() -> None:
    for model in (s.EndpointIn, s.EndpointUpdate, s.EndpointPatch):
        invalid(model, {"url": "https://example.com", "eventTypes": []})
        invalid(model, {"url": "https://example.com", "eventTypes": ["bad name"]})


@pytest.mark.parametrize("name", ["", "user signup", "a/b", "x" * 257, "ok\n"])
def test_bad_event_type_name_rejected(name: str) -> None:
    invalid(s.EventTypeIn, {"name": name, "description": "d"})
    invalid(s.MessageIn, {"eventType": name, "payload": {}})
    invalid(s.EventExampleIn, {"eventType": name})


def test_throttle_rate_bounds() -> None:
    for bad in (0, -1, 65536):
        invalid(s.ApplicationIn, {"name": "n", "throttleRate": bad})
        invalid(s.ApplicationPatch, {"throttleRate": bad})
        invalid(s.EndpointIn, {"url": "https://e.com", "throttleRate": bad})
        invalid(s.EndpointPatch, {"throttleRate": bad})
    assert (
        s.EndpointIn.model_validate({"url": "https://e.com", "throttleRate": 1}).throttle_rate == 1
    )


def test_misc_constraints() -> None:
    invalid(s.ApplicationIn, {"name": ""})
    invalid(s.ApplicationIn, {})
    invalid(s.ApplicationIn, {"name": "n", "metadata": {"k": 1}})
    invalid(s.EndpointIn, {})
    invalid(s.EventTypeIn, {"name": "a"})  # description is required
    invalid(s.EventTypeIn, {"name": "a", "description": "d", "featureFlag": "no space"})
    invalid(s.EventTypeIn, {"name": "a", "description": "d", "schemas": {"1": "not an object"}})
    invalid(s.MessageIn, {"eventType": "a"})
    invalid(s.MessageIn, {"eventType": "a", "payload": [1, 2]})
    invalid(s.MessageIn, {"eventType": "a", "payload": "text"})
    invalid(s.MessageIn, {"eventType": "a", "payload": {}, "payloadRetentionPeriod": 4})
    invalid(s.MessageIn, {"eventType": "a", "payload": {}, "payloadRetentionPeriod": 91})
    invalid(s.MessageIn, {"eventType": "a", "payload": {}, "application": {"uid": "x"}})
    invalid(s.RecoverIn, {})
    invalid(s.RecoverIn, {"since": "yesterday"})
    invalid(s.AppPortalAccessIn, {"featureFlags": ["bad flag"]})


def test_grace_period_bounds() -> None:
    invalid(s.EndpointSecretRotateIn, {"gracePeriodSeconds": -1})
    invalid(s.EndpointSecretRotateIn, {"gracePeriodSeconds": 604801})
    ok = s.EndpointSecretRotateIn.model_validate({"gracePeriodSeconds": 604800})
    assert ok.grace_period_seconds == 604800


@pytest.mark.parametrize(
    "secret",
    [
        "whsec_short",
        "whsec_" + "A" * 33,  # matches the pattern but is not base64
        "whsec_" + "A" * 101,
        "whsec_" + "A" * 28 + "AA==",  # 22 bytes: too short
        "whsk_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "whsec_C2FVsBQIhrscChlQ-MV+b5sSYspob7oD",
    ],
)
def test_bad_secret_rejected(secret: str) -> None:
    invalid(s.EndpointIn, {"url": "https://example.com", "secret": secret})
    invalid(s.EndpointSecretRotateIn, {"key": secret})


@pytest.mark.parametrize(
    "headers",
    [
        {"bad name": "v"},
        {"X-Ok": "line\r\nX-Injected: 1"},
        {"X-Ok": "nul\x00"},
        {"X-Ok": "x" * 4097},
        {"Content-Type": "text/plain"},
        {"Content-Length": "1"},
        {"svix-id": "x"},
        {"webhook-signature": "v1,xxx"},
        {"X-Amz-Date": "x"},
    ],
)
def test_bad_headers_rejected(headers: dict[str, str]) -> None:
    invalid(s.EndpointHeadersIn, {"headers": headers})
    invalid(s.EndpointHeadersPatchIn, {"headers": headers})
    invalid(s.EndpointIn, {"url": "https://example.com", "headers": headers})


def test_header_values_must_be_strings() -> None:
    invalid(s.EndpointHeadersIn, {"headers": {"X-A": 1}})
    invalid(s.EndpointHeadersIn, {"headers": {"X-A": None}})
    invalid(s.EndpointHeadersIn, {})
