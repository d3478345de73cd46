"""``hookgate tail``'s cursor and body display (``cli.tail``)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from hookgate.cli import tail as tail_module
from hookgate.cli.tail import Cursor, body_text


def item(request_id: str, at: str) -> dict[str, Any]:
    return {"id": request_id, "receivedAt": at, "status": "accepted", "verified": False}


def test_the_cursor_shows_each_request_once_oldest_first_even_when_committed_late() -> None:
    cursor = Cursor()
    first = [item("b", "2026-01-01T00:00:02Z"), item("a", "2026-01-01T00:00:01Z")]
    assert [i["id"] for i in cursor.take(first)] == ["a", "b"]
    assert cursor.since() == "2025-12-31T23:59:52+00:00"  # 10 s before the newest
    # The next poll sees "b" again and "c", stored before "b" but committed after.
    again = [item("b", "2026-01-01T00:00:02Z"), item("c", "2026-01-01T00:00:01.500Z")]
    assert [i["id"] for i in cursor.take(again)] == ["c"]
    assert cursor.take(again) == []


def test_bodies_show_as_pretty_json_text_or_hex() -> None:
    pretty = '{\n  "a": [\n    1,\n    2\n  ],\n  "s": "é"\n}'
    assert body_text(b'{"a":[1,2],"s":"\\u00e9"}') == pretty
    assert body_text(b"\x1b[2Jclear").startswith("00000000  1b 5b 32 4a")
    assert body_text(b"plain text\n") == "plain text\n"
    assert body_text(bytes(range(18))) == (
        "00000000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f\n00000010  10 11"
    )
    assert body_text(b"") == "(empty body)"


class _Stop(Exception):
    pass


def test_tail_survives_an_unreachable_server_and_shows_what_arrives_next(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = {**item("inreq_1", "2026-01-01T00:00:01Z"), **_shown("GET", b"")}
    new = {**item("inreq_2", "2026-01-01T00:00:02Z"), **_shown("PUT", b'{"a":1}')}
    answers: list[Any] = [
        httpx.ConnectError("refused"),
        [old],  # "now": the newest request
        [old],  # those close before it
        [new, old],
    ]

    def respond(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(200, json={"data": answer, "done": True, "iterator": None})

    polls: list[float] = []

    def sleep(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 3:  # after the third poll
            raise _Stop

    monkeypatch.setattr("hookgate.cli.tail.time.sleep", sleep)
    client = httpx.Client(base_url="http://hookgate.test", transport=httpx.MockTransport(respond))
    with pytest.raises(_Stop):
        tail_module._follow(client, "src_1", Cursor(), True, 1.0)
    out, err = capsys.readouterr()
    assert "Server unreachable" in err
    assert "Server reachable again" in err
    assert "Tailing src_1" in out
    assert "PUT" in out
    assert '"a": 1' in out
    assert "GET" not in out


def _shown(method: str, body: bytes) -> dict[str, Any]:
    encoded = base64.b64encode(body).decode()
    return {"method": method, "path": "/in/<token>", "query": "", "headers": [], "body": encoded}
