"""Every verification preset through the real server: a generic-webhook
source with that ``scheme`` accepts the genuine request, answers a replay
within the dedupe window as a duplicate (2xx, stored, not accepted twice),
and refuses a changed byte where the scheme signs the body. (Each preset's
other refusals are in ``tests/unit/test_verify_presets.py``; the providers'
own libraries sign in ``tests/providers``.)"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.test_inbound import received, send
from tests.e2e.test_inbound_limits import make_source
from tests.unit.test_verify_presets import CASES, IDS, Case

pytestmark = pytest.mark.slow

#: Schemes that prove a shared credential, not the body.
CREDENTIAL_ONLY = {"gitlab", "basic", "token"}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_preset_accepts_then_dedupes_then_refuses_a_changed_byte(
    api: httpx.Client, case: Case
) -> None:
    config: dict[str, object] = {"scheme": case.preset, "secrets": [case.secret]}
    if case.url:
        config["publicUrl"] = case.url
    if case.event_id is None:
        config["dedupeKey"] = {"jsonPath": "id"} if not case.form else {"header": "X-Id"}
    source_id, url = make_source(api, config)
    content_type = "application/x-www-form-urlencoded" if case.form else "application/json"
    headers = {
        **case.sign(case.secret, int(time.time()), case.body),
        **case.extra,
        "Content-Type": content_type,
        "X-Id": "form-1",
    }

    assert send(url, case.body, headers).status_code == 200
    assert send(url, case.body, headers).status_code == 200
    if case.preset not in CREDENTIAL_ONLY:
        changed = send(url, case.body.replace(b"1", b"2", 1), headers)
        assert changed.status_code == 401, changed.text

    rows = received(api, source_id)
    replay, first = rows[-2], rows[-1]
    assert (first["verified"], first["rejection"]) == (True, None)
    assert first["eventId"] == (case.event_id or ("form-1" if case.form else "evt_1"))
    assert replay["rejection"] == f"duplicate of {first['id']}"
