"""Sealing secrets with the operator's keys (``core.secretbox``)."""

from __future__ import annotations

import pytest
from cryptography.fernet import MultiFernet
from hypothesis import given
from hypothesis import strategies as st

from hookgate.core.secretbox import (
    SecretBox,
    SecretKeyError,
    generate_key,
    parse_keys,
    token_digest,
)

OLD, NEW = generate_key(), generate_key()


@given(st.text(max_size=200))
def test_a_sealed_secret_opens_to_itself_and_does_not_show_it(secret: str) -> None:
    box = SecretBox([NEW])
    sealed = box.seal(secret)
    assert box.open(sealed) == secret
    if len(secret) >= 4:
        assert secret not in sealed
    assert box.seal(secret) != sealed  # a fresh IV each time


def test_new_seals_use_the_first_key_and_opening_tries_all() -> None:
    under_old = SecretBox([OLD]).seal("whsec_old")
    both = SecretBox([NEW, OLD])
    assert both.open(under_old) == "whsec_old"
    assert SecretBox([NEW]).open(both.seal("whsec_new")) == "whsec_new"
    with pytest.raises(SecretKeyError, match="cannot be decrypted") as caught:
        SecretBox([NEW]).open(under_old)
    assert NEW not in str(caught.value)
    assert OLD not in str(caught.value)


def test_reseal_moves_a_value_to_the_first_key_once() -> None:
    under_old = SecretBox([OLD]).seal("s")
    both = SecretBox([NEW, OLD])
    resealed = both.reseal(under_old)
    assert resealed is not None
    assert SecretBox([NEW]).open(resealed) == "s"
    assert both.reseal(resealed) is None
    with pytest.raises(SecretKeyError):
        SecretBox([generate_key()]).reseal(under_old)


def test_parse_keys_takes_a_comma_list_newest_first() -> None:
    assert parse_keys(f" {NEW} ,, {OLD} ") == [NEW, OLD]
    assert parse_keys("") == []


@pytest.mark.parametrize(
    "bad", ["short", "A" * 44, NEW[:-2]], ids=["short", "not-a-key", "truncated"]
)
def test_a_malformed_key_is_named_by_position_never_shown(bad: str) -> None:
    with pytest.raises(SecretKeyError, match="key 2 of HOOKGATE_SECRET_KEY") as caught:
        parse_keys(f"{NEW},{bad}")
    assert bad not in str(caught.value)
    assert NEW not in str(caught.value)


def test_a_box_needs_a_key() -> None:
    with pytest.raises(SecretKeyError):
        SecretBox([])


def test_token_digest_is_sha256_hex() -> None:
    assert token_digest("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_opening_the_same_sealed_value_again_costs_no_decryption(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loading an endpoint for every claimed batch must not decrypt its
    secrets every time: the dispatcher signs every delivery."""
    box = SecretBox([NEW])
    sealed = box.seal("whsec_x")
    calls = []
    decrypt = MultiFernet.decrypt

    def counting(self: MultiFernet, token: bytes | str, ttl: int | None = None) -> bytes:
        calls.append(token)
        return decrypt(self, token, ttl)

    monkeypatch.setattr(MultiFernet, "decrypt", counting)
    assert [box.open(sealed) for _ in range(1000)] == ["whsec_x"] * 1000
    assert len(calls) == 1
