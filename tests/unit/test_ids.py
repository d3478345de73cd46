from __future__ import annotations

import os
import string
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hookgate.core import ids

BASE62 = set(string.digits + string.ascii_uppercase + string.ascii_lowercase)
ALL_PREFIXES = sorted(ids.KNOWN_PREFIXES)


@pytest.fixture(autouse=True)
def _isolated_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests that fake the clock must not leak a future "last id" into others.
    monkeypatch.setattr(ids, "_last", 0)
    # Nor leave buffered random bytes behind: tests that fake token_bytes must see it called.
    monkeypatch.setattr(ids, "_pool", b"")
    monkeypatch.setattr(ids, "_pool_pos", 0)


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


def _random_part(value: str) -> int:
    """The low 14 bytes of an id's body (the random part, unless bumped by +1)."""
    number = 0
    for char in value.partition("_")[2]:
        number = number * 62 + ids._ALPHABET.index(char)
    return number & ((1 << 112) - 1)


def test_random_bytes_are_read_in_blocks_and_each_used_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_clock(monkeypatch, datetime(2024, 5, 1, tzinfo=UTC))
    requested: list[int] = []
    blocks = iter(bytes([i]) * 14 * ids._POOL_IDS for i in range(1, 4))

    def token_bytes(n: int) -> bytes:
        requested.append(n)
        return next(blocks)

    monkeypatch.setattr(ids, "token_bytes", token_bytes)
    monkeypatch.setattr(ids, "_last", 0)
    created = [ids.new_id(ids.MESSAGE) for _ in range(ids._POOL_IDS + 1)]

    assert requested == [14 * ids._POOL_IDS, 14 * ids._POOL_IDS]
    # Same millisecond, same random part: only the +1 rule keeps them apart...
    assert sorted(created) == created
    assert len(set(created)) == len(created)
    # ...and the id after the block is drawn from the next block.
    assert _random_part(created[-1]) == int.from_bytes(b"\x02" * 14)


def test_random_parts_differ_between_ids() -> None:
    parts = {_random_part(ids.new_id(ids.MESSAGE)) for _ in range(3 * ids._POOL_IDS)}
    assert len(parts) == 3 * ids._POOL_IDS


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_reuse_the_parents_random_bytes() -> None:
    ids.new_id(ids.MESSAGE)  # the parent now holds a partly used block
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read_end)
        os.write(write_end, ids.new_id(ids.MESSAGE).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        child = pipe.read().decode()
    os.waitpid(pid, 0)
    parent = ids.new_id(ids.MESSAGE)
    assert _random_part(child) != _random_part(parent)


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


def test_created_ms_reads_back_the_creation_time() -> None:
    before = int(time.time() * 1000)
    value = ids.new_id(ids.MESSAGE)
    after = int(time.time() * 1000)
    created = ids.created_ms(value)
    assert created is not None
    assert before <= created <= after
    when = datetime(2024, 5, 17, 12, 30, 1, 250_000, tzinfo=UTC)
    assert ids.created_ms(ids.min_id_for_time(ids.MESSAGE, when)) == int(when.timestamp() * 1000)
    assert ids.created_ms("my-order-123") is None
