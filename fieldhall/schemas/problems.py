"""``jsonschema`` validation errors, translated into the contract's (pointer, message) pairs.

Messages name the rule that failed, never the offending value: a refusal reason travels back
to devices and into logs, and the value may be a citizen's ID number. The pointer names the
member at fault — for a missing required member or a member that is not allowed, the member
itself, not the object holding it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from fieldhall.schemas.pointer import json_pointer

__all__ = ["Problem", "problems_of"]

Problem = tuple[str, str]


def problems_of(
    errors: Iterable[ValidationError], prefix: Sequence[str | int] = ()
) -> tuple[Problem, ...]:
    """Every error as ``(pointer, message)``, the headline first.

    Shallow problems come first (a missing member before a bad value deep inside another),
    and problems at the same depth in the order of the schema, so the headline is stable.
    """
    ordered = sorted(errors, key=lambda error: len(error.path))
    seen: dict[Problem, None] = {}
    for error in ordered:
        for problem in _describe(error, prefix):
            seen.setdefault(problem, None)
    return tuple(seen)


def _describe(error: ValidationError, prefix: Sequence[str | int]) -> list[Problem]:
    path: list[str | int] = [*prefix, *error.absolute_path]
    if error.validator in ("anyOf", "oneOf") and error.context:
        # Say what is wrong with the alternative the value most nearly is — a plain ID number
        # that misses the pattern, a sealed object without ``enc`` — not "no branch matched".
        # An alternative whose own type the value does not have is not a near miss.
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        near = [
            sub
            for subs in branches.values()
            if not any(_type_mismatch(sub) for sub in subs)
            for sub in subs
        ]
        if near:
            return _describe(best_match(near), prefix)
        kinds = [str(sub.validator_value) for sub in error.context if _type_mismatch(sub)]
        return [(json_pointer(path), f"must be of type {' or '.join(dict.fromkeys(kinds))}")]

    keyword = str(error.validator)
    value: Any = error.validator_value
    instance: Any = error.instance

    if keyword == "required" and isinstance(instance, Mapping):
        missing = [name for name in value if name not in instance]
        return [(json_pointer([*path, name]), "required member is missing") for name in missing]
    if keyword == "additionalProperties" and isinstance(instance, Mapping):
        allowed = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        extra = [name for name in instance if name not in allowed]
        return [(json_pointer([*path, name]), "member is not allowed here") for name in extra]
    return [(json_pointer(path), _message(keyword, value))]


def _type_mismatch(error: ValidationError) -> bool:
    return error.validator == "type" and not error.relative_path


def _message(keyword: str, value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    if keyword == "type":
        return f"must be of type {' or '.join(value) if isinstance(value, list) else value}"
    if keyword == "enum":
        return f"must be one of {shown}"
    if keyword == "const":
        return f"must be {shown}"
    if keyword == "pattern":
        return f"does not match the pattern {value}"
    if keyword == "format":
        return f"is not a valid {value}"
    if keyword == "minLength":
        return f"must be at least {value} characters long"
    if keyword == "maxLength":
        return f"must be at most {value} characters long"
    if keyword == "minimum":
        return f"must be ≥ {value}"
    if keyword == "maximum":
        return f"must be ≤ {value}"
    if keyword == "minItems":
        return "must not be empty" if value == 1 else f"must have at least {value} items"
    if keyword == "maxItems":
        return f"must have at most {value} items"
    if keyword == "uniqueItems":
        return "items must be unique"
    if keyword == "minProperties":
        return f"must have at least {value} members"
    if keyword == "required":
        return "required member is missing"
    if keyword == "additionalProperties":
        return "member is not allowed here"
    return f"breaks the {keyword} rule"
