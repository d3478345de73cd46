"""The applications and endpoints pages over HTTP on SQLite and PostgreSQL:
lists with cursors, each endpoint's health, and every action (enable,
disable, reveal and rotate the secret, recover, send an example) doing what
the API does; CSRF refusals, 404 pages and bad form values."""

from __future__ import annotations

import re

import httpx
import pytest
from svix.api import ApplicationIn, EndpointIn, MessageIn, Svix

from tests.e2e.dashboard import csrf_of, operator_client
from tests.e2e.harness import Receiver, ServerProcess, unique, wait_until

pytestmark = pytest.mark.slow


def state_of(html: str, endpoint_id: str) -> str:
    """The state badge of the endpoint's row on the application page."""
    row = html.split(f'data-endpoint="{endpoint_id}"', 1)[1].split("</tr>", 1)[0]
    match = re.search(r'data-state="([a-z]+)"', row)
    assert match, row
    return match.group(1)


def endpoint_path(app_id: str, endpoint_id: str) -> str:
    return f"/apps/{app_id}/endpoints/{endpoint_id}"


def test_applications_list_pages_with_cursors(server: ServerProcess, svix_client: Svix) -> None:
    made = [
        svix_client.application.create(ApplicationIn(name=unique("Listed"), uid=unique("app")))
        for _ in range(3)
    ]
    with operator_client(server) as client:
        first = client.get("/apps")
        assert first.status_code == 200
        # Newest first: the three just made open the list (unless a test
        # running beside this one made another since).
        ids = re.findall(r'data-app="(app_[^"]+)"', first.text)
        assert ids.index(made[2].id) < ids.index(made[1].id) < ids.index(made[0].id)
        assert f'href="/apps/{made[0].id}"' in first.text
        if len(ids) == 20:
            older = re.search(r'href="(/apps\?iterator=[^"]+)" rel="next"', first.text)
            assert older
            second = client.get(older.group(1).replace("&amp;", "&"))
            assert second.status_code == 200
            assert not set(ids) & set(re.findall(r'data-app="(app_[^"]+)"', second.text))


def test_application_page_shows_each_endpoints_health(
    server: ServerProcess, svix_client: Svix, receiver: Receiver
) -> None:
    uid = unique("app")
    app = svix_client.application.create(ApplicationIn(name="Health shop", uid=uid))
    ok_path, bad_path = receiver.new_path("ok"), receiver.new_path("bad")
    receiver.script(bad_path, then=500)
    ok = svix_client.endpoint.create(app.id, EndpointIn(url=receiver.url(ok_path)))
    bad = svix_client.endpoint.create(
        app.id, EndpointIn(url=receiver.url(bad_path), description="always 500")
    )
    for n in range(2):
        svix_client.message.create(app.id, MessageIn(event_type="order.paid", payload={"n": n}))
    receiver.wait_for(ok_path, 2)
    receiver.wait_for(bad_path, 8)  # both messages used all 4 attempts

    with operator_client(server) as client:

        def settled() -> str | None:
            html = client.get(f"/apps/{uid}").text  # the uid works as well as the id
            return html if 'data-streak="8"' in html and 'data-streak="2"' in html else None

        html = wait_until(settled, message="the attempts to show")
    assert "Health shop" in html
    assert f'href="/apps/{app.id}/msg"' in html
    assert state_of(html, ok.id) == "healthy"
    assert state_of(html, bad.id) == "failing"
    ok_row = html.split(f'data-endpoint="{ok.id}"', 1)[1].split("</tr>", 1)[0]
    bad_row = html.split(f'data-endpoint="{bad.id}"', 1)[1].split("</tr>", 1)[0]
    assert "2 successes in a row" in ok_row
    assert "100%" in ok_row
    assert "8 failures in a row" in bad_row
    assert "0%" in bad_row
    assert bad_row.count('class="bad"') == 8
    assert ok_row.count('class="ok"') == 2
    assert "failing since" in bad_row
    assert "always 500" in bad_row


def test_an_applications_endpoints_page_with_cursors(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    made = [
        svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(f"/page-{n}"))).id
        for n in range(22)
    ]
    listed = re.compile(r'<tr id="ep-(ep_[^"]+)"')
    with operator_client(server) as client:
        first = client.get(f"/apps/{app_id}").text
        assert listed.findall(first) == made[:20]
        older = re.search(r'href="([^"]+)" rel="next"', first)
        assert older
        second = client.get(older.group(1).replace("&amp;", "&")).text
        assert listed.findall(second) == made[20:]
        assert 'rel="prev"' in second


def test_disable_and_enable_from_both_pages(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(receiver.new_path())))
    page_path = endpoint_path(app_id, ep.id)
    with operator_client(server) as client:
        csrf = csrf_of(client.get(page_path).text)

        answer = client.post(f"{page_path}/disable", data={"csrf_token": csrf})
        assert answer.status_code == 303
        assert answer.headers["location"] == f"{page_path}?done=disabled"
        assert svix_client.endpoint.get(app_id, ep.id).disabled
        shown = client.get(answer.headers["location"]).text
        assert "The endpoint is disabled" in shown
        assert 'data-why="operator"' in shown

        back = client.post(f"{page_path}/enable", data={"csrf_token": csrf, "back": "app"})
        assert back.status_code == 303
        assert back.headers["location"] == f"/apps/{app_id}?done=enabled#ep-{ep.id}"
        assert not svix_client.endpoint.get(app_id, ep.id).disabled
        assert state_of(client.get(f"/apps/{app_id}").text, ep.id) == "idle"


def test_reveal_and_rotate_the_secret(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(receiver.new_path())))
    secret = svix_client.endpoint.get_secret(app_id, ep.id).key
    page_path = endpoint_path(app_id, ep.id)
    with operator_client(server) as client:
        shown = client.get(page_path).text
        assert secret not in shown
        csrf = csrf_of(shown)
        revealed = client.post(f"{page_path}/secret", headers={"X-CSRF-Token": csrf})
        assert revealed.status_code == 200
        assert secret in revealed.text
        assert revealed.headers["cache-control"] == "no-store"

        rotated = client.post(f"{page_path}/secret/rotate", data={"csrf_token": csrf})
        assert rotated.status_code == 303
        assert "secret was rotated" in client.get(rotated.headers["location"]).text
    new_secret = svix_client.endpoint.get_secret(app_id, ep.id).key
    assert new_secret != secret
    assert new_secret.startswith("whsec_")


def test_recover_requeues_failed_messages_like_the_api(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path()
    receiver.script(path, 410)  # Gone: the delivery fails and the endpoint is disabled
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path)))
    msg = svix_client.message.create(app_id, MessageIn(event_type="order.paid", payload={}))
    receiver.wait_for(path, 1)
    wait_until(lambda: svix_client.endpoint.get(app_id, ep.id).disabled)
    page_path = endpoint_path(app_id, ep.id)
    with operator_client(server) as client:
        shown = client.get(page_path).text
        assert 'data-why="gone"' in shown
        assert f'href="/apps/{app_id}/msg/{msg.id}"' in shown
        csrf = csrf_of(shown)
        client.post(f"{page_path}/enable", data={"csrf_token": csrf})

        answer = client.post(
            f"{page_path}/recover", data={"csrf_token": csrf, "since": "2020-01-01T00:00"}
        )
        assert answer.status_code == 303
        assert "1 failed message queued again" in client.get(answer.headers["location"]).text
    [_, again] = receiver.wait_for(path, 2)
    assert again.msg_id == msg.id


def test_send_example_goes_to_that_endpoint_alone(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    mine, other = receiver.new_path("mine"), receiver.new_path("other")
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(mine)))
    svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(other)))
    page_path = endpoint_path(app_id, ep.id)
    with operator_client(server) as client:
        csrf = csrf_of(client.get(page_path).text)
        answer = client.post(
            f"{page_path}/send-example", data={"csrf_token": csrf, "event_type": "user.signup"}
        )
        assert answer.status_code == 303
        msg_id = re.search(r"msg=(msg_[A-Za-z0-9]+)", answer.headers["location"])
        assert msg_id
        [received] = receiver.wait_for(mine, 1)
        assert received.msg_id == msg_id.group(1)
        shown = client.get(answer.headers["location"]).text
        assert f'href="/apps/{app_id}/msg/{msg_id.group(1)}"' in shown
    assert svix_client.message.get(app_id, msg_id.group(1)).event_type == "user.signup"
    assert receiver.requests(other) == []


def test_the_endpoints_messages_page_backwards(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    path = receiver.new_path()
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(path)))
    sent = [
        svix_client.message.create(app_id, MessageIn(event_type="order.paid", payload={"n": n})).id
        for n in range(27)
    ]
    page_path = endpoint_path(app_id, ep.id)
    listed = re.compile(r'<tr data-msg="(msg_[^"]+)"')
    with operator_client(server) as client:
        first = client.get(page_path).text
        assert listed.findall(first) == sent[::-1][:25]
        older = re.search(r'href="([^"]+)" rel="next"', first)
        assert older
        second = client.get(older.group(1).replace("&amp;", "&")).text
        assert listed.findall(second) == sent[1::-1]
        assert 'rel="next"' not in second
        assert f'href="{page_path}" rel="prev"' in second
        bad = client.get(f"{page_path}?before=nonsense")
        assert bad.status_code == 400
        assert "unknown place" in bad.text


def test_bad_form_values_show_the_page_again(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(receiver.new_path())))
    page_path = endpoint_path(app_id, ep.id)
    with operator_client(server) as client:
        csrf = csrf_of(client.get(page_path).text)
        since = client.post(f"{page_path}/recover", data={"csrf_token": csrf, "since": "soon"})
        assert since.status_code == 400
        assert "Give the time to recover from" in since.text
        assert 'value="soon"' in since.text
        example = client.post(
            f"{page_path}/send-example", data={"csrf_token": csrf, "event_type": "no spaces!"}
        )
        assert example.status_code == 400
        assert "An event type is a name" in example.text
        odd = client.get(f"{page_path}?done=recovered&count=many")
        assert odd.status_code == 200
        assert "Failed messages were queued again" in odd.text


def test_actions_without_the_csrf_token_are_refused(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    ep = svix_client.endpoint.create(app_id, EndpointIn(url=receiver.url(receiver.new_path())))
    secret = svix_client.endpoint.get_secret(app_id, ep.id).key
    page_path = endpoint_path(app_id, ep.id)
    with operator_client(server) as client:
        for action in ("disable", "secret", "secret/rotate", "recover", "send-example"):
            refused = client.post(f"{page_path}/{action}", data={"since": "2020-01-01T00:00"})
            assert refused.status_code == 403, action
            assert secret not in refused.text
            forged = client.post(f"{page_path}/{action}", data={"csrf_token": "0" * 64})
            assert forged.status_code == 403, action
    assert not svix_client.endpoint.get(app_id, ep.id).disabled
    assert svix_client.endpoint.get_secret(app_id, ep.id).key == secret


def test_unknown_ids_answer_a_404_page(
    server: ServerProcess, svix_client: Svix, app_id: str, receiver: Receiver
) -> None:
    other_app = svix_client.application.create(ApplicationIn(name="other", uid=unique("app")))
    foreign = svix_client.endpoint.create(
        other_app.id, EndpointIn(url=receiver.url(receiver.new_path()))
    )
    with operator_client(server) as client:
        csrf = csrf_of(client.get("/apps").text)
        for path in (
            "/apps/app_2Vbd0000000000000000000000",
            "/apps/no-such-uid",
            f"/apps/{app_id}/endpoints/ep_2Vbd0000000000000000000000",
            endpoint_path(app_id, foreign.id),
        ):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"].startswith("text/html")
            assert "Not found" in answer.text
        refused = client.post(
            f"{endpoint_path(app_id, foreign.id)}/disable", data={"csrf_token": csrf}
        )
        assert refused.status_code == 404
    assert not svix_client.endpoint.get(other_app.id, foreign.id).disabled


def test_pages_need_a_login(server: ServerProcess, app_id: str) -> None:
    with httpx.Client(base_url=server.url) as client:
        for path in ("/apps", f"/apps/{app_id}", f"/apps/{app_id}/endpoints/ep_x"):
            assert client.get(path).status_code == 303
