"""A small JSON Schema (draft 2020-12) evaluator for the keywords our schema uses.

Why not the `jsonschema` package: importing it costs about 0.1 s, more than all the rest of a
`validate` run, and the pre-commit hook starts on every commit. Our schema uses a fixed,
small set of keywords; this module implements exactly those and refuses to load a schema that
uses any other, so an edit to the schema can never be silently ignored. The test suite checks
this evaluator against `jsonschema` on every fixture and on generated documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from hokusai_action.problems import JsonPath

# Keywords that only describe: they never fail a document.
ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$defs",
        "$comment",
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
    }
)


class UnsupportedSchemaError(Exception):
    """The schema uses a keyword this evaluator does not implement."""


@dataclass(frozen=True, slots=True)
class Violation:
    path: JsonPath  # where in the document
    keyword: str
    expected: Any  # the keyword's value in the schema
    instance: Any
    schema: Mapping[str, Any]  # the subschema holding the keyword
    detail: str | None = None  # the property concerned (required, additionalProperties)
    at_key: bool = False  # the key itself is wrong (propertyNames, additionalProperties)


def is_type(instance: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(instance, dict)
    if kind == "array":
        return isinstance(instance, list)
    if kind == "string":
        return isinstance(instance, str)
    if kind == "boolean":
        return isinstance(instance, bool)
    if kind == "null":
        return instance is None
    if isinstance(instance, bool):
        return False
    if kind == "number":
        return isinstance(instance, int | float)
    if kind == "integer":
        return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())
    raise UnsupportedSchemaError(f"unknown type {kind!r}")


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: `true` is not `1`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(a == b)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _is_number(instance: Any) -> bool:
    return isinstance(instance, int | float) and not isinstance(instance, bool)


class Evaluator:
    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.root = schema
        self._check_supported(schema, "#")
        # Per subschema, by id: the subschema itself (which keeps the id taken) and its
        # checks in order, each a bound method and the keyword's value. Annotations, which
        # every subschema has, are left out: this is the evaluator's hot loop.
        self._plans: dict[int, tuple[Mapping[str, Any], tuple[tuple[Any, Any], ...]]] = {}

    def _check_supported(self, schema: Any, where: str) -> None:
        if isinstance(schema, bool):
            return
        if not isinstance(schema, Mapping):
            raise UnsupportedSchemaError(f"{where}: a schema must be an object or a boolean")
        unknown = set(schema) - ANNOTATIONS - self._KEYWORDS.keys()
        if unknown:
            raise UnsupportedSchemaError(f"{where}: unsupported keywords {sorted(unknown)}")
        for key in ("additionalProperties", "propertyNames"):
            if key in schema:
                self._check_supported(schema[key], f"{where}/{key}")
        for key in ("properties", "$defs"):
            for name, sub in schema.get(key, {}).items():
                self._check_supported(sub, f"{where}/{key}/{name}")
        for i, sub in enumerate(schema.get("oneOf", [])):
            self._check_supported(sub, f"{where}/oneOf/{i}")
        ref = schema.get("$ref")
        if ref is not None:
            self._resolve(ref)

    @cache  # noqa: B019 - one evaluator per schema, kept for the process
    def _resolve(self, ref: str) -> Mapping[str, Any]:
        if not ref.startswith("#/"):
            raise UnsupportedSchemaError(f"only local references are supported, not {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def is_valid(self, instance: Any) -> bool:
        return next(self.iter_violations(instance), None) is None

    def iter_violations(
        self, instance: Any, schema: Mapping[str, Any] | bool | None = None, path: JsonPath = ()
    ) -> Iterator[Violation]:
        schema = self.root if schema is None else schema
        if schema is True:
            return
        if schema is False:
            yield Violation(path, "false", False, instance, {})
            return
        plan = self._plans.get(id(schema))
        if plan is None or plan[0] is not schema:
            plan = self._plans[id(schema)] = (schema, self._plan(schema))
        for method, expected in plan[1]:
            yield from method(expected, instance, schema, path)

    def _plan(self, schema: Any) -> tuple[tuple[Any, Any], ...]:
        assert isinstance(schema, Mapping)
        return tuple(
            (getattr(self, self._KEYWORDS[keyword]), expected)
            for keyword, expected in schema.items()
            if keyword not in ANNOTATIONS
        )

    # -- keywords -----------------------------------------------------------------------
    def _ref(self, ref: str, instance: Any, schema: Mapping, path: JsonPath) -> Iterator[Violation]:
        yield from self.iter_violations(instance, self._resolve(ref), path)

    def _type(
        self, kinds: Any, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if isinstance(kinds, str):  # the common case, without a generator
            if not is_type(instance, kinds):
                yield Violation(path, "type", [kinds], instance, schema)
        elif not any(is_type(instance, k) for k in kinds):
            yield Violation(path, "type", kinds, instance, schema)

    def _enum(
        self, options: list, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if not any(_equal(instance, option) for option in options):
            yield Violation(path, "enum", options, instance, schema)

    def _const(
        self, value: Any, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if not _equal(instance, value):
            yield Violation(path, "const", value, instance, schema)

    def _properties(
        self, props: Mapping, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if isinstance(instance, dict):
            for name, sub in props.items():
                if name in instance:
                    yield from self.iter_violations(instance[name], sub, (*path, name))

    def _additional_properties(
        self, sub: Any, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if not isinstance(instance, dict):
            return
        known = schema.get("properties", {})
        for name, value in instance.items():
            if name in known:
                continue
            if sub is False:
                yield Violation(
                    (*path, name),
                    "additionalProperties",
                    False,
                    value,
                    schema,
                    detail=name,
                    at_key=True,
                )
            else:
                yield from self.iter_violations(value, sub, (*path, name))

    def _property_names(
        self, sub: Any, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if isinstance(instance, dict):
            for name in instance:
                for v in self.iter_violations(name, sub, (*path, name)):
                    yield Violation(
                        v.path,
                        v.keyword,
                        v.expected,
                        v.instance,
                        v.schema,
                        detail=name,
                        at_key=True,
                    )

    def _required(
        self, names: list, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if isinstance(instance, dict):
            for name in names:
                if name not in instance:
                    yield Violation(path, "required", names, instance, schema, detail=name)

    def _min_properties(
        self, n: int, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if isinstance(instance, dict) and len(instance) < n:
            yield Violation(path, "minProperties", n, instance, schema)

    def _max_properties(
        self, n: int, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if isinstance(instance, dict) and len(instance) > n:
            yield Violation(path, "maxProperties", n, instance, schema)

    def _pattern(
        self, pattern: str, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if isinstance(instance, str) and not _regex(pattern).search(instance):
            yield Violation(path, "pattern", pattern, instance, schema)

    def _min_length(
        self, n: int, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if isinstance(instance, str) and len(instance) < n:
            yield Violation(path, "minLength", n, instance, schema)

    def _max_length(
        self, n: int, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if isinstance(instance, str) and len(instance) > n:
            yield Violation(path, "maxLength", n, instance, schema)

    def _minimum(
        self, n: float, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if _is_number(instance) and instance < n:
            yield Violation(path, "minimum", n, instance, schema)

    def _maximum(
        self, n: float, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if _is_number(instance) and instance > n:
            yield Violation(path, "maximum", n, instance, schema)

    def _exclusive_minimum(
        self, n: float, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        if _is_number(instance) and instance <= n:
            yield Violation(path, "exclusiveMinimum", n, instance, schema)

    def _one_of(
        self, subs: list, instance: Any, schema: Mapping, path: JsonPath
    ) -> Iterator[Violation]:
        matches = sum(1 for sub in subs if self._valid_against(instance, sub, path))
        if matches != 1:
            yield Violation(path, "oneOf", subs, instance, schema, detail=str(matches))

    def _valid_against(self, instance: Any, sub: Any, path: JsonPath) -> bool:
        return next(self.iter_violations(instance, sub, path), None) is None

    # The keywords that can fail a document, and the method that checks each.
    _KEYWORDS: ClassVar[dict[str, str]] = {
        "$ref": "_ref",
        "type": "_type",
        "enum": "_enum",
        "const": "_const",
        "properties": "_properties",
        "additionalProperties": "_additional_properties",
        "propertyNames": "_property_names",
        "required": "_required",
        "minProperties": "_min_properties",
        "maxProperties": "_max_properties",
        "pattern": "_pattern",
        "minLength": "_min_length",
        "maxLength": "_max_length",
        "minimum": "_minimum",
        "maximum": "_maximum",
        "exclusiveMinimum": "_exclusive_minimum",
        "oneOf": "_one_of",
    }
