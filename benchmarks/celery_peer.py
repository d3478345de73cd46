"""The Celery peer: what a team without Hookgate would run to send webhooks.

A Celery 5 application on a Redis broker (``CELERY_PEER_BROKER``, a dedicated
Redis database) with one task, ``deliver``: it signs the body Standard Webhooks
style (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<HMAC-SHA256>``)
and posts it with a keep-alive ``requests`` session; a non-2xx answer or a
connection error is retried with exponential back-off and jitter (up to 8 times).
Task results are not stored (``ignore_result``) and messages are acknowledged
on receipt (Celery's defaults): the cheapest setup Celery offers, so the
comparison is generous to the peer.

Also the HTTP side a user would put in front of it:
``python -m benchmarks.celery_peer --port N`` serves
``POST /api/v1/app/{app}/msg`` with FastAPI on uvicorn (the options of
``noop_app.py``); it enqueues the ``payload`` of the same message-create body
Hookgate gets and answers 202. The enqueue (``Task.delay``, a Redis ``LPUSH``
over loopback) runs right in the event loop: no thread hop, the fastest way.

The worker: ``celery -A benchmarks.celery_peer worker`` with
``CELERY_PEER_TARGET`` (the receiver URL) and ``CELERY_PEER_SECRET``
(``whsec_<base64>``) in its environment.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import random
import threading
import time
import uuid

import orjson
import requests
import uvicorn
from celery import Celery, Task
from fastapi import FastAPI, Request, Response

BROKER = os.environ.get("CELERY_PEER_BROKER", "redis://127.0.0.1:6379/11")
TARGET = os.environ.get("CELERY_PEER_TARGET", "http://127.0.0.1:8090/hook")
SECRET = os.environ.get("CELERY_PEER_SECRET", "whsec_" + base64.b64encode(b"k" * 24).decode())
MAX_RETRIES = 8

celery = Celery("celery_peer", broker=BROKER)
celery.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)

_KEY = base64.b64decode(SECRET.removeprefix("whsec_"))
_local = threading.local()  # one requests.Session per worker thread/process


def _session() -> requests.Session:
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.headers.update({"User-Agent": "celery-peer/1", "Content-Type": "application/json"})
        _local.session = session
    return session


def signed_headers(msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Standard Webhooks headers for ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(_KEY, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    signature = "v1," + base64.b64encode(mac).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": signature}


@celery.task(bind=True, name="deliver", max_retries=MAX_RETRIES)
def deliver(self: Task, msg_id: str, body: str) -> None:  # type: ignore[type-arg]
    """POST ``body`` to the target, signed; retry with back-off unless 2xx."""
    data = body.encode()
    try:
        response = _session().post(
            TARGET, data=data, headers=signed_headers(msg_id, data), timeout=30
        )
        failed = not 200 <= response.status_code < 300
        reason = f"status {response.status_code}"
    except requests.RequestException as exc:
        failed, reason = True, type(exc).__name__
    if failed:
        countdown = 2**self.request.retries + random.random()
        raise self.retry(countdown=countdown, exc=RuntimeError(reason))


api = FastAPI(title="celery-peer")


@api.post("/api/v1/app/{app_id}/msg", status_code=202)
async def create_message(app_id: str, request: Request) -> Response:
    """Enqueue the message's payload for delivery; 202 with its id."""
    message = orjson.loads(await request.body())
    msg_id = "msg_" + uuid.uuid4().hex
    deliver.delay(msg_id, orjson.dumps(message["payload"]).decode())
    return Response(orjson.dumps({"id": msg_id}), status_code=202, media_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        api,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=15,
    )


if __name__ == "__main__":
    main()
