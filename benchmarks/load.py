"""Load generator, run as its own process so it never shares a core's event loop
with what it measures. Prints one JSON object on stdout.

``closed``: ``--count`` POSTs over ``--concurrency`` keep-alive connections, each
connection sending its next request as soon as the previous one answered. What is
posted depends on ``--kind``: ``msg`` message-create bodies (``--token``), ``raw``
delivery-like bodies and headers, ``inbound`` one GitHub ``push`` body signed with
``--secret`` (``X-Hub-Signature-256``), each request with its own
``X-GitHub-Delivery`` (a fresh event for Hookgate's dedupe). Every request is built
before the clock starts.

``open``: POSTs at a fixed ``--rate`` for ``--duration`` seconds whatever the
responses do (open loop); each payload carries its send time (``time.time()``).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter
from typing import Any

import aiohttp
import orjson
import uvloop

from benchmarks.common import (
    GITHUB_SECRET,
    event_payload,
    github_headers,
    github_push_payload,
    message_body,
    webhook_like_headers,
)

#: What Hookgate's sender puts on every delivery besides the signature headers.
DELIVERY_SESSION_HEADERS = {
    "User-Agent": "Hookgate-Webhooks/0.1",
    "Content-Type": "application/json",
}


def _bodies(kind: str, start: int, count: int) -> list[bytes]:
    if kind == "raw":  # exactly what a delivery of that message carries
        return [orjson.dumps(event_payload(i)) for i in range(start, start + count)]
    return [orjson.dumps(message_body(event_payload(i))) for i in range(start, start + count)]


def _headers(kind: str, token: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(session headers, per-request headers)."""
    if kind == "raw":
        return dict(DELIVERY_SESSION_HEADERS), webhook_like_headers()
    session = {"Content-Type": "application/json"}
    if token:
        session["Authorization"] = f"Bearer {token}"
    return session, {}


#: One request: (body, per-request headers).
Request = tuple[bytes, dict[str, str]]


def _signed_push(secret: str) -> tuple[bytes, dict[str, str]]:
    """The GitHub ``push`` body and every header but the delivery id (the
    signature covers only the body, so one body serves every request)."""
    body = orjson.dumps(github_push_payload())
    return body, github_headers(body, secret)


def _requests(args: argparse.Namespace, start: int, count: int) -> list[Request]:
    if args.kind == "inbound":
        body, _ = _signed_push(args.secret)
        return [(body, {"X-GitHub-Delivery": str(uuid.uuid4())}) for _ in range(count)]
    _, headers = _headers(args.kind, args.token)
    return [(body, headers) for body in _bodies(args.kind, start, count)]


async def _closed_batch(
    session: aiohttp.ClientSession,
    url: str,
    requests: list[Request],
    concurrency: int,
    statuses: Counter[str],
) -> None:
    position = 0

    async def worker() -> None:
        nonlocal position
        while position < len(requests):
            body, headers = requests[position]
            position += 1
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    statuses[str(response.status)] += 1
            except (aiohttp.ClientError, OSError) as exc:
                statuses[type(exc).__name__] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def closed_loop(args: argparse.Namespace) -> dict[str, Any]:
    if args.kind == "inbound":
        _, session_headers = _signed_push(args.secret)
    else:
        session_headers, _ = _headers(args.kind, args.token)
    warmup = _requests(args, 0, args.warmup)
    timed = _requests(args, args.warmup, args.count)
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(
        connector=connector, headers=session_headers, timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        warm: Counter[str] = Counter()
        if warmup:
            await _closed_batch(session, args.url, warmup, args.concurrency, warm)
        statuses: Counter[str] = Counter()
        started = time.time()
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        await _closed_batch(session, args.url, timed, args.concurrency, statuses)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    return {
        "mode": "closed",
        "count": args.count,
        "concurrency": args.concurrency,
        "body_bytes": len(timed[0][0]) if timed else 0,
        "started": started,
        "elapsed": elapsed,
        "rps": args.count / elapsed if elapsed > 0 else 0.0,
        "cpu_s": cpu,
        "statuses": dict(statuses),
        "warmup_statuses": dict(warm),
    }


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def open_loop(args: argparse.Namespace) -> dict[str, Any]:
    session_headers, _ = _headers("msg", args.token)
    total = int(args.rate * args.duration)
    interval = 1.0 / args.rate
    statuses: Counter[str] = Counter()
    response_ms: list[float] = []
    tasks: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=args.max_connections)

    async def send(session: aiohttp.ClientSession, seq: int) -> None:
        t0 = time.perf_counter()
        body = orjson.dumps(message_body(event_payload(seq, sent=time.time())))
        try:
            async with session.post(args.url, data=body) as response:
                await response.read()
                statuses[str(response.status)] += 1
        except (aiohttp.ClientError, OSError) as exc:
            statuses[type(exc).__name__] += 1
        response_ms.append((time.perf_counter() - t0) * 1000.0)

    max_lag = 0.0
    async with aiohttp.ClientSession(
        connector=connector, headers=session_headers, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:
        start = time.perf_counter()
        for seq in range(total):
            due = start + seq * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                max_lag = max(max_lag, -delay)
            task = asyncio.create_task(send(session, seq))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        send_seconds = time.perf_counter() - start
        if tasks:
            await asyncio.wait(set(tasks), timeout=args.drain_timeout)
    response_ms.sort()
    return {
        "mode": "open",
        "sent": total,
        "rate": args.rate,
        "send_seconds": send_seconds,
        "max_schedule_lag_ms": max_lag * 1000.0,
        "statuses": dict(statuses),
        "response_p50_ms": _percentile(response_ms, 0.50),
        "response_p99_ms": _percentile(response_ms, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="mode", required=True)
    closed = sub.add_parser("closed")
    closed.add_argument("--url", required=True)
    closed.add_argument("--count", type=int, required=True)
    closed.add_argument("--concurrency", type=int, default=64)
    closed.add_argument("--warmup", type=int, default=0)
    closed.add_argument("--kind", choices=("msg", "raw", "inbound"), default="msg")
    closed.add_argument("--token")
    closed.add_argument("--secret", default=GITHUB_SECRET, help="--kind inbound: signing secret")
    opened = sub.add_parser("open")
    opened.add_argument("--url", required=True)
    opened.add_argument("--rate", type=float, required=True)
    opened.add_argument("--duration", type=float, required=True)
    opened.add_argument("--token")
    opened.add_argument("--max-connections", type=int, default=256)
    opened.add_argument("--drain-timeout", type=float, default=15.0)
    args = parser.parse_args()
    runner = closed_loop if args.mode == "closed" else open_loop
    result = uvloop.run(runner(args))
    print(orjson.dumps(result).decode(), flush=True)


if __name__ == "__main__":
    main()
