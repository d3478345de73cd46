"""Properties of every verification preset, over generated requests (the
fixed examples are in ``test_verify_presets.py``, whose independent stdlib
signers are reused here):

- whatever the body and secret, what the scheme signs verifies;
- one changed body byte, another secret, or the signature of other content
  is refused with the precise exception;
- timestamps outside the tolerance are refused (``StaleTimestamp``), inside
  it accepted;
- arbitrary headers and bodies never raise anything but a
  ``VerificationError``.
"""

from __future__ import annotations

import base64
import contextlib
import string
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hookgate.core.verify import (
    PRESETS,
    BadSignature,
    StaleTimestamp,
    VerificationError,
    Verified,
    verify,
)
from tests.unit.test_verify_presets import CASES, IDS, NOW, Case, Headers

HMAC_CASES = [c for c in CASES if c.wrong is BadSignature]
TIMED_CASES = [c for c in CASES if c.stale]
#: Schemes whose signature covers the body's exact bytes (Twilio signs the
#: parsed form parameters, so ``+`` and ``%20`` are the same content to it).
BYTE_EXACT_CASES = [c for c in HMAC_CASES if not c.form]

#: Bodies short enough that no generated JSON can be nested too deep to read.
BODIES = st.binary(max_size=120)
#: Secrets (hex, 16+ digits: no error message can contain one by coincidence).
TOKEN_TEXT = st.binary(min_size=8, max_size=24).map(bytes.hex)
#: Form parameters (non-empty: the stdlib signer of the examples drops blank ones).
FORMS = st.dictionaries(
    st.text(string.ascii_letters, min_size=1, max_size=8),
    st.text(min_size=1, max_size=20),
    max_size=5,
)
JUNK_HEADERS = st.dictionaries(st.text(max_size=30), st.text(max_size=80), max_size=8)


def ids_of(cases: list[Case]) -> list[str]:
    return [IDS[CASES.index(c)] for c in cases]


def secrets_for(case: Case) -> st.SearchStrategy[str]:
    """Secrets of the shape the case's preset takes."""
    if case.secret.startswith("whsec_") and case.preset != "stripe":
        return st.binary(min_size=16, max_size=40).map(
            lambda key: "whsec_" + base64.b64encode(key).decode()
        )
    if case.preset == "basic":
        return TOKEN_TEXT.map(lambda password: "user:" + password)
    return TOKEN_TEXT


def bodies_for(case: Case) -> st.SearchStrategy[bytes]:
    if case.form:
        return FORMS.map(lambda form: urlencode(form).encode())
    return BODIES


def run(case: Case, headers: Headers, body: bytes, secrets: list[str], now: int = NOW) -> Verified:
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True) if case.form else None
    return verify(
        PRESETS[case.preset],
        body=body,
        headers=headers,
        secrets=secrets,
        now=now,
        url=case.url,
        form=form,
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_what_the_scheme_signs_verifies(case: Case, data: st.DataObject) -> None:
    secret = data.draw(secrets_for(case), "secret")
    body = data.draw(bodies_for(case), "body")
    verified = run(case, case.sign(secret, NOW, body), body, [secret])
    assert verified.secret_index == 0


@pytest.mark.parametrize("case", BYTE_EXACT_CASES, ids=ids_of(BYTE_EXACT_CASES))
@given(data=st.data())
def test_one_changed_body_byte_is_a_bad_signature(case: Case, data: st.DataObject) -> None:
    secret = data.draw(secrets_for(case), "secret")
    body = data.draw(st.binary(min_size=1, max_size=120), "body")
    index = data.draw(st.integers(0, len(body) - 1), "index")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != body[index]), "byte")
    changed = body[:index] + bytes([byte]) + body[index + 1 :]
    with pytest.raises(BadSignature):
        run(case, case.sign(secret, NOW, body), changed, [secret])


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_another_secret_is_refused_precisely(case: Case, data: st.DataObject) -> None:
    secret = data.draw(secrets_for(case), "secret")
    other = data.draw(secrets_for(case), "other secret")
    assume(other != secret)
    body = data.draw(bodies_for(case), "body")
    with pytest.raises(case.wrong) as refused:
        run(case, case.sign(other, NOW, body), body, [secret])
    assert secret not in str(refused.value)
    assert other not in str(refused.value)


@pytest.mark.parametrize("case", HMAC_CASES, ids=ids_of(HMAC_CASES))
@given(data=st.data())
def test_the_signature_of_other_content_is_a_bad_signature(case: Case, data: st.DataObject) -> None:
    secret = data.draw(secrets_for(case), "secret")
    body = data.draw(bodies_for(case), "body")
    other = data.draw(bodies_for(case), "other body")
    if case.form:
        assume(parse_qs(other.decode()) != parse_qs(body.decode()))
    else:
        assume(other != body)
    with pytest.raises(BadSignature):
        run(case, case.sign(secret, NOW, other), body, [secret])


@pytest.mark.parametrize("case", TIMED_CASES, ids=ids_of(TIMED_CASES))
@given(age=st.integers(-100_000, 100_000))
def test_timestamps_outside_the_tolerance_are_refused(case: Case, age: int) -> None:
    scheme = PRESETS[case.preset]
    assert scheme.tolerance is not None
    headers = case.sign(case.secret, NOW - age, case.body)
    too_old = age > scheme.tolerance
    too_new = scheme.reject_future and -age > scheme.tolerance
    if too_old or too_new:
        with pytest.raises(StaleTimestamp) as refused:
            run(case, headers, case.body, [case.secret])
        assert refused.value.age == age
    else:
        assert run(case, headers, case.body, [case.secret]).timestamp == NOW - age


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(junk=JUNK_HEADERS, body=st.binary(max_size=400), keep_genuine=st.booleans())
def test_junk_headers_and_bodies_raise_only_verification_errors(
    case: Case, junk: dict[str, str], body: bytes, keep_genuine: bool
) -> None:
    genuine = case.sign(case.secret, NOW, case.body) if keep_genuine else {}
    headers = {**genuine, **junk}
    with contextlib.suppress(VerificationError):
        run(case, headers, body, [case.secret])


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_junk_in_each_signed_header_raises_only_verification_errors(
    case: Case, data: st.DataObject
) -> None:
    headers = case.sign(case.secret, NOW, case.body)
    name = data.draw(st.sampled_from(sorted(headers)), "header")
    headers[name] = data.draw(st.text(max_size=120), "value")
    with contextlib.suppress(VerificationError):
        run(case, headers, case.body, [case.secret])
