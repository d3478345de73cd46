"""HTTPS without a proxy (``--tls-cert``/``--tls-key`` or ``HOOKGATE_TLS_CERT``/
``HOOKGATE_TLS_KEY``) and ``HOOKGATE_ENDPOINT_HTTPS_ONLY``, driven with the
official svix SDK over TLS, with a certificate authority made by the test."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from svix.api import ApplicationIn, EndpointIn, IngestEndpointIn, IngestSourceIn, Svix
from svix.exceptions import HTTPValidationError

from tests.e2e.conftest import make_svix
from tests.e2e.harness import ServerProcess, server_command, unique

# Every test here drives real server processes over HTTP.
pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def pem_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The CA, and a certificate for 127.0.0.1 and localhost with its key."""
    where = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = {"ca": where / "ca.pem", "cert": where / "cert.pem", "key": where / "key.pem"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    with files["cert"].open("wb") as out:
        for blob in cert.cert_chain_pems:
            out.write(blob.bytes())
    return files


@pytest.fixture
def tls_server(
    request: pytest.FixtureRequest,
    pem_files: dict[str, Path],
    server_env: Callable[[], dict[str, str | None]],
    tmp_path: Path,
) -> Iterator[ServerProcess]:
    """An HTTPS server, configured by command-line options or by environment
    (``request.param``), refusing plain-http endpoint URLs."""
    env = {**server_env(), "HOOKGATE_ENDPOINT_HTTPS_ONLY": "true"}
    args: list[str] = []
    if request.param == "options":
        args = ["--tls-cert", str(pem_files["cert"]), "--tls-key", str(pem_files["key"])]
    else:
        env["HOOKGATE_TLS_CERT"] = str(pem_files["cert"])
        env["HOOKGATE_TLS_KEY"] = str(pem_files["key"])
    proc = ServerProcess(tmp_path / "data", env=env, args=args, tls_ca=pem_files["ca"])
    try:
        yield proc.start()
    finally:
        proc.stop()


@pytest.fixture
def svix_tls(
    tls_server: ServerProcess, pem_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Svix]:
    """The official SDK, trusting the test CA the way any httpx client does."""
    monkeypatch.setenv("SSL_CERT_FILE", str(pem_files["ca"]))
    client = make_svix(tls_server)
    try:
        yield client
    finally:
        client._httpx_client.close()


@pytest.mark.parametrize("tls_server", ["options", "environment"], indirect=True)
def test_sdk_manages_applications_and_endpoints_over_https(
    tls_server: ServerProcess, svix_tls: Svix
) -> None:
    assert tls_server.url.startswith("https://")
    app = svix_tls.application.create(ApplicationIn(name="tls", uid=unique("tls")))
    url = "https://127.0.0.1:9/hook"
    ep = svix_tls.endpoint.create(app.id, EndpointIn(url=url))
    assert svix_tls.endpoint.get(app.id, ep.id).url == url
    # HOOKGATE_ENDPOINT_HTTPS_ONLY: plain http is refused, naming the setting.
    with pytest.raises(HTTPValidationError) as exc:
        svix_tls.endpoint.create(app.id, EndpointIn(url="http://127.0.0.1:9/hook"))
    assert exc.value.detail[0].loc == ["body", "url"]
    assert "HOOKGATE_ENDPOINT_HTTPS_ONLY" in exc.value.detail[0].msg
    assert [e.id for e in svix_tls.endpoint.list(app.id).data] == [ep.id]


@pytest.mark.parametrize("tls_server", ["options"], indirect=True)
def test_ingest_and_pages_are_served_over_https(
    tls_server: ServerProcess, svix_tls: Svix, pem_files: dict[str, Path]
) -> None:
    source = svix_tls.ingest.source.create(
        IngestSourceIn(name="plain", type="generic-webhook", uid=unique("src"))
    )
    assert source.ingest_url.startswith("https://")
    with pytest.raises(HTTPValidationError):
        svix_tls.ingest.endpoint.create(source.id, IngestEndpointIn(url="http://127.0.0.1:9/"))
    svix_tls.ingest.endpoint.create(source.id, IngestEndpointIn(url="https://127.0.0.1:9/"))

    with httpx.Client(verify=ssl.create_default_context(cafile=pem_files["ca"])) as client:
        received = client.post(source.ingest_url, json={"hello": "tls"})
        assert received.status_code == 200, received.text
        assert client.get(f"{tls_server.url}/docs").status_code == 200
    with tls_server.http() as api:
        stored = api.get(f"/ingest/api/v1/source/{source.id}/request").json()["data"]
    assert [r["rejection"] for r in stored] == [None]


def test_certificate_without_key_is_refused_at_start(
    pem_files: dict[str, Path], tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            *server_command(),
            "serve",
            "--data-dir",
            str(tmp_path),
            "--tls-cert",
            str(pem_files["cert"]),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--tls-cert and --tls-key" in result.stdout + result.stderr


def test_key_that_does_not_match_is_refused_at_start(
    ca: trustme.CA, pem_files: dict[str, Path], tmp_path: Path
) -> None:
    other_key = tmp_path / "other.pem"
    ca.issue_cert("other.test").private_key_pem.write_to_path(str(other_key))
    result = subprocess.run(
        [
            *server_command(),
            "serve",
            "--data-dir",
            str(tmp_path / "data"),
            "--tls-cert",
            str(pem_files["cert"]),
            "--tls-key",
            str(other_key),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Cannot use the TLS certificate and key" in result.stdout + result.stderr
