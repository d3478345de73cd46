"""Page rendering helpers; errors on page paths answer with a page while the
API keeps its JSON errors."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from hookgate.api import errors
from hookgate.web import app as web_app
from hookgate.web.templating import gist


def _app() -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/apps/typed")
    async def typed_page(count: int) -> dict[str, int]:
        return {"count": count}

    @app.get("/api/v1/typed")
    async def typed_api(count: int) -> dict[str, int]:
        return {"count": count}

    web_app.install(app)
    return app


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://test")


async def test_a_malformed_value_on_a_page_gives_a_400_page() -> None:
    async with _client() as client:
        answer = await client.get("/apps/typed", params={"count": "many"})
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert "count" in answer.text
    assert "malformed value" in answer.text


async def test_the_api_still_answers_json_422() -> None:
    async with _client() as client:
        answer = await client.get("/api/v1/typed", params={"count": "many"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "count"


def test_a_list_row_shows_the_first_sentence_of_a_long_reason() -> None:
    reason = "invalid signature: the body changed. " + "More detail. " * 20
    assert gist(reason) == "invalid signature: the body changed."
    assert len(gist("x" * 500)) == 140
    assert gist("x" * 500).endswith("…")
    assert gist("short") == "short"
