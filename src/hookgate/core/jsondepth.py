"""JSON from clients, bounded in nesting depth before it is parsed.

Python's ``json`` recurses once per nesting level (100,000 ``[`` raise
``RecursionError``), and orjson refuses to serialise more than 254 levels, so
a document the API accepted could not be stored. Every JSON document that
comes from a client goes through ``loads`` (or ``check_depth`` before another
parser), which refuses anything nested deeper than ``MAX_DEPTH`` levels
without recursing.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

#: The deepest nesting accepted: far beyond any real webhook payload, well
#: inside what every parser and serialiser in the stack handles.
MAX_DEPTH = 128

#: A JSON string (escapes included): brackets inside strings do not nest.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
#: Every byte except the four brackets (deleted before counting).
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
#: Depth change of each bracket byte.
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JsonTooDeep(ValueError):
    """The document nests arrays/objects more than ``limit`` levels deep."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"JSON nested deeper than {limit} levels")


def depth(document: bytes | str) -> int:
    """How many levels of arrays/objects ``document`` nests (0 for a scalar).

    Counts brackets outside strings in linear time, without parsing; for
    text that is not JSON the figure is only an estimate (the parser then
    refuses it anyway).
    """
    raw = document.encode("utf-8", "surrogatepass") if isinstance(document, str) else document
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_depth(document: bytes | str, limit: int = MAX_DEPTH) -> None:
    """Raise ``JsonTooDeep`` if ``document`` nests deeper than ``limit``."""
    # No deeper than it has opening brackets: most documents are settled
    # by two counts in C, without the scan.
    opening = (
        document.count("[") + document.count("{")
        if isinstance(document, str)
        else (document.count(b"[") + document.count(b"{"))
    )
    if opening > limit and depth(document) > limit:
        raise JsonTooDeep(limit)


def loads(document: bytes | str, limit: int = MAX_DEPTH) -> Any:
    """``json.loads`` that first refuses documents nested deeper than ``limit``
    (``JsonTooDeep``, a ``ValueError`` like every other refusal here)."""
    check_depth(document, limit)
    return json.loads(document)
