"""JSON nesting depth is measured without parsing and bounded before parsing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookgate.core.jsondepth import MAX_DEPTH, JsonTooDeep, check_depth, depth, loads

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=20,
)


def nesting(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    return 0


@given(JSON_VALUES, st.booleans())
def test_depth_is_the_nesting_of_the_document(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert depth(text) == nesting(value)
    assert depth(text.encode()) == nesting(value)


def test_brackets_inside_strings_and_escapes_do_not_count() -> None:
    assert depth(b'{"a": "[[[{{{", "b": ["\\"[", "\\\\"]}') == 2


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 100_000])
def test_documents_nested_too_deep_are_refused_before_parsing(levels: int) -> None:
    document = "[" * levels + "]" * levels
    with pytest.raises(JsonTooDeep, match=f"JSON nested deeper than {MAX_DEPTH} levels"):
        loads(document)
    with pytest.raises(ValueError):
        check_depth(document.encode())


def test_documents_at_the_limit_parse() -> None:
    document = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert nesting(loads(document)) == MAX_DEPTH


def test_unterminated_strings_cannot_hide_brackets() -> None:
    with pytest.raises(JsonTooDeep):
        loads('"' + "[" * 100_000)
