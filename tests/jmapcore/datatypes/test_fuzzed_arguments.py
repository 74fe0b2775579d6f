"""Arbitrary JSON arguments to every Note method get a JMAP answer (a result or
a method error), never a serverFail, a 500 or a traceback."""
from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.jmapcore.datatypes.conftest import Notes

KEYS = ["ids", "properties", "sinceState", "maxChanges", "create", "update", "destroy", "ifInState", "filter",
        "sort", "position", "anchor", "anchorOffset", "limit", "calculateTotal", "sinceQueryState", "upToId",
        "title", "rank", "labels", "labels/x", "operator", "conditions", "property", "isAscending", "k1", "#k1"]
# JSON has no NaN or infinities (RFC 8259 §6): json.dumps would send "Infinity",
# which the proxy rightly answers with notJSON before any method runs.
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | finite_floats | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=3), inner,
                                                                  max_size=4),
    max_leaves=15,
)
METHODS = ["Note/get", "Note/changes", "Note/set", "Note/query", "Note/queryChanges"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(METHODS), st.dictionaries(st.sampled_from(KEYS), json_values, max_size=5))
def test_any_arguments_get_a_jmap_answer(alice_notes: Notes, method: str, arguments: dict[str, Any]) -> None:
    result = alice_notes.call(method, arguments)
    assert result.get("error") != "serverFail", result
    for failures in ("notCreated", "notUpdated", "notDestroyed"):
        for set_error in (result.get(failures) or {}).values():
            assert set_error["type"] != "serverFail", set_error
