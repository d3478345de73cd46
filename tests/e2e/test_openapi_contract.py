"""The served ``/openapi.json`` is a contract clients can trust.

schemathesis fuzzes a real server (embedded SQLite; the behaviour itself is
tested on both databases elsewhere) from its own schema, operation by
operation and as stateful sequences that reuse the ids responses return:
no 5xx, every status, header, content type and body is one the schema
declares, and data the schema forbids is refused. Generation is derandomized
(the same cases every run) and bounded. The schema is also compared with
the Svix OSS server's (same operations, operation ids, parameters and status
codes where both have them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis import checks

from hookgate.api.app import create_app
from hookgate.config import Settings
from tests.e2e.harness import ServerProcess

# Every test here drives real server processes over HTTP.
pytestmark = pytest.mark.slow

#: The Svix OSS server's OpenAPI document (a copy kept with the tests).
REFERENCE = Path(__file__).with_name("reference") / "svix-oss-openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")

#: Examples per operation and stateful runs: enough to find a 5xx or a body
#: the schema does not allow, small enough for the whole file to take about a
#: minute on two cores.
EXAMPLES_PER_OPERATION = 3
STATEFUL_RUNS = 8
STATEFUL_STEPS = 5

#: Left out: "schema-valid data must be accepted". The server validates more
#: than JSON Schema states (the address policy on endpoint URLs, header names,
#: supported source types), so valid-looking data may rightly get a 422. The
#: other direction is checked: data the schema forbids must be refused.
NOT_CHECKED = [checks.positive_data_acceptance]

#: Where Hookgate answers differently from the Svix OSS document on purpose.
SUCCESS_DEVIATIONS = {
    # The official SDKs read the new secret; the OSS server answers 204 without it.
    ("post", "/api/v1/app/{app_id}/endpoint/{endpoint_id}/secret/rotate"): {"200"},
}
#: Operations that authenticate nothing, so cannot answer the errors the
#: Svix document lists for them.
UNAUTHENTICATED = {("get", "/api/v1/health"), ("get", "/api/v1/health/ping")}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that delivers nothing (``--no-worker``): fuzzed endpoints
    point anywhere, and no request may leave this machine."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("fuzz") / "data",
        args=["--no-worker"],
        env={"HOOKGATE_SQLITE_SYNCHRONOUS": "OFF"},  # throwaway data: no fsync per commit
    )
    try:
        yield proc.start()
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def served_schema(fuzz_server: ServerProcess) -> dict[str, Any]:
    with fuzz_server.http() as api:
        response = api.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _auth(server: ServerProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


#: The document the server serves (checked below to be the one it serves),
#: built in-process so that pytest can make one test per operation.
SCHEMA = schemathesis.openapi.from_dict(create_app(Settings()).openapi())


def test_the_fuzzed_document_is_the_served_one(served_schema: dict[str, Any]) -> None:
    assert served_schema == SCHEMA.raw_schema


@SCHEMA.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: Any, fuzz_server: ServerProcess) -> None:
    case.call_and_validate(
        base_url=fuzz_server.url, headers=_auth(fuzz_server), excluded_checks=NOT_CHECKED
    )


def test_sequences_answer_as_documented(fuzz_server: ServerProcess) -> None:
    class Sequences(SCHEMA.as_state_machine()):
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": fuzz_server.url, "headers": _auth(fuzz_server)}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(
                response, excluded_checks=NOT_CHECKED, transport_kwargs=kwargs or None
            )

    Sequences.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_RUNS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )


# --- the document itself -----------------------------------------------------------------


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): {**op, "_path_parameters": item.get("parameters", [])}
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def _parameters(op: dict[str, Any]) -> set[tuple[str, str]]:
    return {(p["name"], p["in"]) for p in op["_path_parameters"] + op.get("parameters", [])}


def _split(codes: set[str]) -> tuple[set[str], set[str]]:
    return {c for c in codes if c < "300"}, {c for c in codes if c >= "400"}


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    with REFERENCE.open() as handle:
        document: dict[str, Any] = json.load(handle)
    return document


def test_every_svix_operation_is_served_with_its_parameters_and_statuses(
    served_schema: dict[str, Any], reference: dict[str, Any]
) -> None:
    ours = _operations(served_schema)
    for key, theirs in _operations(reference).items():
        assert key in ours, f"{key} of the Svix document is not served"
        op = ours[key]
        missing = _parameters(theirs) - _parameters(op)
        assert not missing, f"{key}: parameters {missing} are not declared"
        our_ok, our_errors = _split(set(op["responses"]))
        their_ok, their_errors = _split(set(theirs["responses"]))
        if their_ok:
            assert our_ok == SUCCESS_DEVIATIONS.get(key, their_ok), key
        if key not in UNAUTHENTICATED:
            assert their_errors <= our_errors, f"{key}: {their_errors - our_errors} undeclared"
        # Generated clients name their methods after these.
        if theirs.get("operationId", "").startswith("v1."):
            assert op["operationId"] == theirs["operationId"], key


def test_operation_ids_are_unique_svix_style_names(served_schema: dict[str, Any]) -> None:
    names = [op["operationId"] for op in _operations(served_schema).values()]
    assert len(names) == len(set(names))
    assert all(name.startswith("v1.") for name in names), names


def test_every_operation_declares_its_bodies(served_schema: dict[str, Any]) -> None:
    for (method, path), op in _operations(served_schema).items():
        for status, response in op["responses"].items():
            if status == "204":
                assert "content" not in response, (method, path)
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema.get("$ref") or schema.get("type") == "object", (method, path, status)
        if path.startswith(("/api/v1/app", "/api/v1/event-type", "/ingest")):
            for status in ("401", "404", "409", "413", "422"):
                assert status in op["responses"], (method, path, status)


def test_list_limit_maximum_is_declared(served_schema: dict[str, Any]) -> None:
    limits = [
        p
        for op in _operations(served_schema).values()
        for p in op.get("parameters", [])
        if p["name"] == "limit"
    ]
    assert limits
    for parameter in limits:
        variants = parameter["schema"].get("anyOf", [parameter["schema"]])
        assert any(v.get("maximum") == 250 for v in variants), parameter


def test_upsert_paths_declare_the_id_pattern(served_schema: dict[str, Any]) -> None:
    put = served_schema["paths"]["/api/v1/app/{app_id}"]["put"]
    (app_id,) = [p for p in put["parameters"] if p["name"] == "app_id"]
    assert app_id["schema"]["pattern"] == r"^[a-zA-Z0-9\-_.]+$"
    assert app_id["schema"]["maxLength"] == 256
    assert "201" in put["responses"]


def test_unauthenticated_request_gets_the_declared_401(fuzz_server: ServerProcess) -> None:
    response = httpx.get(f"{fuzz_server.url}/api/v1/app")
    assert response.status_code == 401
    assert set(response.json()) == {"code", "detail"}
