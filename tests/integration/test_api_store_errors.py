"""What an API client sees when the store cannot do what a request asks:
store errors become Svix-shaped answers, never a 500."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from hookgate.api import errors
from hookgate.store.database import Database
from hookgate.store.tables import endpoints
from tests.integration.conftest import NOW


def _app(db: Database) -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        await db.ping()
        return {"ok": True}

    @app.post("/orphan")
    async def orphan() -> dict[str, bool]:
        async with db.write() as conn:
            await conn.execute(
                endpoints.insert().values(
                    id="ep_2fX0aaaaaaaaaaaaaaaaaaaaaaaa",
                    app_id="app_gone",
                    url="https://example.com/hook",
                    description="",
                    disabled=False,
                    metadata={},
                    headers={},
                    secrets=[],
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        return {"ok": True}

    return app


async def _call(db: Database, method: str, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(db))
    async with httpx.AsyncClient(transport=transport, base_url="http://hookgate") as client:
        return await client.request(method, path)


async def test_an_unreachable_database_is_503() -> None:
    db = Database("postgresql+asyncpg://root@127.0.0.1:1/test")
    try:
        response = await _call(db, "GET", "/ping")
    finally:
        await db.dispose()
    assert response.status_code == 503
    assert response.json() == {
        "code": "service_unavailable",
        "detail": "The database is unavailable; retry shortly",
    }


async def test_a_write_the_database_refuses_is_409_with_its_reason(db: Database) -> None:
    response = await _call(db, "POST", "/orphan")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert "foreign key" in body["detail"].lower()
