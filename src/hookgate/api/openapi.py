"""What the served ``/openapi.json`` declares, so generated clients can trust it.

Route handlers return ``Response`` objects (orjson, payload bytes embedded as
they are), so FastAPI cannot infer their bodies: every route states its
success body with ``**returns(Model, ...)`` and every router declares the
error answers any of its operations can give with ``responses=ERRORS``,
in the Svix shapes (``HttpErrorOut``; ``HTTPValidationError`` for 422).
"""

from __future__ import annotations

from typing import Any

from hookgate.api.schemas.common import HttpErrorOut, HTTPValidationError

_ERROR_STATUSES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    429: "Too Many Requests",
    503: "Service Unavailable",
}

#: The error answers of an authenticated management operation.
ERRORS: dict[int | str, dict[str, Any]] = {
    **{
        status: {"model": HttpErrorOut, "description": text}
        for status, text in _ERROR_STATUSES.items()
    },
    422: {"model": HTTPValidationError, "description": "Validation Error"},
}

#: The ``Idempotency-Key`` header of the operations that honour it.
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "idempotency-key",
    "required": False,
    "description": "The same key on a retried request returns the first response",
    "schema": {"type": "string"},
}


def returns(model: Any, *also: int, status: int = 200, idempotent: bool = False) -> dict[str, Any]:
    """Route decorator keywords: the body ``model`` answered with ``status``
    and with each status in ``also`` (e.g. 201 for an upsert that created);
    ``idempotent`` documents the ``Idempotency-Key`` header."""
    keywords: dict[str, Any] = {
        "status_code": status,
        "response_model": model,
        "responses": {code: {"model": model} for code in also},
    }
    if idempotent:
        keywords["openapi_extra"] = {"parameters": [IDEMPOTENCY_KEY]}
    return keywords


def no_content(*, idempotent: bool = False) -> dict[str, Any]:
    """Route decorator keywords for a 204 answer without a body."""
    keywords: dict[str, Any] = {"status_code": 204}
    if idempotent:
        keywords["openapi_extra"] = {"parameters": [IDEMPOTENCY_KEY]}
    return keywords
