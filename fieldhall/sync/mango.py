"""Apache CouchDB 3 Mango selector matching, for ``_changes?filter=_selector`` and replication.

:func:`compile_selector` validates a selector once and returns a matcher for documents. It
follows CouchDB's ``mango_selector.erl`` (3.5) step by step:

1. operators: check each operator's argument, make the implicit ``$eq`` (bare values) and
   ``$and`` (objects with several keys) explicit;
2. fields: turn nested field objects and dotted names into one path per condition, pushing
   the paths below ``$and``, ``$or``, ``$not`` and ``$nor``;
3. negations: push ``$not`` and ``$nor`` down to the conditions by De Morgan's laws, so that
   ``{"$not": {"a": 1}}`` becomes ``{"a": {"$ne": 1}}``;

and then compiles the normalized tree into closures.

CouchDB behaviour kept on purpose, surprising as some of it is:

* A condition on a field the document lacks is false, negated or not (step 3 turns
  ``$not``/``$nor`` into ``$ne``, ``$nin``…); only ``{"$exists": false}`` matches it. A path
  through a scalar, or through an array with a segment that is not an index in range, matches
  nothing, not even ``{"$exists": false}``. A numeric segment indexes arrays: ``"tags.0"``.
* ``$eq`` and the order operators compare arrays as wholes; ``$in``/``$nin`` compare the
  elements of an array field (never the array itself) with the candidates.
* ``$all`` uses exact equality (``1`` is not ``1.0``, object key order counts), everything
  else the collation (``1 == 1.0``); ``{"$all": [X]}`` with ``X`` an array also matches a
  field equal to ``X``.
* Empty arguments: ``$and``, ``$or``, ``$nor`` and ``$nin`` match anything, ``$in`` and
  ``$all`` nothing; ``$allMatch`` is false for an empty array; ``{"a": {}}`` and
  ``{"$elemMatch": {}}`` test for an empty object.
* Inside ``$elemMatch``, ``$allMatch`` and ``$keyMapMatch`` step 3 never runs: ``$not`` is a
  plain logical not (it matches elements lacking the field) and ``$nor`` makes CouchDB's
  matcher fail, which the enclosing operator reports as "no match".
* ``_id`` is compared in Erlang term order (a string sorts after every other type), not by
  collation.
* ``$regex`` runs on UTF-8 bytes, as Erlang's ``re`` does without its ``unicode`` option:
  ``.`` is one byte, ``\\w`` and ``(?i)`` know only ASCII.
* ``$type`` accepts any string; a name other than null, boolean, number, string, array or
  object matches nothing.
* Only the top of the normalized selector must name a field: ``{"$gt": 1}`` is refused, while
  ``{"$and": [{"$gt": 1}]}`` compares the whole document.

Simplifications, where CouchDB could answer differently:

* Strings (values and object keys) collate by code point, not by ICU's Unicode collation:
  here ``"B" < "a"``, in CouchDB ``"a" < "B"``.
* ``$regex`` patterns use Python's ``re`` syntax, not PCRE's.
* Refused although CouchDB accepts them: ``$mod`` with divisor 0 (CouchDB fails at match
  time), ``$text`` (needs a text index; CouchDB's ``_changes`` lets every document through),
  and selectors nested deeper than :data:`MAX_SELECTOR_DEPTH`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

__all__ = ["InvalidSelector", "compile_selector", "matches"]

# Normalizing and matching recurse once or twice per level of selector nesting; real
# selectors nest fewer than ten levels, and 100 keeps far below Python's recursion limit.
MAX_SELECTOR_DEPTH = 100


class InvalidSelector(ValueError):
    """Raised when a selector is malformed (unknown operator, wrong argument type)."""


def compile_selector(selector: object) -> Callable[[Mapping[str, Any]], bool]:
    """Validate a selector once and return a matcher for documents (raises InvalidSelector)."""
    if not isinstance(selector, Mapping):
        raise InvalidSelector("selector must be a JSON object")
    if not selector:
        return _always
    node = _norm_negations(_norm_fields(_norm_ops(selector, 1), ()))
    if isinstance(node, _Field) and not node.path:
        raise InvalidSelector(
            'missing field name: an operator must apply to a field, as in {"a": {"$gt": 1}}'
        )
    return _compile(node, _collate)


def matches(selector: Mapping[str, Any], doc: Mapping[str, Any]) -> bool:
    """Whether ``doc`` matches ``selector``; compile once with :func:`compile_selector` instead
    when matching many documents."""
    return compile_selector(selector)(doc)


# --- The normalized selector ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    """``{path: cond}``: the condition holds for the value at ``path`` (``()``: the value)."""

    path: tuple[str, ...]
    cond: _Node


@dataclass(frozen=True, slots=True)
class _Op:
    """``{op: arg}``; ``arg`` is a list of nodes (``$and``, ``$or``, ``$nor``), one node
    (``$not``, ``$elemMatch``, ``$allMatch``, ``$keyMapMatch``) or a JSON value."""

    op: str
    arg: Any


_Node = _Field | _Op

_COMBINATIONS = frozenset({"$and", "$or", "$nor"})
_SUB_SELECTORS = frozenset({"$not", "$elemMatch", "$allMatch", "$keyMapMatch"})
_ELEMENT_MATCHERS = frozenset({"$elemMatch", "$allMatch", "$keyMapMatch"})
_ORDER_TESTS: dict[str, Callable[[int, int], bool]] = {
    "$lt": operator.lt,
    "$lte": operator.le,
    "$eq": operator.eq,
    "$ne": operator.ne,
    "$gte": operator.ge,
    "$gt": operator.gt,
}
_NEGATIONS = {
    "$lt": "$gte",
    "$lte": "$gt",
    "$eq": "$ne",
    "$ne": "$eq",
    "$gte": "$lt",
    "$gt": "$lte",
    "$in": "$nin",
    "$nin": "$in",
}
_UNSUPPORTED = frozenset(
    {"$text", "$where", "$geoWithin", "$geoIntersects", "$near", "$nearSphere"}
)
_ARRAY = (list, tuple)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_utf8(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a "\ud800" escape
        return False
    return True


def _is_mod_argument(value: Any) -> bool:
    return (
        isinstance(value, _ARRAY)
        and len(value) == 2
        and _is_int(value[0])
        and _is_int(value[1])
        and value[0] != 0
    )


# Operator -> (test of its argument, what the error message says it requires).
_ARGUMENT_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "$in": (lambda arg: isinstance(arg, _ARRAY), "an array"),
    "$nin": (lambda arg: isinstance(arg, _ARRAY), "an array"),
    "$all": (lambda arg: isinstance(arg, _ARRAY), "an array"),
    "$exists": (lambda arg: isinstance(arg, bool), "a boolean"),
    "$type": (lambda arg: isinstance(arg, str), "a string"),
    "$regex": (_is_utf8, "a string"),
    "$beginsWith": (_is_utf8, "a string"),
    "$size": (lambda arg: _is_int(arg) and arg >= 0, "a non-negative integer"),
    "$mod": (_is_mod_argument, "[divisor, remainder], integers with a non-zero divisor"),
}


def _norm_ops(selector: Any, depth: int) -> _Node:
    """Step 1: validate operators and make implicit ``$eq`` and ``$and`` explicit."""
    if depth > MAX_SELECTOR_DEPTH:
        raise InvalidSelector(f"selector is nested more than {MAX_SELECTOR_DEPTH} levels deep")
    if not isinstance(selector, Mapping) or not selector:
        return _Op("$eq", selector)  # a bare value, `{}` included, means equality
    if len(selector) > 1:
        return _Op("$and", [_norm_ops({key: arg}, depth + 1) for key, arg in selector.items()])
    ((key, arg),) = selector.items()
    if not isinstance(key, str):
        raise InvalidSelector(f"field names must be strings, not {key!r}")
    if not key.startswith("$"):
        return _Field(_parse_field(key), _norm_ops(arg, depth + 1))
    if key in _COMBINATIONS:
        if not isinstance(arg, _ARRAY):
            raise InvalidSelector(f"{key} requires an array of selectors")
        return _Op(key, [_norm_ops(item, depth + 1) for item in arg])
    if key in _SUB_SELECTORS:
        if not isinstance(arg, Mapping):
            raise InvalidSelector(f"{key} requires an object")
        return _Op(key, _norm_ops(arg, depth + 1))
    if key in _ORDER_TESTS:
        return _Op(key, arg)
    if key in _ARGUMENT_RULES:
        is_valid, requirement = _ARGUMENT_RULES[key]
        if not is_valid(arg):
            raise InvalidSelector(f"{key} requires {requirement}")
        return _Op(key, arg)
    if key in _UNSUPPORTED:
        raise InvalidSelector(f"operator not supported: {key}")
    raise InvalidSelector(f"unknown operator: {key}")


_UNESCAPED_DOT = re.compile(r"(?<!\\)\.")


def _parse_field(name: str) -> tuple[str, ...]:
    """Split a field name on its unescaped dots: ``a.b\\.c`` is ``("a", "b.c")``."""
    parts = _UNESCAPED_DOT.split(name) if "\\" in name else name.split(".")
    if "" in parts:
        raise InvalidSelector(f"invalid field name: {name!r}")
    # As mango_util:parse_field, drop every backslash, not only those before a dot.
    return tuple(part.replace("\\", "") for part in parts)


def _norm_fields(node: _Node, path: tuple[str, ...]) -> _Node:
    """Step 2: give every condition the full path of its field."""
    if isinstance(node, _Field):
        return _norm_fields(node.cond, path + node.path)
    if node.op in _COMBINATIONS:
        return _Op(node.op, [_norm_fields(item, path) for item in node.arg])
    if node.op == "$not":
        return _Op("$not", _norm_fields(node.arg, path))
    if node.op in _ELEMENT_MATCHERS:
        # The sub-selector applies to each element (or key), so its paths start afresh.
        return _Field(path, _Op(node.op, _norm_fields(node.arg, ())))
    return _Field(path, node)


def _norm_negations(node: _Node) -> _Node:
    """Step 3: remove ``$not`` and ``$nor`` above the fields.

    Like CouchDB, this leaves the sub-selectors of ``$elemMatch`` and kin alone: they sit
    below a field, where this step never looks.
    """
    if isinstance(node, _Field):
        return node
    if node.op == "$not":
        return _negate(node.arg)
    if node.op == "$nor":
        return _Op("$and", [_negate(item) for item in node.arg])
    if node.op in ("$and", "$or"):
        return _Op(node.op, [_norm_negations(item) for item in node.arg])
    return node


def _negate(node: _Node) -> _Node:
    if isinstance(node, _Field):
        return _Field(node.path, _negate(node.cond))
    if node.op == "$not":
        return _norm_negations(node.arg)
    if node.op == "$nor":
        return _Op("$or", [_norm_negations(item) for item in node.arg])
    if node.op == "$and":
        return _Op("$or", [_negate(item) for item in node.arg])
    if node.op == "$or":
        return _Op("$and", [_negate(item) for item in node.arg])
    if node.op in _NEGATIONS:
        return _Op(_NEGATIONS[node.op], node.arg)
    if node.op == "$exists":
        return _Op("$exists", not node.arg)
    return _Op("$not", node)


# --- Compiling to closures -------------------------------------------------------------------

_Matcher = Callable[[Any], bool]
_Comparator = Callable[[Any, Any], int]


class _EvaluationFailed(Exception):
    """Raised while matching where CouchDB's matcher crashes (a ``$nor`` it did not normalize)."""


def _always(value: Any) -> bool:
    return True


def _never(value: Any) -> bool:
    return False


def _compile(node: _Node, compare: _Comparator) -> _Matcher:
    """Build the matcher of ``node``; ``compare`` orders JSON values for $eq, $gt, $in…"""
    if isinstance(node, _Field):
        return _compile_field(node, compare)
    op, arg = node.op, node.arg
    if op == "$and":
        conjuncts = [_compile(item, compare) for item in arg]
        return lambda value: all(match(value) for match in conjuncts)
    if op == "$or":
        if not arg:
            return _always  # CouchDB: an empty $or matches anything
        disjuncts = [_compile(item, compare) for item in arg]
        return lambda value: any(match(value) for match in disjuncts)
    if op == "$not":
        negated = _compile(arg, compare)
        return lambda value: not negated(value)
    if op == "$nor":
        return _compile_unnormalized_nor(arg, compare)
    if op in _ELEMENT_MATCHERS:
        return _compile_element_matcher(op, _compile(arg, compare))
    if op in _ORDER_TESTS:
        test = _ORDER_TESTS[op]
        return lambda value: test(compare(value, arg), 0)
    if op in ("$in", "$nin"):
        is_in = _compile_in(arg, compare)
        return is_in if op == "$in" else lambda value: not is_in(value)
    if op == "$all":
        return _compile_all(arg)
    if op == "$exists":
        # Reached only when the field exists; _compile_field answers for a missing one.
        return _always if arg else _never
    if op == "$type":
        return lambda value: _type_name(value) == arg
    if op == "$size":
        return lambda value: isinstance(value, _ARRAY) and len(value) == arg
    if op == "$mod":
        divisor, remainder = arg
        return lambda value: _is_int(value) and _erlang_rem(value, divisor) == remainder
    if op == "$regex":
        return _compile_regex(arg)
    if op == "$beginsWith":
        return lambda value: isinstance(value, str) and value.startswith(arg)
    raise AssertionError(f"operator left unchecked by _norm_ops: {op}")


def _compile_field(node: _Field, compare: _Comparator) -> _Matcher:
    if node.path == ("_id",):
        compare = _compare_terms  # CouchDB compares _id with mango_json:cmp_raw
    cond = _compile(node.cond, compare)
    path = node.path
    if not path:
        return cond
    missing_matches = node.cond == _Op("$exists", False)

    def match_field(value: Any) -> bool:
        found = _get_field(value, path)
        if found is _Absent.NOT_FOUND:
            return missing_matches
        if found is _Absent.BAD_PATH:
            return False
        return cond(found)

    return match_field


def _compile_unnormalized_nor(args: list[_Node], compare: _Comparator) -> _Matcher:
    """``$nor`` below ``$elemMatch`` and kin, which CouchDB's matcher cannot evaluate."""
    for item in args:
        _compile(item, compare)  # still refuse what CouchDB refuses, e.g. a bad $regex

    def fail(value: Any) -> bool:
        raise _EvaluationFailed("$nor")

    return fail


def _compile_element_matcher(op: str, sub: _Matcher) -> _Matcher:
    if op == "$elemMatch":

        def elem_match(value: Any) -> bool:
            try:
                return isinstance(value, _ARRAY) and any(sub(item) for item in value)
            except _EvaluationFailed:
                return False

        return elem_match
    if op == "$allMatch":

        def all_match(value: Any) -> bool:
            try:
                # An empty array does not match: CouchDB requires at least one element.
                return (
                    isinstance(value, _ARRAY) and bool(value) and all(sub(item) for item in value)
                )
            except _EvaluationFailed:
                return False

        return all_match

    def key_map_match(value: Any) -> bool:
        try:
            return isinstance(value, Mapping) and any(sub(key) for key in value)
        except _EvaluationFailed:
            return False

    return key_map_match


def _compile_in(candidates: list[Any], compare: _Comparator) -> _Matcher:
    if not candidates:
        return _never

    def is_in(value: Any) -> bool:
        # An array field matches when one of its elements is a candidate.
        items = value if isinstance(value, _ARRAY) else (value,)
        return any(compare(item, candidate) == 0 for candidate in candidates for item in items)

    return is_in


def _compile_all(required: list[Any]) -> _Matcher:
    if not required:
        return _never
    whole = required[0] if len(required) == 1 and isinstance(required[0], _ARRAY) else None

    def has_all(value: Any) -> bool:
        if not isinstance(value, _ARRAY):
            return False
        # CouchDB tests membership with Erlang's =:= (exact) but the whole array with == .
        if all(any(_identical(want, item) for item in value) for want in required):
            return True
        return whole is not None and _compare_terms(whole, value) == 0

    return has_all


def _compile_regex(pattern: str) -> _Matcher:
    try:
        regex = re.compile(pattern.encode("utf-8"))
    except re.error as exc:
        raise InvalidSelector(f"$regex requires a valid regular expression: {exc}") from exc

    def search(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        return regex.search(value.encode("utf-8", "surrogatepass")) is not None

    return search


def _erlang_rem(dividend: int, divisor: int) -> int:
    """Erlang's ``rem``: the remainder takes the sign of the dividend (Python's ``%`` the
    divisor's)."""
    remainder = abs(dividend) % abs(divisor)
    return remainder if dividend >= 0 else -remainder


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, _ARRAY):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


# --- Finding fields --------------------------------------------------------------------------


class _Absent(Enum):
    NOT_FOUND = "an object lacks a key of the path"
    BAD_PATH = "the path runs through a scalar or past an array's end"


_ARRAY_INDEX = re.compile(r"[+-]?[0-9]+")  # what Erlang's binary_to_integer accepts


def _get_field(value: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path``, or an :class:`_Absent` member (as mango_doc:get_field)."""
    for name in path:
        if isinstance(value, Mapping):
            if name not in value:
                return _Absent.NOT_FOUND
            value = value[name]
        elif isinstance(value, _ARRAY) and _ARRAY_INDEX.fullmatch(name):
            index = int(name)
            if not 0 <= index < len(value):
                return _Absent.BAD_PATH
            value = value[index]
        else:
            return _Absent.BAD_PATH
    return value


# --- Ordering JSON values --------------------------------------------------------------------


def _collation_rank(value: Any) -> int:
    """CouchDB's collation: null < false < true < numbers < strings < arrays < objects."""
    if value is None:
        return 0
    if value is False:
        return 1
    if value is True:
        return 2
    if isinstance(value, int | float):
        return 3
    if isinstance(value, str):
        return 4
    if isinstance(value, _ARRAY):
        return 5
    if isinstance(value, Mapping):
        return 6
    raise TypeError(f"not a JSON value: {value!r}")


def _term_rank(value: Any) -> int:
    """Erlang's term order over jiffy's JSON terms: number < atom (false < null < true) <
    tuple (an object) < list (an array) < binary (a string)."""
    if isinstance(value, bool):
        return 3 if value else 1
    if value is None:
        return 2
    if isinstance(value, int | float):
        return 0
    if isinstance(value, Mapping):
        return 4
    if isinstance(value, _ARRAY):
        return 5
    if isinstance(value, str):
        return 6
    raise TypeError(f"not a JSON value: {value!r}")


def _exact_rank(value: Any) -> int:
    """As :func:`_term_rank`, but an integer never equals a float (Erlang's ``=:=``)."""
    return 7 if isinstance(value, float) else _term_rank(value)


def _collate(a: Any, b: Any) -> int:
    if type(a) is type(b) and type(a) in (str, int, float):  # the common case, made quick
        return -1 if a < b else 1 if a > b else 0
    return _compare(a, b, _collation_rank)


def _compare_terms(a: Any, b: Any) -> int:
    return _compare(a, b, _term_rank)


def _identical(a: Any, b: Any) -> bool:
    return _compare(a, b, _exact_rank) == 0


# A pair of values still to compare, or the result of a comparison already made.
_Step = tuple[Any, Any] | int


def _compare(a: Any, b: Any, rank: Callable[[Any], int]) -> int:
    """-1, 0 or 1 as ``a`` sorts before, with or after ``b``: first by ``rank``, then by value.

    Arrays compare element by element and objects key, then value, in document order, the
    shorter first when one is a prefix of the other. Walks with a stack, not recursion:
    documents may nest deeper than Python's recursion limit.
    """
    stack: list[Iterator[_Step]] = [iter([(a, b)])]
    while stack:
        step = next(stack[-1], None)
        if step is None:
            stack.pop()
        elif isinstance(step, int):
            if step:
                return step
        else:
            x, y = step
            rank_x, rank_y = rank(x), rank(y)
            if rank_x != rank_y:
                return -1 if rank_x < rank_y else 1
            if isinstance(x, _ARRAY):
                stack.append(_array_steps(x, y))
            elif isinstance(x, Mapping):
                stack.append(_object_steps(x, y))
            elif x != y:
                return -1 if x < y else 1
    return 0


def _array_steps(x: Any, y: Any) -> Iterator[_Step]:
    yield from zip(x, y, strict=False)
    yield (len(x) > len(y)) - (len(x) < len(y))


def _object_steps(x: Mapping[str, Any], y: Mapping[str, Any]) -> Iterator[_Step]:
    for (key_x, value_x), (key_y, value_y) in zip(x.items(), y.items(), strict=False):
        yield (key_x > key_y) - (key_x < key_y)
        yield (value_x, value_y)
    yield (len(x) > len(y)) - (len(x) < len(y))
