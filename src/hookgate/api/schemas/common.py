"""Shapes shared by every resource: paginated lists and error bodies."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BeforeValidator

from hookgate.api.schemas.base import ResponseModel

T = TypeVar("T")


class ListResponse(ResponseModel, Generic[T]):
    """One page of a listing, e.g. ``ListResponse[ApplicationOut]``.

    ``iterator`` is the cursor for the next page and ``prevIterator`` the one
    for the previous page; ``done`` is true on the last page. ``iterator`` is
    always emitted (``null`` if there is none): the SDK requires the key.
    """

    data: list[T]
    iterator: str | None = None
    prev_iterator: str | None = None
    done: bool


class HttpErrorOut(ResponseModel):
    """Body of every non-validation error, e.g. ``{"code": "not_found", ...}``."""

    code: str
    detail: str


def wire_loc(loc: Any, error_type: str = "") -> list[str]:
    """An error location as the Svix server writes it: every item a string,
    a list index as ``"[0]"``. (The one number that is not an index, the
    offset of a JSON decode error, becomes a plain string.)"""
    parts = loc if isinstance(loc, list | tuple) else [loc]
    return [
        (str(part) if error_type == "json_invalid" else f"[{part}]")
        if isinstance(part, int)
        else str(part)
        for part in parts
    ]


class ValidationErrorItem(ResponseModel):
    """One problem with a request: where (``loc``), what (``msg``), and its kind."""

    loc: Annotated[list[str], BeforeValidator(wire_loc)]
    msg: str
    type: str


class HTTPValidationError(ResponseModel):
    """Body of a 422 response: every problem found in the request."""

    detail: list[ValidationErrorItem]


class EmptyResponse(ResponseModel):
    """``{}``: an accepted request with nothing more to say."""
