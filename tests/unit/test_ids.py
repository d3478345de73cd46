from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hookgate.core import ids

BASE62 = set(string.digits + string.ascii_uppercase + string.ascii_lowercase)
ALL_PREFIXES = [ids.APP, ids.ENDPOINT, ids.MESSAGE, ids.ATTEMPT, ids.DELIVERY, ids.TOKEN, ids.TASK]


@pytest.fixture(autouse=True)
def _isolated_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests that fake the clock must not leak a future "last id" into others.
    monkeypatch.setattr(ids, "_last", 0)


def _fake_clock(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    ns = int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000
    monkeypatch.setattr(ids, "time_ns", lambda: ns)


@pytest.mark.parametrize("prefix", ALL_PREFIXES)
def test_new_id_format(prefix: str) -> None:
    value = ids.new_id(prefix)
    head, _, body = value.partition("_")
    assert head == prefix
    assert len(body) == 27
    assert set(body) <= BASE62
    assert ids.id_prefix(value) == prefix
    assert ids.looks_like_id(value, prefix)


def test_ids_created_in_a_burst_sort_in_creation_order() -> None:
    created = [ids.new_id(ids.MESSAGE) for _ in range(5000)]
    assert sorted(created) == created
    assert len(set(created)) == len(created)


def test_same_millisecond_ids_stay_ordered_even_if_random_part_is_smaller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_clock(monkeypatch, datetime(2024, 5, 1, tzinfo=UTC))
    randoms = iter([b"\xff" * 14, b"\x00" * 14])
    monkeypatch.setattr(ids, "token_bytes", lambda n: next(randoms))
    first = ids.new_id(ids.MESSAGE)
    second = ids.new_id(ids.MESSAGE)
    assert first < second


def test_ids_stay_ordered_when_the_clock_steps_backwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_clock(monkeypatch, datetime(2024, 5, 1, 12, tzinfo=UTC))
    first = ids.new_id(ids.MESSAGE)
    _fake_clock(monkeypatch, datetime(2024, 5, 1, 11, tzinfo=UTC))
    second = ids.new_id(ids.MESSAGE)
    assert first < second


def test_ids_from_later_milliseconds_sort_later(monkeypatch: pytest.MonkeyPatch) -> None:
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    later = []
    for ms in (0, 1, 2, 1000, 86_400_000):
        monkeypatch.setattr(ids, "_last", 0)  # ordering must come from the time alone
        _fake_clock(monkeypatch, t0 + timedelta(milliseconds=ms))
        later.append(ids.new_id(ids.MESSAGE))
    assert sorted(later) == later


def test_min_id_for_time_brackets_ids_created_in_that_millisecond(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    when = datetime(2024, 5, 1, 8, 30, 15, 123000, tzinfo=UTC)
    _fake_clock(monkeypatch, when)
    value = ids.new_id(ids.MESSAGE)
    assert ids.min_id_for_time(ids.MESSAGE, when) <= value
    assert value < ids.min_id_for_time(ids.MESSAGE, when + timedelta(milliseconds=1))
    assert ids.min_id_for_time(ids.MESSAGE, when - timedelta(milliseconds=1)) < value


def test_min_id_for_time_with_real_clock() -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    value = ids.new_id(ids.APP)
    after = datetime.now(UTC) + timedelta(milliseconds=1)
    assert ids.min_id_for_time(ids.APP, before) <= value < ids.min_id_for_time(ids.APP, after)


def test_min_id_for_time_is_the_same_for_equal_instants_in_any_zone() -> None:
    utc = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    cest = datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    naive = datetime(2024, 5, 1, 8, 0)  # taken as UTC, not local time
    expected = ids.min_id_for_time(ids.MESSAGE, utc)
    assert ids.min_id_for_time(ids.MESSAGE, cest) == expected
    assert ids.min_id_for_time(ids.MESSAGE, naive) == expected
    assert ids.looks_like_id(expected, ids.MESSAGE)


def test_min_id_for_time_before_epoch_is_the_smallest_id() -> None:
    assert ids.min_id_for_time(ids.MESSAGE, datetime(1960, 1, 1, tzinfo=UTC)) == "msg_" + "0" * 27


@pytest.mark.parametrize(
    "value",
    [
        "",
        "msg",
        "msg_",
        "msg_" + "0" * 26,  # too short
        "msg_" + "0" * 28,  # too long
        "msg_" + "0" * 26 + "-",  # not base62
        "msg_" + "0" * 26 + "é",
        "user_" + "0" * 27,  # not one of our prefixes
        "MSG_" + "0" * 27,
        "msg-" + "0" * 27,
        "msg_" + "z" * 27,  # more than 20 bytes
        "my-order-123",  # a typical user-chosen uid
    ],
)
def test_id_prefix_rejects_values_that_are_not_ids(value: str) -> None:
    assert ids.id_prefix(value) is None


def test_looks_like_id_checks_the_expected_prefix() -> None:
    value = ids.new_id(ids.ENDPOINT)
    assert ids.looks_like_id(value, ids.ENDPOINT)
    assert not ids.looks_like_id(value, ids.APP)
    assert not ids.looks_like_id(value, "e")
    assert not ids.looks_like_id(value + "0", ids.ENDPOINT)
    assert not ids.looks_like_id("ep_" + "z" * 27, ids.ENDPOINT)
