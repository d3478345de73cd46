"""The accept and inbound benchmarks' baseline: do-nothing FastAPI endpoints
served with the same uvicorn options as ``hookgate serve`` (see ``hookgate.cli.main``).

``POST /api/v1/app/{app_id}/msg`` answers 202 like message creation;
``POST /in/{source}`` reads the body and answers 200 ``{"ok": true}`` like an
accepted inbound request.

Run: ``python -m benchmarks.noop_app --port 8092``.
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI, Request

app = FastAPI(title="noop")


@app.post("/api/v1/app/{app_id}/msg", status_code=202)
async def create_message(app_id: str) -> dict[str, str]:
    return {"id": "msg_noop", "app": app_id}


@app.post("/in/{source}")
async def receive(source: str, request: Request) -> dict[str, bool]:
    await request.body()
    return {"ok": True}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=15,
    )


if __name__ == "__main__":
    main()
