"""The portable subset of JSON Schema that a matter's form schema may use.

Mobile form renderers (the third-party field apps) support only part of JSON Schema 2020-12,
so ARCHITECTURE fixes the subset a form may use: ``type``, ``properties``, ``required``,
``enum``, ``const``, ``pattern``, standard ``format``\\s, ``minimum``/``maximum``,
``minLength``/``maxLength``, ``items``, local ``$defs``/``$ref``, ``title``/``description`` and
``additionalProperties: false``. On top of the list, this check holds each form to what a
renderer needs to draw it unambiguously:

* the root declares ``"$schema": "https://json-schema.org/draft/2020-12/schema"`` and is an
  object; ``$defs`` appear at the root only; ``$ref`` is ``#/$defs/<name>`` of an existing
  definition, with nothing beside it but ``title``/``description``;
* every schema has one ``type`` (a string, not ``null``) unless it is a ``$ref``;
* every object lists its ``properties`` (named like identifiers: ``birth_date``), says
  ``additionalProperties: false`` and ``required`` only names listed properties; every
  array has ``items``;
* keywords fit their type (``pattern``/``format``/lengths on strings, bounds on numbers),
  ``enum`` values are non-empty, unique and of the type, ``format`` is one the contract checks;
* patterns compile and avoid ``\\d``, ``\\w`` and ``\\s``, whose meaning differs between
  ECMA-262 (what renderers run) and Python (what the door runs) for non-ASCII input;
* the form, every property and every definition has a ``title`` in Chinese (zh-CN first).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from fieldhall.schemas.errors import CatalogInvalid
from fieldhall.schemas.formats import FORMATS
from fieldhall.schemas.pointer import json_pointer

__all__ = ["DIALECT", "PORTABLE_KEYWORDS", "check_form_schema"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
PORTABLE_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "enum",
        "const",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "items",
        "$defs",
        "$ref",
        "title",
        "description",
        "additionalProperties",
    }
)
_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean"})
_KEYWORDS_OF_TYPE = {
    "object": {"properties", "required", "additionalProperties"},
    "array": {"items"},
    "string": {"pattern", "format", "minLength", "maxLength"},
    "integer": {"minimum", "maximum"},
    "number": {"minimum", "maximum"},
    "boolean": set(),
}
_TYPED = frozenset().union(*_KEYWORDS_OF_TYPE.values())
_REF = re.compile(r"^#/\$defs/([A-Za-z0-9_]+)$")
_PROPERTY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_NON_PORTABLE_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\[dDwWsS]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def check_form_schema(schema: Mapping[str, Any], *, where: str = "") -> None:
    """Raise :class:`CatalogInvalid` unless ``schema`` is a valid 2020-12 schema in the subset.

    ``where`` is the JSON pointer of the form schema inside its catalog file, to prefix the
    pointers of the problems found.
    """
    if not isinstance(schema, Mapping):
        raise CatalogInvalid("a form schema is an object", pointer=where)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise CatalogInvalid(
            f"not a valid JSON Schema 2020-12: {exc.message}",
            pointer=where + json_pointer(exc.absolute_path),
        ) from exc
    if schema.get("$schema") != DIALECT:
        raise CatalogInvalid(f"the form must declare $schema {DIALECT}", pointer=where)
    if schema.get("type") != "object":
        raise CatalogInvalid("the form's root is an object", pointer=where)
    definitions = schema.get("$defs", {})
    if not isinstance(definitions, Mapping):
        raise CatalogInvalid("$defs is an object", pointer=f"{where}/$defs")

    # (schema, path tokens, needs a zh title) — walked with an explicit stack.
    stack: list[tuple[Any, tuple[str | int, ...], bool]] = [(schema, (), True)]
    stack.extend((sub, ("$defs", name), True) for name, sub in definitions.items())
    while stack:
        node, path, titled = stack.pop()
        here = where + json_pointer(path)
        stack.extend(_check_node(node, path, here, titled, definitions))


def _check_node(
    node: Any,
    path: tuple[str | int, ...],
    here: str,
    titled: bool,
    definitions: Mapping[str, Any],
) -> list[tuple[Any, tuple[str | int, ...], bool]]:
    def fail(message: str, *tokens: str | int) -> CatalogInvalid:
        return CatalogInvalid(message, pointer=here + json_pointer(tokens))

    if not isinstance(node, Mapping):
        raise fail("a schema here is an object")
    allowed = PORTABLE_KEYWORDS | ({"$schema"} if path == () else set())
    for keyword in node:
        if keyword not in allowed:
            raise fail(f"{keyword!r} is outside the portable form subset", keyword)
    if "$defs" in node and path != ():
        raise fail("$defs belong at the root of the form", "$defs")
    if titled and not (isinstance(node.get("title"), str) and _CJK.search(node["title"])):
        raise fail("needs a title in Chinese", "title")

    if "$ref" in node:
        match = _REF.match(str(node["$ref"]))
        if match is None or match.group(1) not in definitions:
            raise fail("$ref must name an existing local definition #/$defs/<name>", "$ref")
        if set(node) - {"$ref", "title", "description"}:
            raise fail("a $ref has nothing beside it but title and description")
        return []

    kind = node.get("type")
    if not isinstance(kind, str) or kind not in _TYPES:
        raise fail(f"type must be one of {sorted(_TYPES)}", "type")
    for keyword in (_TYPED - _KEYWORDS_OF_TYPE[kind]) & set(node):
        raise fail(f"{keyword!r} does not apply to type {kind}", keyword)
    _check_values(node, kind, fail)

    children: list[tuple[Any, tuple[str | int, ...], bool]] = []
    if kind == "object":
        properties = node.get("properties")
        if not isinstance(properties, Mapping) or not properties:
            raise fail("an object lists its properties", "properties")
        if node.get("additionalProperties") is not False:
            raise fail("an object says additionalProperties: false", "additionalProperties")
        for name in properties:
            if not _PROPERTY_NAME.match(name):
                raise fail(
                    "a property is named like an identifier (birth_date)", "properties", name
                )
        for name in node.get("required", []):
            if name not in properties:
                raise fail(f"required names {name!r}, which is not a property", "required")
        children.extend(
            (sub, (*path, "properties", name), True) for name, sub in properties.items()
        )
    elif kind == "array":
        if "items" not in node:
            raise fail("an array says what its items are", "items")
        children.append((node["items"], (*path, "items"), False))
    return children


def _check_values(node: Mapping[str, Any], kind: str, fail: Any) -> None:
    if "enum" in node:
        values = node["enum"]
        if not values or len({repr(v) for v in values}) != len(values):
            raise fail("enum values are non-empty and unique", "enum")
        if not all(_is_of_type(value, kind) for value in values):
            raise fail(f"every enum value is of type {kind}", "enum")
    if "const" in node and not _is_of_type(node["const"], kind):
        raise fail(f"const is of type {kind}", "const")
    if "format" in node and node["format"] not in FORMATS:
        raise fail(f"format must be one of {sorted(FORMATS)}", "format")
    if "pattern" in node:
        pattern = node["pattern"]
        try:
            re.compile(pattern)
        except re.error as exc:
            raise fail(f"pattern does not compile: {exc}", "pattern") from exc
        if _NON_PORTABLE_ESCAPE.search(pattern):
            raise fail(r"pattern avoids \d, \w and \s: write [0-9] and the like", "pattern")
    for low, high in (("minimum", "maximum"), ("minLength", "maxLength")):
        if low in node and high in node and node[low] > node[high]:
            raise fail(f"{low} is above {high}", low)


def _is_of_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    return False
