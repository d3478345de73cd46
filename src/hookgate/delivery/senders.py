"""Choosing the outbound HTTP client (``HOOKGATE_HTTP_CLIENT``) and where it
runs (``HOOKGATE_SEND_IN_CHILD_PROCESS``)."""

from __future__ import annotations

from hookgate.core.netpolicy import AddressPolicy
from hookgate.delivery.outbound import USER_AGENT, HttpClient, Sender
from hookgate.delivery.sender import HttpSender

__all__ = ["HttpClient", "open_sender"]


def open_sender(
    client: HttpClient,
    policy: AddressPolicy,
    *,
    max_response_bytes: int,
    pool_limit: int,
    pool_limit_per_host: int = 0,
    user_agent: str = USER_AGENT,
    in_child_process: bool = False,
) -> Sender:
    """A ``Sender`` over ``client``: ``"aiohttp"`` (``HttpSender``) or
    ``"reqwest"`` (``ReqwestSender``); both keep the same contract. With
    ``in_child_process`` that sender runs in a process of its own
    (``ProcessSender``), with the same contract again."""
    if in_child_process:
        from hookgate.delivery.sender_process import ProcessSender

        return ProcessSender(
            policy,
            client=client,
            max_response_bytes=max_response_bytes,
            pool_limit=pool_limit,
            pool_limit_per_host=pool_limit_per_host,
            user_agent=user_agent,
        )
    if client == "reqwest":
        # Imported only when chosen: the Rust extension loads a runtime of its own.
        from hookgate.delivery.sender_reqwest import ReqwestSender

        return ReqwestSender(
            policy,
            max_response_bytes=max_response_bytes,
            pool_limit=pool_limit,
            pool_limit_per_host=pool_limit_per_host,
            user_agent=user_agent,
        )
    return HttpSender(
        policy,
        max_response_bytes=max_response_bytes,
        pool_limit=pool_limit,
        pool_limit_per_host=pool_limit_per_host,
        user_agent=user_agent,
    )
