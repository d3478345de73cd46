"""Name resolution that only ever yields addresses the policy allows.

The connection pool connects to what this resolver returns, so the address
checked is the address connected to (no DNS-rebinding window).
"""

from __future__ import annotations

import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from hookgate.core.netpolicy import AddressPolicy


class BlockedAddressError(OSError):
    """A destination was refused by the address policy.

    ``str(error)`` is the policy's message, which tells the operator how to
    allow the address.
    """


class PolicyResolver(AbstractResolver):
    """Resolves host names, keeping only the addresses the policy allows.

    Delegates to ``inner`` (a new ``aiohttp.ThreadedResolver`` by default, which
    needs a running event loop) and drops every refused address. Raises
    ``BlockedAddressError`` when the host resolves only to refused addresses;
    resolution failures from ``inner`` (``socket.gaierror``) propagate as is.
    Closes ``inner`` when closed.
    """

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        reasons: list[str] = []
        for result in results:
            reason = self._policy.blocked_reason(result["host"])
            if reason is None:
                allowed.append(result)
            elif reason not in reasons:
                reasons.append(reason)
        if allowed or not results:
            return allowed
        raise BlockedAddressError(
            f"host {host} resolves only to refused addresses: " + "; ".join(reasons)
        )

    async def close(self) -> None:
        await self._inner.close()
