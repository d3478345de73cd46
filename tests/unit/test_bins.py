"""``inbound.bins``: what a bin's config accepts and stores."""

from __future__ import annotations

import pytest

from hookgate.inbound import config as source_config
from hookgate.inbound.bins import BIN_TYPE, parse
from hookgate.inbound.config import METHODS, ConfigError, public_config


def test_a_bin_accepts_every_method_and_keeps_every_request() -> None:
    scheme, stored = source_config.parse(BIN_TYPE, {})
    assert scheme == source_config.NO_SCHEME
    assert stored["allowed_methods"] == list(METHODS)
    assert stored["dedupe_window_seconds"] == 0
    assert stored["secrets"] == []
    shown = public_config(stored)
    assert shown["response"] == {
        "status": 200,
        "body": '{"ok": true}',
        "headers": {"content-type": "application/json"},
        "delaySeconds": 0.0,
    }


def test_a_bin_keeps_its_response_and_the_common_limits() -> None:
    config = {
        "response": {"status": 503, "body": "down", "headers": {"Retry-After": "5"}},
        "maxBodyBytes": 100,
        "rateLimit": {"perSecond": 2},
    }
    _, stored = parse(config)
    assert stored["max_body_bytes"] == 100
    assert stored["rate_limit"]["per_second"] == 2
    assert public_config(stored)["response"]["status"] == 503


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"secret": "x"}, "config.secret is not for a hookgate-bin"),
        ({"allowed_methods": ["GET"]}, "config.allowed_methods is not"),
        ({"scheme": "github"}, "config.scheme is not"),
        ({"response": {"delaySeconds": 30.5}}, "config.response.delaySeconds"),
        ({"response": {"status": 204}}, "has no body"),
        ({"response": {"headers": {"Content-Length": "1"}}}, "may not be set"),
        ({"maxBodyBytes": 0}, "config.maxBodyBytes"),
    ],
)
def test_a_bin_refuses_what_makes_no_sense(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(config)


def test_a_bin_type_is_not_a_svix_type() -> None:
    assert source_config.scheme_of(BIN_TYPE) == source_config.NO_SCHEME
    assert BIN_TYPE not in source_config.REFUSED


def test_empty_verification_options_ask_for_nothing() -> None:
    # What ``hookgate source create hookgate-bin`` sends.
    _, stored = parse({"secrets": [], "secret": None})
    assert stored["secrets"] == []
    assert stored["allowed_methods"] == list(METHODS)
