"""The JSON response class: orjson, with raw payload bytes embedded as-is."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class JsonResponse(JSONResponse):
    """``application/json`` rendered by orjson (``orjson.Fragment`` values are
    copied into the output byte for byte)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
