"""``hookgate listen``'s pure parts: where a run starts (``--from``), which
streamed requests it handles (no repeat across reconnections, nothing from
before its start), and how a stored request becomes the local one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hookgate.cli.listen import Progress, start_params
from hookgate.cli.listen_forward import forwarded_headers, sub_path, target_url
from hookgate.core import ids

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def request_id_at(moment: datetime) -> str:
    return ids.min_id_for_time(ids.INBOUND_REQUEST, moment)[:-1] + "1"


def test_from_accepts_now_an_id_a_time_and_a_duration_ago() -> None:
    rid = ids.new_id(ids.INBOUND_REQUEST)
    assert start_params("now") == {}
    assert start_params(rid) == {"after": rid}
    assert start_params("10m", now=NOW) == {"since": (NOW - timedelta(minutes=10)).isoformat()}
    assert start_params("2026-12-01T08:00:00Z") == {"since": "2026-12-01T08:00:00+00:00"}
    assert start_params("2026-12-01T08:00:00") == {"since": "2026-12-01T08:00:00+00:00"}
    with pytest.raises(ValueError, match="expected now, a request id"):
        start_params("yesterday")


def test_progress_handles_each_request_once_and_nothing_before_its_start() -> None:
    start = request_id_at(NOW)
    progress = Progress(floor=start)
    before = request_id_at(NOW - timedelta(seconds=1))
    first, second = (
        request_id_at(NOW + timedelta(seconds=1)),
        request_id_at(NOW + timedelta(seconds=2)),
    )
    assert not progress.is_new(before)
    assert progress.is_new(first)
    assert progress.is_new(second)
    # A reconnection sends the last seconds again: nothing is handled twice.
    assert not progress.is_new(first)
    assert not progress.is_new(second)
    assert progress.resume_from() == second


def test_progress_forgets_old_ids_but_still_refuses_them() -> None:
    progress = Progress(floor=request_id_at(NOW), lookback_ms=1000)
    handled = [request_id_at(NOW + timedelta(milliseconds=10 * n + 10)) for n in range(3000)]
    assert all(progress.is_new(i) for i in handled)
    assert len(progress.handled) < 3000  # pruned to twice the lookback
    assert not progress.is_new(handled[-1])


def test_forwarding_keeps_sub_path_query_and_headers_but_hop_by_hop_ones() -> None:
    item = {
        "id": "inreq_x",
        "path": "/in/<token>/a/b",
        "query": "x=1&x=2",
        "verified": True,
        "headers": [
            ["host", "hooks.example.com"],
            ["x-tag", "1"],
            ["connection", "keep-alive"],
            ["x-tag", "2"],
            ["content-length", "2"],
            ["transfer-encoding", "chunked"],
        ],
    }
    assert sub_path("/in/src_1") == ""
    assert sub_path("/in/<token>/a/b") == "/a/b"
    assert (
        target_url("http://localhost:3000/hook/", item) == "http://localhost:3000/hook/a/b?x=1&x=2"
    )
    assert (
        target_url("http://localhost:3000/h?k=v", item) == "http://localhost:3000/h/a/b?k=v&x=1&x=2"
    )
    assert forwarded_headers(item) == [
        ("x-tag", "1"),
        ("x-tag", "2"),
        ("X-Hookgate-Verified", "true"),
        ("X-Hookgate-Request-Id", "inreq_x"),
    ]
