"""Form answers labelled with the matter's own titles (the catalog's ``form_schema``), in the
schema's order; a nested object or a list of them becomes rows of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Answer", "labelled_answers"]

MAX_DEPTH = 4  # the portable schemas nest two levels; deeper is shown as text


@dataclass(frozen=True, slots=True)
class Answer:
    label: str
    value: Any = None  # str | bool | number; None when ``rows`` holds it
    rows: list[list[Answer]] = field(default_factory=list)


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = (root.get("$defs") or {}).get(ref.removeprefix("#/$defs/"))
        if isinstance(target, Mapping):
            return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _object(
    values: Mapping[str, Any], schema: Mapping[str, Any], root: Mapping[str, Any], depth: int
) -> list[Answer]:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    ordered = [k for k in properties if k in values] + [k for k in values if k not in properties]
    return [
        _answer(key, values[key], _resolve(properties.get(key) or {}, root), root, depth)
        for key in ordered
    ]


def _answer(
    key: str, value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], depth: int
) -> Answer:
    label = str(schema.get("title") or key)
    if depth < MAX_DEPTH and isinstance(value, Mapping):
        return Answer(label, rows=[_object(value, schema, root, depth + 1)])
    if depth < MAX_DEPTH and isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        items = _resolve(schema.get("items") or {}, root)
        return Answer(label, rows=[_object(v, items, root, depth + 1) for v in value])
    if isinstance(value, list):
        return Answer(label, "、".join(str(v) for v in value))
    return Answer(label, value)


def labelled_answers(form: Mapping[str, Any], schema: Mapping[str, Any]) -> list[Answer]:
    return _object(form, schema, schema, 0)
