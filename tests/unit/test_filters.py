from __future__ import annotations

from collections.abc import Sequence

import pytest

from hookgate.core.filters import endpoint_accepts


@pytest.mark.parametrize(
    ("event_type", "endpoint_event_types", "expected"),
    [
        ("invoice.paid", None, True),
        ("invoice.paid", [], True),
        ("invoice.paid", ["invoice.paid", "user.created"], True),
        ("invoice.failed", ["invoice.paid"], False),
        ("invoice", ["invoice.paid"], False),  # exact match, not prefix
    ],
)
def test_event_type_filter(
    event_type: str, endpoint_event_types: Sequence[str] | None, expected: bool
) -> None:
    assert (
        endpoint_accepts(
            event_type=event_type,
            channels=None,
            endpoint_event_types=endpoint_event_types,
            endpoint_channels=None,
        )
        is expected
    )


@pytest.mark.parametrize(
    ("channels", "endpoint_channels", "expected"),
    [
        (None, None, True),
        (["eu"], None, True),
        (["eu"], [], True),
        ([], [], True),
        (["eu", "us"], ["us"], True),
        (["eu"], ["us", "eu"], True),
        (["eu"], ["us"], False),
        (None, ["us"], False),  # a message without channels skips channel-scoped endpoints
        ([], ["us"], False),
    ],
)
def test_channel_filter(
    channels: Sequence[str] | None, endpoint_channels: Sequence[str] | None, expected: bool
) -> None:
    assert (
        endpoint_accepts(
            event_type="invoice.paid",
            channels=channels,
            endpoint_event_types=None,
            endpoint_channels=endpoint_channels,
        )
        is expected
    )


def test_both_filters_must_match() -> None:
    def accepts(event_type: str, channels: list[str]) -> bool:
        return endpoint_accepts(
            event_type=event_type,
            channels=channels,
            endpoint_event_types=["invoice.paid"],
            endpoint_channels=["eu"],
        )

    assert accepts("invoice.paid", ["eu"])
    assert not accepts("invoice.paid", ["us"])
    assert not accepts("user.created", ["eu"])
