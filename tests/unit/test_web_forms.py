"""Form values of the pages: times and event type names."""

from __future__ import annotations

from hookgate.web.forms import is_event_type, utc_ms


def test_a_form_time_is_utc_unless_it_says_otherwise() -> None:
    assert utc_ms("1970-01-01T00:00:01") == 1000
    assert utc_ms(" 1970-01-01 00:00:01Z ") == 1000
    assert utc_ms("1970-01-01T01:00:01+01:00") == 1000
    assert utc_ms("yesterday") is None
    assert utc_ms("") is None


def test_event_type_names_follow_the_api() -> None:
    assert is_event_type("invoice.paid")
    assert not is_event_type("invoice paid")
    assert not is_event_type("x" * 257)
    assert not is_event_type("")
