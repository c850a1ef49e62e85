"""Search filters for any value, checked with MLflow's own filter parser (the one its server
and its SQLite store run): a clause is either exact or a LIKE that the value matches."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from mlflow.utils.search_utils import SearchModelVersionUtils, SearchUtils

from hokusai_action.registry.mlflow_store import KEY_TAG, _clause

# Characters that matter to the filter grammar or to LIKE, and then anything at all.
TRICKY = st.sampled_from(list("'\"\\%_[]`;-/* \n\tab"))
VALUES = st.text(st.one_of(TRICKY, st.characters(codec="utf-8")), min_size=1, max_size=60)


def parsed(filter_string: str) -> list[dict]:
    return SearchModelVersionUtils.parse_search_filter(filter_string)


@pytest.mark.parametrize("value", ["a\\", 'it\'s "x"', "'", "\\'", "a''b", "x\\' or 1"])
def test_values_the_grammar_cannot_spell_are_searched_with_like(value):
    (clause,) = parsed(_clause("name", value))
    assert clause["comparator"] == "LIKE"
    assert SearchUtils.get_comparison_func("LIKE")(value, clause["value"])


def test_plain_values_are_searched_exactly():
    assert parsed(_clause("name", 'churn "v2" 100%')) == [
        {"type": "attribute", "key": "name", "comparator": "=", "value": 'churn "v2" 100%'}
    ]


@settings(max_examples=400, deadline=None, database=None, derandomize=True)
@given(name=VALUES, key=VALUES)
@example(name="a\\", key="k")
@example(name='it\'s "quoted"', key="\\")
def test_every_value_gives_a_clause_that_matches_it(name, key):
    """Exact (`=`, the value as parsed) or a LIKE pattern the value matches, and the two
    clauses of an `and` stay two: nothing in a value can end its literal early."""
    clauses = parsed(f"{_clause('name', name)} and {_clause(f'tags.{KEY_TAG}', key)}")
    assert [(c["type"], c["key"]) for c in clauses] == [("attribute", "name"), ("tag", KEY_TAG)]
    for clause, value in zip(clauses, (name, key), strict=True):
        if clause["comparator"] == "=":
            assert clause["value"] == value
        else:
            assert clause["comparator"] == "LIKE"
            assert SearchUtils.get_comparison_func("LIKE")(value, clause["value"])
