"""The schema file, and our evaluator checked against the reference implementation."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hokusai_action.validation.jsonschema_subset import Evaluator, UnsupportedSchemaError
from hokusai_action.validation.manifest import load_manifest
from hokusai_action.validation.schema import evaluator, load_schema, schema_path
from tests.conftest import FIXTURES, PROJECT, VALID, rules_of

REFERENCE = jsonschema.Draft202012Validator(load_schema())


def test_schema_is_valid_draft_2020_12_with_an_id():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/schemas/hokusai.schema.json")


def test_checkout_uses_the_top_level_schema_file():
    assert schema_path() == PROJECT / "schemas" / "hokusai.schema.json"


def _subschemas(schema: Any, where: str = "#") -> Iterator[tuple[str, dict]]:
    if not isinstance(schema, dict):
        return
    yield where, schema
    for key in ("properties", "$defs"):
        for name, sub in schema.get(key, {}).items():
            yield from _subschemas(sub, f"{where}/{key}/{name}")
    for key in ("additionalProperties", "items"):
        if isinstance(schema.get(key), dict):
            yield from _subschemas(schema[key], f"{where}/{key}")


@pytest.mark.parametrize(
    ("where", "sub"),
    list(_subschemas(load_schema())),
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_every_field_has_a_title_and_description_for_editors(where, sub):
    assert sub.get("title"), where
    assert sub.get("description"), where


def test_every_object_closes_its_keys_or_types_its_values():
    for where, sub in _subschemas(load_schema()):
        if sub.get("type") == "object":
            assert "additionalProperties" in sub, f"{where} lets typos pass silently"


def _manifests() -> list[Path]:
    return sorted(FIXTURES.glob("*/*/hokusai.yaml")) + sorted(
        PROJECT.glob("examples/*/hokusai.yaml")
    )


def _data(path: Path) -> Any:
    manifest, _ = load_manifest(path, str(path))
    return None if manifest is None else manifest.data


_SAMPLES: list[Any] = [
    None,
    True,
    0,
    1,
    -1,
    0.5,
    1.5,
    "",
    "x",
    "CHURN-001",
    "1.0.0",
    [],
    {},
    ["a"],
    {"k": "v"},
    "0x" + "a" * 40,
]


def _mutants(doc: Any) -> Iterator[Any]:
    """Every single-step change of a document: each value replaced by each sample, each key
    removed, an unknown key added to each mapping."""

    def paths(node: Any, prefix: tuple) -> Iterator[tuple]:
        yield prefix
        if isinstance(node, dict):
            for k, v in node.items():
                yield from paths(v, (*prefix, k))

    def at(root: Any, path: tuple) -> Any:
        for part in path:
            root = root[part]
        return root

    for path in paths(doc, ()):
        if not path:
            continue
        for sample in _SAMPLES:
            mutant = copy.deepcopy(doc)
            at(mutant, path[:-1])[path[-1]] = copy.deepcopy(sample)
            yield mutant
        mutant = copy.deepcopy(doc)
        del at(mutant, path[:-1])[path[-1]]
        yield mutant
        target = at(doc, path)
        if isinstance(target, dict):
            mutant = copy.deepcopy(doc)
            at(mutant, path)["unexpected_key"] = 1
            yield mutant


def _json_safe(doc: Any) -> bool:
    try:
        json.dumps(doc)
    except (TypeError, ValueError):
        return False
    return True


def test_evaluator_agrees_with_jsonschema_on_fixtures_examples_and_their_mutants():
    documents = [d for d in map(_data, _manifests()) if d is not None]
    checked = 0
    for doc in documents:
        for candidate in [doc, *_mutants(doc)]:
            if not _json_safe(candidate):
                continue  # dates and the like: not JSON, the reference has no opinion
            ours = evaluator().is_valid(candidate)
            theirs = REFERENCE.is_valid(candidate)
            assert ours == theirs, json.dumps(candidate, indent=1)
            checked += 1
    assert checked > 2000


def test_evaluator_reports_every_violation_not_just_the_first():
    doc = {
        "version": 2,
        "model": {"name": "m", "token_id": "bad", "path": "p", "extra": 1},
        "benchmark": {"metric": "accuracy", "value": "x"},
    }
    keywords = sorted(v.keyword for v in evaluator().iter_violations(doc))
    assert keywords == ["additionalProperties", "const", "pattern", "type"]


def test_evaluator_refuses_schemas_with_keywords_it_does_not_implement():
    with pytest.raises(UnsupportedSchemaError, match="dependentRequired"):
        Evaluator({"type": "object", "properties": {"a": {"dependentRequired": {}}}})
    with pytest.raises(UnsupportedSchemaError, match="local references"):
        Evaluator({"$ref": "https://example.invalid/schema.json"})


def test_booleans_are_not_numbers_and_integral_floats_are_integers():
    ev = Evaluator({"type": "integer"})
    assert ev.is_valid(3.0)
    assert not ev.is_valid(True)
    assert not Evaluator({"type": "number"}).is_valid(False)
    assert not Evaluator({"enum": [1]}).is_valid(True)


# -- messages ---------------------------------------------------------------------------


def test_missing_required_key_points_at_the_parent_key(repo):
    problems = repo.check(VALID.replace("  token_id: CHURN-001\n", ""))
    assert [(p.rule, p.line, p.column) for p in problems] == [("schema-required", 2, 1)]
    assert "missing required key `token_id` in `model`" in problems[0].message


def test_missing_top_level_key_points_at_the_start(repo):
    problems = repo.check(VALID.replace("version: 1\n", ""))
    assert [(p.rule, p.line, p.column) for p in problems] == [("schema-required", 1, 1)]


def test_unknown_key_gets_a_did_you_mean_and_points_at_the_key(repo):
    problems = repo.check(VALID.replace("  path:", "  pth:"))
    by_rule = {p.rule: p for p in problems}
    assert (
        by_rule["schema-additionalProperties"].line,
        by_rule["schema-additionalProperties"].column,
    ) == (5, 3)
    assert "did you mean `path`?" in by_rule["schema-additionalProperties"].message


def test_unknown_top_level_key_lists_a_suggestion(repo):
    problems = repo.check(VALID + "metric:\n  f1_score: 0.9\n")
    assert rules_of(problems) == ["schema-additionalProperties"]
    assert "did you mean `metrics`?" in problems[0].message


def test_wrong_flavor_suggests_the_closest(repo):
    problems = repo.check(
        VALID.replace("  path: models/churn\n", "  path: models/churn\n  flavor: pytorh\n")
    )
    assert rules_of(problems) == ["schema-enum"]
    assert "did you mean `pytorch`?" in problems[0].message


def test_unsupported_manifest_version_says_what_this_tool_reads(repo):
    problems = repo.check(VALID.replace("version: 1", "version: 3"))
    assert "reads version 1" in problems[0].message


def test_schema_problems_carry_the_json_path(repo):
    problems = repo.check(VALID + "tags:\n  'use case': yes\n")
    assert problems[0].json_path == "$.tags['use case']"


# -- Python's `re` and ECMA-262 (editors, check-jsonschema) must read every pattern alike ----


def _patterns(schema: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern":
                yield where, value
            else:
                yield from _patterns(value, f"{where}/{key}")


PATTERNS = list(_patterns(load_schema()))

# Characters whose class differs between the dialects: `\d`, `\w` and `\s` are Unicode-aware
# in Python and ASCII (or another set) in ECMA-262; `.` and `$` stop at different breaks.
_DIALECT_CHARS = (
    "\u0660\u06f1\u0966\uff11\u00b2\u02b0\u00aa\u00e9\u0131\u212a\u017f"  # digits, letters
    "\t\n\x0b\x0c\r\x1c\x1f \x85\xa0\u1680\u2000\u200a\u200b\u2028\u2029\u202f\u205f"
    "\u3000\ufeff\u180e"  # white space by one dialect or the other
)
_SEEDS = ["CHURN-001", "1.0.0", "1.0.0-rc.1+b.5", "accuracy", "a b/c:d.e-f_g", "models/x", "x"]


def _probes() -> Iterator[str]:
    for seed in _SEEDS:
        yield seed
        for c in _DIALECT_CHARS:
            yield c + seed
            yield seed + c
            yield seed[:1] + c + seed[1:]
            yield seed.replace("0", c).replace("a", c)


def test_schema_patterns_use_explicit_ascii_classes():
    for where, pattern in PATTERNS:
        bare = pattern.replace("[\\s\\S]", "")
        for escape in ("\\d", "\\w", "\\s", "\\D", "\\W", "\\S", "\\b", "\\B"):
            assert escape not in bare, f"{where}: {escape} means other things in other dialects"
        assert "$" not in pattern, f"{where}: `$` matches before a final newline in Python"


@pytest.mark.parametrize(("where", "pattern"), PATTERNS, ids=[w for w, _ in PATTERNS])
def test_each_pattern_matches_the_same_strings_in_python_and_ecma_262(where, pattern):
    import regress  # check-jsonschema's ECMA-262 engine, with its Unicode flag

    ecma, python = regress.Regex(pattern, flags="u"), re.compile(pattern)
    differ = [s for s in _probes() if bool(ecma.find(s)) != bool(python.search(s))]
    assert differ == [], f"{where}: {differ[:5]}"


@pytest.mark.parametrize("edge", ["\ufeff", "\u00a0", "\u3000", "\x85", "\x1c", " ", "\t"])
def test_model_name_with_white_space_at_either_end_is_rejected(edge):
    name = load_schema()["properties"]["model"]["properties"]["name"]
    ev = Evaluator(name)
    assert ev.is_valid("churn model")
    assert not ev.is_valid(edge + "churn")
    assert not ev.is_valid("churn" + edge)


@pytest.mark.parametrize(
    ("ref", "value"),
    [("metricName", "acc\u0660"), ("mlflowKey", "m\u02b0"), ("semver", "1.\u0660.0")],
)
def test_non_ascii_digits_and_letters_are_rejected_where_ecma_rejects_them(ref, value):
    assert not Evaluator(load_schema()["$defs"][ref]).is_valid(value)


def _ecma_reference() -> Any:
    """jsonschema with check-jsonschema's ECMA-262 `pattern` (regress, Unicode flag)."""
    import regress

    compiled = functools.cache(lambda pattern: regress.Regex(pattern, flags="u"))

    def pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and not compiled(pattern).find(instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")

    return jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": pattern})(
        load_schema()
    )


def test_evaluator_agrees_with_an_ecma_262_reference_on_the_fuzz_corpus(tmp_path):
    from tests.support.manifest_fuzz import corpus

    reference = _ecma_reference()
    checked = 0
    for i, data in enumerate(corpus()):
        path = tmp_path / f"fuzz-{i:04d}.yaml"
        path.write_bytes(data)
        manifest, _ = load_manifest(path, path.name)
        if manifest is None or not _json_safe(manifest.data):
            continue
        ours, theirs = evaluator().is_valid(manifest.data), reference.is_valid(manifest.data)
        assert ours == theirs, f"{path.name}: {data!r}"
        checked += 1
    assert checked > 1000


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ('"\\ufeffchurn"', "starts with U+FEFF, which is white space or invisible"),
        ('"churn\\u00a0"', "ends with U+00A0, which is white space or invisible"),
    ],
)
def test_pattern_message_names_an_invisible_character_at_either_end(repo, name, says):
    problems = repo.check(VALID.replace("customer-churn-predictor", name))
    assert rules_of(problems) == ["schema-pattern"]
    assert says in problems[0].message


def test_pattern_message_names_a_non_ascii_digit(repo):
    problems = repo.check(VALID + "params:\n  lr\u0660: 0.5\n")
    assert rules_of(problems) == ["schema-pattern"]
    assert "U+0660 (\u0660) is not an ASCII character" in problems[0].message
