"""Which sources deduplicate on the body's hash by default: those whose
scheme locates an event id its signature does not cover."""

from __future__ import annotations

import pytest

from hookgate.core.verify import PRESETS
from hookgate.inbound.config import NO_SCHEME, SourceOptions, body_hash_dedupe, signs_event_id

#: Presets whose event id an attacker replaying a captured request can change.
UNSIGNED_ID = {"github", "shopify", "twilio", "gitlab"}
#: Presets that locate no event id at all.
NO_ID = {"generic_hmac", "basic", "token"} | {
    "adobe-sign",
    "docusign",
    "merge",
    "meta",
    "nango",
    "port-io",
    "tailscale",
    "vapi",
    "veriff",
    "zoom",
    "rutter",
    "openclaw",
    "panda-doc",
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_defaults_to_body_hash_dedupe_iff_its_event_id_is_unsigned(
    name: str,
) -> None:
    assert signs_event_id(PRESETS[name]) is (name not in UNSIGNED_ID | NO_ID)
    assert body_hash_dedupe(SourceOptions(), name) is (name in UNSIGNED_ID)


def test_the_config_option_overrides_the_default() -> None:
    assert body_hash_dedupe(SourceOptions(dedupeOnBodyHash=False), "github") is False
    assert body_hash_dedupe(SourceOptions(dedupeOnBodyHash=True), "stripe") is True
    assert body_hash_dedupe(SourceOptions(dedupeOnBodyHash=True), NO_SCHEME) is True
    assert body_hash_dedupe(SourceOptions(), NO_SCHEME) is False


def test_a_configured_dedupe_key_turns_the_default_off() -> None:
    options = SourceOptions(dedupeKey={"jsonPath": "hook_id"})
    assert body_hash_dedupe(options, "github") is False
