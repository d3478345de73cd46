"""How deliveries behave on the wire: redirects, refused connections, large
responses, and isolation between endpoints."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from svix.api import ApplicationIn, EndpointIn, MessageAttemptListByMsgOptions, MessageIn, Svix
from svix.models import MessageAttemptOut, MessageStatus

from tests.e2e.conftest import make_svix
from tests.e2e.harness import (
    Receiver,
    Reply,
    ServerProcess,
    closed_port,
    endpoint_on,
    unique,
    wait_until,
)

# Every test here drives real server processes over HTTP.
pytestmark = pytest.mark.slow


def _first_attempt(svix_client: Svix, app_id: str, msg_id: str) -> MessageAttemptOut:
    attempts = wait_until(
        lambda: (
            svix_client.message_attempt.list_by_msg(
                app_id, msg_id, MessageAttemptListByMsgOptions()
            ).data
        ),
        timeout=10,
        message=f"an attempt of {msg_id}",
    )
    return attempts[-1]


def test_redirects_are_not_followed(svix_client: Svix, app_id: str, receiver: Receiver) -> None:
    path = receiver.new_path("moved")
    target = receiver.new_path("redirect-target")
    receiver.script(path, then=Reply(302, b"", headers={"Location": receiver.url(target)}))
    svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path)))
    msg = svix_client.message.create(app_id, MessageIn(event_type="r.r", payload={}))

    attempt = _first_attempt(svix_client, app_id, msg.id)
    assert attempt.response_status_code == 302
    assert attempt.status == MessageStatus.FAIL
    receiver.assert_quiet(target, 0)


def test_connection_refused_is_recorded(svix_client: Svix, app_id: str) -> None:
    port = closed_port()
    svix_client.endpoint.create(app_id, EndpointIn(url=f"http://127.0.0.1:{port}/hook"))
    msg = svix_client.message.create(app_id, MessageIn(event_type="c.r", payload={}))

    attempt = _first_attempt(svix_client, app_id, msg.id)
    assert attempt.response_status_code == 0
    assert attempt.status == MessageStatus.FAIL
    assert "refused" in attempt.response
    assert str(port) in attempt.response


def test_large_response_body_is_truncated(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path("chatty")
    receiver.script(path, then=Reply(200, b"x" * 200_000))
    svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path)))
    msg = svix_client.message.create(app_id, MessageIn(event_type="l.l", payload={}))

    attempt = _first_attempt(svix_client, app_id, msg.id)
    assert attempt.status == MessageStatus.SUCCESS
    assert 0 < len(attempt.response) <= 16 * 1024
    assert set(attempt.response) == {"x"}


def test_a_stuck_endpoint_does_not_hold_up_the_others(
    svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    stuck = receiver.new_path("stuck")
    healthy = receiver.new_path("healthy")
    release = threading.Event()
    receiver.script(stuck, then=Reply(hold=release, hold_timeout=30))
    svix_client.endpoint.create(
        app_id, EndpointIn(url=receiver.url(stuck), event_types=["to.stuck"])
    )
    svix_client.endpoint.create(
        app_id, EndpointIn(url=receiver.url(healthy), event_types=["to.healthy"])
    )
    try:
        for i in range(40):  # more than one endpoint's concurrency cap
            svix_client.message.create(app_id, MessageIn(event_type="to.stuck", payload={"i": i}))
        receiver.wait_for(stuck, 1)
        msg = svix_client.message.create(app_id, MessageIn(event_type="to.healthy", payload={}))
        assert receiver.wait_for(healthy, 1, timeout=5)[0].msg_id == msg.id
        assert len(receiver.requests(stuck)) <= 32  # the per-endpoint cap holds
    finally:
        release.set()
    receiver.wait_for(stuck, 40, timeout=15)


def test_deleting_an_endpoint_mid_delivery_does_not_stall_other_deliveries(
    tmp_path: Path, receiver: Receiver, server_env: Callable[[], dict[str, str | None]]
) -> None:
    # A server of its own, so that a stalled result writer cannot affect other tests.
    own = ServerProcess(tmp_path / "data", env=server_env()).start()
    client = make_svix(own)
    release = threading.Event()
    try:
        app_id = client.application.create(ApplicationIn(name="del", uid=unique("del"))).id
        doomed, _, doomed_path = endpoint_on(
            client, app_id, receiver, "doomed", event_types=["to.doomed"]
        )
        healthy, _, healthy_path = endpoint_on(
            client, app_id, receiver, "healthy", event_types=["to.healthy"]
        )
        receiver.script(doomed_path, then=Reply(hold=release, hold_timeout=30))
        client.message.create(app_id, MessageIn(event_type="to.doomed", payload={}))
        receiver.wait_for(doomed_path, 1)  # in flight
        client.endpoint.delete(app_id, doomed.id)
        release.set()

        msg = client.message.create(app_id, MessageIn(event_type="to.healthy", payload={}))
        receiver.wait_for(healthy_path, 1)
        # Normally recorded within a fraction of a second.
        wait_until(
            lambda: client.message_attempt.list_by_msg(app_id, msg.id).data,
            timeout=4,
            message="the healthy endpoint's attempt to be recorded",
        )
        (dest,) = client.message_attempt.list_attempted_destinations(app_id, msg.id).data
        assert dest.id == healthy.id
        assert dest.status == MessageStatus.SUCCESS
    finally:
        release.set()
        client._httpx_client.close()
        own.kill()  # a wedged server ignores SIGTERM
