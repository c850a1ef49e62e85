"""Our JSON Schema, and its violations turned into messages a person can act on."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from hokusai_action.inert import shown
from hokusai_action.problems import Problem, Severity
from hokusai_action.validation.jsonschema_subset import Evaluator, Violation
from hokusai_action.validation.manifest import Manifest, yaml_type_name
from hokusai_action.validation.suggest import did_you_mean

SCHEMA_NAME = "hokusai.schema.json"


def schema_path() -> Path:
    """The installed copy inside the package, or the repository's `schemas/` in a checkout."""
    package = Path(__file__).resolve().parents[1]  # hokusai_action/
    for candidate in (package / SCHEMA_NAME, package.parent / "schemas" / SCHEMA_NAME):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{SCHEMA_NAME} is missing from the installation")


@cache
def load_schema() -> dict[str, Any]:
    with schema_path().open(encoding="utf-8") as f:
        schema: dict[str, Any] = json.load(f)
    return schema


@cache
def evaluator() -> Evaluator:
    return Evaluator(load_schema())


def check_schema(manifest: Manifest) -> list[Problem]:
    problems = []
    for violation in evaluator().iter_violations(manifest.data):
        positions = manifest.positions
        # A wrong key, or a key missing from a mapping, is best shown at the key itself
        # (for a missing key: the key of the mapping that lacks it).
        on_key = violation.at_key or violation.keyword == "required"
        at = positions.key(violation.path) if on_key else positions.value(violation.path)
        problems.append(
            Problem(
                manifest.file,
                at.line,
                at.column,
                Severity.ERROR,
                f"schema-{violation.keyword}",
                _message(violation, positions.source(violation.path)),
                violation.path,
            )
        )
    return problems


def _show(value: Any) -> str:
    """A value as JSON (`"text"`, `1.5`, `null`), escaped and cut like every echoed value."""
    return shown(json.dumps(value, default=str, ensure_ascii=False))


def _field(violation: Violation) -> str:
    parts = [p for p in violation.path if isinstance(p, str)]
    return f"`{shown(parts[-1])}`" if parts else "the manifest"


def _message(v: Violation, source: str | None) -> str:
    name = _field(v)
    if v.keyword == "required":
        return f"missing required key `{shown(v.detail)}`{' in ' + name if v.path else ''}"
    if v.keyword == "additionalProperties":
        allowed = list(v.schema.get("properties", {}))
        hint = did_you_mean(v.detail or "", allowed) or (
            f"; allowed here: {', '.join(f'`{a}`' for a in allowed)}" if allowed else ""
        )
        return f"unknown key `{shown(v.detail)}`{hint}"
    if v.at_key:  # propertyNames
        odd = _odd(v.instance) if v.keyword == "pattern" else ""
        return f"key `{shown(v.detail)}` is not valid here{_described(v.schema)}{odd}"
    if v.keyword == "type":
        return _type_message(name, v.expected, v.instance, source)
    if v.keyword == "enum":
        options = ", ".join(f"`{o}`" for o in v.expected)
        hint = did_you_mean(str(v.instance), [str(o) for o in v.expected])
        return f"{name} must be one of {options}, not {_show(v.instance)}{hint}"
    if v.keyword == "const":
        if v.path == ("version",) and str(v.instance) == str(v.expected):
            return f"manifest version must be the number {v.expected}: remove the quotes"
        if v.path == ("version",):
            return (
                f"unsupported manifest version {_show(v.instance)}; this hokusai-action reads "
                f"version {v.expected}: upgrade hokusai-action or set `version: {v.expected}`"
            )
        return f"{name} must be {_show(v.expected)}"
    if v.keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
        return f"{name} must be {op[v.keyword]} {v.expected:g}, not {_show(v.instance)}"
    if v.keyword == "minLength":
        return (
            f"{name} must not be empty"
            if v.expected == 1
            else (f"{name} must have at least {v.expected} characters")
        )
    if v.keyword == "maxLength":
        return f"{name} is {len(v.instance):,} characters long; the limit is {v.expected:,}"
    if v.keyword == "pattern":
        return f"{name} {_show(v.instance)} is not valid{_described(v.schema)}{_odd(v.instance)}"
    if v.keyword == "oneOf":
        return f"{name} does not match exactly one of the allowed forms"
    return f"{name} fails `{v.keyword}`"


def _odd(value: Any) -> str:
    """Why a value that looks right fails: white space or an invisible character at an end,
    or a character outside ASCII (Unicode digits and letters that only look like ASCII)."""
    if not isinstance(value, str) or not value:
        return ""
    for where, c in (("starts", value[0]), ("ends", value[-1])):
        if c.isspace() or not c.isprintable() or c == "\ufeff":
            return f"; it {where} with U+{ord(c):04X}, which is white space or invisible: remove it"
    odd = next((c for c in value if not c.isascii()), None)
    return f"; U+{ord(odd):04X} ({odd}) is not an ASCII character" if odd else ""


def _described(schema: Any) -> str:
    """The schema's own description of what is expected, as the tail of a message."""
    description = str(schema.get("description", "")).rstrip(".")
    return f": expected {description[:1].lower()}{description[1:]}" if description else ""


def _type_message(name: str, expected: list[str], instance: Any, source: str | None) -> str:
    wanted = " or ".join(_TYPE_WORDS.get(k, k) for k in expected)
    got = yaml_type_name(instance)
    message = f"{name} must be {wanted}, not {got} {_show(instance)}"
    if "string" in expected and source is not None:
        source = shown(source)
        return f'{message}: YAML read `{source}` as a {got}; quote it: `"{source}"`'
    if got == "string" and ("number" in expected or "integer" in expected):
        try:
            float(instance)
        except ValueError:
            return message
        return f"{message}: remove the quotes to make it a number"
    return message


_TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "empty",
}
