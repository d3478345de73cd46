"""HOOKGATE_HTTP_CLIENT chooses the sender the engine delivers with."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from hookgate.config import Settings
from hookgate.core.netpolicy import AddressPolicy
from hookgate.delivery.sender import HttpSender
from hookgate.delivery.sender_process import ProcessSender
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


@pytest.mark.parametrize("client", ["aiohttp", "reqwest"])
async def test_sending_in_a_child_process_wraps_the_chosen_client(
    monkeypatch: pytest.MonkeyPatch, client: str
) -> None:
    monkeypatch.setenv("HOOKGATE_HTTP_CLIENT", client)
    monkeypatch.setenv("HOOKGATE_SEND_IN_CHILD_PROCESS", "true")
    settings = Settings()

    sender = open_sender(
        settings.http_client,
        AddressPolicy(),
        max_response_bytes=100,
        pool_limit=10,
        in_child_process=settings.sends_in_child_process,
    )
    await sender.close()

    assert type(sender) is ProcessSender
    assert sender.child_config.client == client


@pytest.mark.parametrize(
    ("setting", "cpus", "expected"),
    [(None, {0, 1}, True), (None, {0}, False), ("false", {0, 1}, False), ("true", {0}, True)],
)
def test_sending_in_a_child_process_by_default_when_there_is_a_second_cpu(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, cpus: set[int], expected: bool
) -> None:
    if setting is None:
        monkeypatch.delenv("HOOKGATE_SEND_IN_CHILD_PROCESS", raising=False)
    else:
        monkeypatch.setenv("HOOKGATE_SEND_IN_CHILD_PROCESS", setting)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: cpus)

    assert Settings().sends_in_child_process is expected


def test_an_unknown_client_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKGATE_HTTP_CLIENT", "curl")

    with pytest.raises(ValidationError, match="http_client"):
        Settings()
