"""``payloadRetentionPeriod`` travels from the message-create body to the
accept path (``api.routes.messages.accept_message``), with Svix's default
and range (5..90 days)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from hookgate.api import schemas as s
from hookgate.api.deps import Services
from hookgate.api.routes.messages import accept_message
from hookgate.store.accept_messages import AcceptItem, AcceptOutcome, AcceptStatus
from hookgate.store.records import Message


class _Engine:
    def __init__(self) -> None:
        self.items: list[AcceptItem] = []

    async def accept(self, item: AcceptItem) -> AcceptOutcome:
        self.items.append(item)
        message = Message(
            id="msg_1",
            app_id="app_1",
            event_type=item.event_type,
            event_id=None,
            channels=None,
            tags=None,
            payload=item.payload,
            created_at=0,
        )
        return AcceptOutcome(AcceptStatus.CREATED, message)


async def _accepted(body: dict[str, Any]) -> AcceptItem:
    engine = _Engine()
    svc = cast(
        Services,
        SimpleNamespace(engine=engine, settings=SimpleNamespace(max_payload_bytes=1 << 20)),
    )
    request = Request({"type": "http", "method": "POST", "headers": [], "path": "/"})
    response = await accept_message(
        svc, "app_1", s.MessageIn.model_validate(body), request, with_content=True
    )
    assert response.status_code == 202
    [item] = engine.items
    return item


async def test_the_retention_period_is_passed_to_the_accept_path() -> None:
    body = {"eventType": "a.b", "payload": {}, "payloadRetentionPeriod": 7}
    assert (await _accepted(body)).payload_retention_days == 7


async def test_the_retention_period_defaults_to_90_days() -> None:
    assert (await _accepted({"eventType": "a.b", "payload": {}})).payload_retention_days == 90
    body = {"eventType": "a.b", "payload": {}, "payloadRetentionPeriod": None}
    assert (await _accepted(body)).payload_retention_days == 90


@pytest.mark.parametrize("days", [0, 4, 91, "x"])
def test_a_period_out_of_range_is_refused(days: object) -> None:
    with pytest.raises(ValidationError):
        s.MessageIn.model_validate(
            {"eventType": "a", "payload": {}, "payloadRetentionPeriod": days}
        )
