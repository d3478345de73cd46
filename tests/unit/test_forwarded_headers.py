"""``api.forwarded``: the server-wide proxy setting rewrites the client
address on every route but ``/in``, where each source decides."""

from __future__ import annotations

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from hookgate.api.forwarded import ForwardedHeaders


async def _echo_client(scope: Scope, receive: Receive, send: Send) -> None:
    host = (scope.get("client") or ("-", 0))[0].encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": host})


async def _client_seen(trusted: str, path: str) -> str:
    transport = httpx.ASGITransport(
        app=ForwardedHeaders(_echo_client, trusted), client=("127.0.0.1", 5000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(path, headers={"X-Forwarded-For": "10.1.2.3"})
    return response.text


@pytest.mark.parametrize("trusted", ["127.0.0.1", "127.0.0.0/8", "*"])
async def test_a_trusted_proxy_sets_the_client_address_on_api_routes(trusted: str) -> None:
    assert await _client_seen(trusted, "/api/v1/app") == "10.1.2.3"


@pytest.mark.parametrize("trusted", ["", "127.0.0.1", "*"])
async def test_in_routes_always_see_the_socket_peer(trusted: str) -> None:
    assert await _client_seen(trusted, "/in/src_1") == "127.0.0.1"


async def test_by_default_no_one_is_trusted() -> None:
    assert await _client_seen("", "/api/v1/app") == "127.0.0.1"
