"""Choosing the outbound HTTP client (``HOOKGATE_HTTP_CLIENT``)."""

from __future__ import annotations

from typing import Literal

from hookgate.core.netpolicy import AddressPolicy
from hookgate.delivery.outbound import Sender
from hookgate.delivery.sender import HttpSender

HttpClient = Literal["aiohttp", "reqwest"]


def open_sender(
    client: HttpClient,
    policy: AddressPolicy,
    *,
    max_response_bytes: int,
    pool_limit: int,
) -> Sender:
    """A ``Sender`` over ``client``: ``"aiohttp"`` (``HttpSender``) or
    ``"reqwest"`` (``ReqwestSender``); both keep the same contract."""
    if client == "reqwest":
        # Imported only when chosen: the Rust extension loads a runtime of its own.
        from hookgate.delivery.sender_reqwest import ReqwestSender

        return ReqwestSender(policy, max_response_bytes=max_response_bytes, pool_limit=pool_limit)
    return HttpSender(policy, max_response_bytes=max_response_bytes, pool_limit=pool_limit)
