"""An endpoint whose every attempt fails for ``HOOKGATE_DISABLE_AFTER_DAYS``
is disabled by the server (shortened here to under two seconds)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from svix.api import ApplicationIn, MessageIn

from tests.e2e.conftest import make_svix
from tests.e2e.harness import Receiver, Reply, ServerProcess, endpoint_on, unique, wait_until

pytestmark = pytest.mark.slow

#: 1.7 seconds.
DISABLE_AFTER_DAYS = "0.00002"


def test_an_endpoint_failing_for_the_whole_period_is_disabled(
    server_factory: Callable[..., ServerProcess], receiver: Receiver
) -> None:
    env = {
        "HOOKGATE_DISABLE_AFTER_DAYS": DISABLE_AFTER_DAYS,
        "HOOKGATE_RETRY_SCHEDULE": ",".join(["0.3"] * 20),
        "HOOKGATE_RETRY_JITTER": "0",
    }
    client = make_svix(server_factory(env=env))
    try:
        app_id = client.application.create(ApplicationIn(name="dis", uid=unique("dis"))).id
        failing, _, failing_path = endpoint_on(client, app_id, receiver, "failing")
        receiver.script(failing_path, then=Reply(500))
        client.message.create(app_id, MessageIn(event_type="x", payload={}))

        wait_until(
            lambda: client.endpoint.get(app_id, failing.id).disabled,
            timeout=15,
            message="the failing endpoint to be disabled",
        )
        # It stops being tried (one attempt may have been in flight).
        seen = len(receiver.requests(failing_path))
        assert 3 <= seen <= 20
        client.message.create(app_id, MessageIn(event_type="x", payload={}))
        time.sleep(1.0)
        assert len(receiver.requests(failing_path)) <= seen + 1
    finally:
        client._httpx_client.close()
