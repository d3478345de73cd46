"""HOOKGATE_HTTP_CLIENT chooses the sender the engine delivers with."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hookgate.config import Settings
from hookgate.core.netpolicy import AddressPolicy
from hookgate.delivery.sender import HttpSender
from hookgate.delivery.sender_reqwest import ReqwestSender
from hookgate.delivery.senders import open_sender


@pytest.mark.parametrize(
    ("value", "expected"), [("aiohttp", HttpSender), ("reqwest", ReqwestSender)]
)
async def test_the_setting_picks_the_sender(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: type
) -> None:
    monkeypatch.setenv("HOOKGATE_HTTP_CLIENT", value)
    settings = Settings()

    sender = open_sender(
        settings.http_client, AddressPolicy(), max_response_bytes=100, pool_limit=10
    )
    await sender.close()

    assert type(sender) is expected


def test_an_unknown_client_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKGATE_HTTP_CLIENT", "curl")

    with pytest.raises(ValidationError, match="http_client"):
        Settings()
