"""Mango selector matching, held to CouchDB 3's mango_selector.erl.

The expected values follow CouchDB, including where it surprises; such cases say why.
"""

from typing import Any

import pytest

from fieldhall.sync.mango import MAX_SELECTOR_DEPTH, InvalidSelector, compile_selector, matches

CASE = {
    "_id": "case-17",
    "_rev": "1-9f1c",
    "type": "case",
    "status": "open",
    "priority": 3,
    "score": 4.5,
    "notes": None,
    "closed": False,
    "tags": ["urgent", "water"],
    "empty": [],
    "owner": {"name": "alice", "hall": {"id": 7}},
    "visits": [{"agent": "bob", "minutes": 30}, {"agent": "chelsea", "minutes": 95}],
    "labels": {"en": "Water leak", "fr": "Fuite"},
    "a.b": "a key with a dot",
}

# (selector, expected) against CASE.
ON_CASE: list[tuple[dict[str, Any], bool]] = [
    # Implicit $eq and $and; nested field objects are paths.
    ({"status": "open"}, True),
    ({"status": "closed"}, False),
    ({"priority": 3.0}, True),  # collation: 3 == 3.0
    ({"status": "open", "priority": 3}, True),
    ({"status": "open", "priority": 4}, False),
    ({"owner": {"name": "alice"}}, True),
    ({"owner": {"hall": {"id": 7}}}, True),
    ({"owner": {"name": "alice", "hall.id": {"$gt": 6}}}, True),
    ({"owner": {"name": "alice", "hall.id": {"$gt": 7}}}, False),
    ({"owner.hall.id": 7}, True),
    ({"owner.hall": {"id": 7}}, True),
    ({"owner": {"name": "bob"}}, False),
    # Arrays are compared whole by $eq: no element-wise match as in MongoDB.
    ({"tags": ["urgent", "water"]}, True),
    ({"tags": ["water", "urgent"]}, False),
    ({"tags": "urgent"}, False),
    # {} as a value means "equals the empty object".
    ({"labels": {}}, False),
    # Dotted paths, escaped dots and array indexes.
    ({"a\\.b": "a key with a dot"}, True),
    ({"a.b": "a key with a dot"}, False),
    ({"tags.0": "urgent"}, True),
    ({"tags.1": "water"}, True),
    ({"tags.+1": "water"}, True),  # Erlang's binary_to_integer accepts a sign
    ({"visits.1.agent": "chelsea"}, True),
    ({"visits.0.minutes": {"$lt": 60}}, True),
    # Missing fields: only $exists: false matches them, negations included.
    ({"nope": {"$exists": False}}, True),
    ({"nope": {"$exists": True}}, False),
    ({"nope": {"$not": {"$exists": True}}}, True),
    ({"nope": {"$ne": 1}}, False),
    ({"nope": {"$nin": [1]}}, False),
    ({"nope": {"$lt": 1}}, False),
    ({"nope": None}, False),
    ({"nope": {"$type": "null"}}, False),
    ({"$not": {"nope": 1}}, False),
    ({"$nor": [{"nope": 1}]}, False),
    ({"$not": {"nope": {"$size": 2}}}, False),
    ({"nope.deeper": {"$exists": False}}, True),
    # ... and a path through a scalar or off an array's end matches nothing at all.
    ({"tags.2": {"$exists": False}}, False),
    ({"tags.-1": {"$exists": False}}, False),
    ({"visits.agent": {"$exists": False}}, False),
    ({"status.length": {"$exists": False}}, False),
    # Present nulls and falses are values like any other.
    ({"notes": None}, True),
    ({"notes": {"$exists": True}}, True),
    ({"closed": False}, True),
    ({"status": {"$exists": False}}, False),
    # Order operators.
    ({"priority": {"$gt": 2}}, True),
    ({"priority": {"$gt": 3}}, False),
    ({"priority": {"$gte": 3}}, True),
    ({"priority": {"$lt": 3}}, False),
    ({"priority": {"$lte": 3}}, True),
    ({"priority": {"$eq": 3}}, True),
    ({"priority": {"$ne": 3}}, False),
    ({"priority": {"$ne": 4}}, True),
    ({"score": {"$gt": 4, "$lt": 5}}, True),
    # Between types: null < false < true < numbers < strings < arrays < objects.
    ({"notes": {"$lt": False}}, True),
    ({"closed": {"$gt": None, "$lt": True}}, True),
    ({"priority": {"$gt": True}}, True),
    ({"priority": {"$lt": "0"}}, True),
    ({"status": {"$gt": 999}}, True),
    ({"status": {"$lt": []}}, True),
    ({"tags": {"$lt": {}}}, True),
    ({"owner": {"$gt": ["z"]}}, True),
    ({"status": {"$gt": []}}, False),
    # Arrays compare element by element, a prefix first.
    ({"tags": {"$gt": ["urgent"]}}, True),
    ({"tags": {"$lt": ["urgent", "wind"]}}, True),
    ({"tags": {"$gte": ["urgent", "water", "x"]}}, False),
    # Strings compare by code point (CouchDB uses ICU collation, where "Zebra" > "open").
    ({"status": {"$gt": "Zebra"}}, True),
    # _id compares in Erlang term order, where strings sort after every other type.
    ({"_id": {"$gt": []}}, True),
    ({"_id": {"$gt": {"a": 1}}}, True),
    ({"_id": {"$gt": "case-1", "$lt": "case-2"}}, True),
    ({"_id": {"$in": ["case-16", "case-17"]}}, True),
    # $in / $nin: an array field matches through its elements, never as a whole.
    ({"status": {"$in": ["open", "pending"]}}, True),
    ({"status": {"$in": ["closed"]}}, False),
    ({"status": {"$in": []}}, False),
    ({"priority": {"$in": [3.0]}}, True),
    ({"tags": {"$in": ["water", "fire"]}}, True),
    ({"tags": {"$in": [["urgent", "water"]]}}, False),
    ({"empty": {"$in": [[]]}}, False),
    ({"status": {"$nin": ["closed"]}}, True),
    ({"status": {"$nin": ["open"]}}, False),
    ({"status": {"$nin": []}}, True),
    ({"tags": {"$nin": ["water"]}}, False),
    ({"tags": {"$nin": ["fire"]}}, True),
    ({"empty": {"$nin": ["x"]}}, True),
    # $all
    ({"tags": {"$all": ["water"]}}, True),
    ({"tags": {"$all": ["water", "urgent"]}}, True),
    ({"tags": {"$all": ["water", "fire"]}}, False),
    ({"tags": {"$all": []}}, False),
    ({"tags": {"$all": [["urgent", "water"]]}}, True),  # [X]: the field may equal X
    ({"status": {"$all": ["open"]}}, False),
    ({"empty": {"$not": {"$all": ["x"]}}}, True),
    # $type
    ({"notes": {"$type": "null"}}, True),
    ({"closed": {"$type": "boolean"}}, True),
    ({"priority": {"$type": "number"}}, True),
    ({"score": {"$type": "number"}}, True),
    ({"status": {"$type": "string"}}, True),
    ({"tags": {"$type": "array"}}, True),
    ({"owner": {"$type": "object"}}, True),
    ({"status": {"$type": "number"}}, False),
    ({"closed": {"$type": "number"}}, False),
    ({"status": {"$type": "text"}}, False),  # accepted, as CouchDB does; matches nothing
    # $size
    ({"tags": {"$size": 2}}, True),
    ({"tags": {"$size": 1}}, False),
    ({"empty": {"$size": 0}}, True),
    ({"status": {"$size": 4}}, False),
    ({"owner": {"$size": 2}}, False),
    # $mod matches integers only.
    ({"priority": {"$mod": [2, 1]}}, True),
    ({"priority": {"$mod": [2, 0]}}, False),
    ({"score": {"$mod": [2, 0]}}, False),
    ({"status": {"$mod": [2, 0]}}, False),
    # $regex: re.search semantics, strings only.
    ({"status": {"$regex": "^op"}}, True),
    ({"status": {"$regex": "pe"}}, True),
    ({"status": {"$regex": "^OP"}}, False),
    ({"status": {"$regex": "(?i)^OP"}}, True),
    ({"priority": {"$regex": "3"}}, False),
    ({"tags": {"$regex": "water"}}, False),
    # $beginsWith
    ({"status": {"$beginsWith": "op"}}, True),
    ({"status": {"$beginsWith": "Op"}}, False),
    ({"status": {"$beginsWith": ""}}, True),
    ({"_id": {"$beginsWith": "case-"}}, True),
    ({"priority": {"$beginsWith": "3"}}, False),
    ({"tags": {"$beginsWith": "urgent"}}, False),
    # $elemMatch
    ({"visits": {"$elemMatch": {"agent": "bob"}}}, True),
    ({"visits": {"$elemMatch": {"minutes": {"$gt": 60}}}}, True),
    ({"visits": {"$elemMatch": {"agent": "bob", "minutes": {"$gt": 60}}}}, False),
    ({"tags": {"$elemMatch": {"$eq": "water"}}}, True),
    ({"tags": {"$elemMatch": {"$beginsWith": "urg"}}}, True),
    ({"tags": {"$elemMatch": {"$gte": "v", "$lt": "x"}}}, True),
    ({"empty": {"$elemMatch": {"$exists": True}}}, False),
    ({"status": {"$elemMatch": {"$eq": "open"}}}, False),
    ({"visits": {"$elemMatch": {}}}, False),  # {} means "an element equal to {}"
    # Below $elemMatch negations stay as written: $not is a plain not...
    ({"visits": {"$elemMatch": {"$not": {"agent": "bob"}}}}, True),
    ({"visits": {"$elemMatch": {"$not": {"nope": 1}}}}, True),
    # ... and CouchDB's matcher fails on $nor, which $elemMatch reports as no match,
    ({"visits": {"$elemMatch": {"$nor": [{"agent": "nobody"}]}}}, False),
    # unless an element matched before the failing $nor was reached.
    ({"tags": {"$elemMatch": {"$or": [{"$eq": "urgent"}, {"$nor": [{"$eq": "x"}]}]}}}, True),
    ({"tags": {"$elemMatch": {"$or": [{"$eq": "water"}, {"$nor": [{"$eq": "x"}]}]}}}, False),
    # $allMatch
    ({"tags": {"$allMatch": {"$type": "string"}}}, True),
    ({"visits": {"$allMatch": {"minutes": {"$gt": 10}}}}, True),
    ({"visits": {"$allMatch": {"minutes": {"$gt": 60}}}}, False),
    ({"empty": {"$allMatch": {"$eq": 0}}}, False),  # false for an empty array
    ({"status": {"$allMatch": {"$eq": "open"}}}, False),
    ({"tags": {"$allMatch": {"$nor": [{"$eq": "x"}]}}}, False),
    # $keyMapMatch
    ({"labels": {"$keyMapMatch": {"$eq": "fr"}}}, True),
    ({"labels": {"$keyMapMatch": {"$regex": "^[a-z]{3}$"}}}, False),
    ({"tags": {"$keyMapMatch": {"$eq": "0"}}}, False),
    # $and, $or, $not, $nor
    ({"$and": [{"status": "open"}, {"priority": {"$gte": 3}}]}, True),
    ({"$and": [{"status": "open"}, {"priority": {"$gte": 4}}]}, False),
    ({"$and": []}, True),
    ({"$or": [{"status": "closed"}, {"priority": 3}]}, True),
    ({"$or": [{"status": "closed"}, {"priority": 4}]}, False),
    ({"$or": []}, True),  # CouchDB: an empty $or matches anything
    ({"$not": {"status": "closed"}}, True),
    ({"$not": {"status": "open"}}, False),
    ({"$not": {"$not": {"status": "open"}}}, True),
    ({"priority": {"$not": {"$gt": 5}}}, True),
    ({"priority": {"$not": {"$in": [1, 2]}}}, True),
    ({"tags": {"$not": {"$size": 2}}}, False),
    ({"$nor": [{"status": "closed"}, {"priority": 5}]}, True),
    ({"$nor": [{"status": "open"}]}, False),
    ({"$nor": []}, True),
    ({"status": {"$or": [{"$eq": "closed"}, {"$regex": "^o"}]}}, True),
    ({"status": {"$and": [{"$ne": "closed"}, {"$regex": "^c"}]}}, False),
    # De Morgan runs before matching, so a missing field stays false under $not:
    # not(open AND nope == 1) is (status != open OR nope != 1): false, false.
    ({"$not": {"$and": [{"status": "open"}, {"nope": 1}]}}, False),
    ({"$not": {"$or": [{"status": "closed"}, {"nope": 1}]}}, False),
    ({"nope": {"$not": {"$and": []}}}, True),  # becomes {"$or": []}
    ({"nope": {"$not": {"$exists": True, "$eq": 0}}}, True),
    # Operators without a field, below the top, apply to the whole document (an object).
    ({"$and": [{"$gt": 1}]}, True),
    # The empty selector matches everything.
    ({}, True),
]


@pytest.mark.parametrize(("selector", "expected"), ON_CASE, ids=repr)
def test_selector_against_a_case(selector: dict[str, Any], expected: bool) -> None:
    assert compile_selector(selector)(CASE) is expected


# (selector, document, expected) where CASE has no field fit for the point.
ON_DOCUMENT: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"x": {}}, {"x": {}}, True),
    ({"x": {}}, {"x": {"a": 1}}, False),
    ({"x": {}}, {}, False),
    ({"$not": {"x": {}}}, {"x": []}, True),
    ({"$not": {"x": {}}}, {}, False),
    ({"x": {"$elemMatch": {}}}, {"x": [1, {}]}, True),
    # Objects compare key by key in document order, so key order matters.
    ({"x": {"$eq": {"a": 1, "b": 2}}}, {"x": {"a": 1, "b": 2}}, True),
    ({"x": {"$eq": {"b": 2, "a": 1}}}, {"x": {"a": 1, "b": 2}}, False),
    ({"x": {"$lt": {"a": 1, "c": 0}}}, {"x": {"a": 1, "b": 2}}, True),
    ({"x": {"$gt": {"a": 1}}}, {"x": {"a": 1, "b": 2}}, True),
    ({"x": {"$gt": {"a": 0, "z": 9}}}, {"x": {"a": 1}}, True),
    # $all: membership is exact (1 is not 1.0), the whole-array form is not.
    ({"x": {"$all": [1]}}, {"x": [2, 1]}, True),
    ({"x": {"$all": [1.0]}}, {"x": [2, 1]}, False),
    ({"x": {"$all": [[1.0, 2]]}}, {"x": [1, 2]}, True),
    ({"x": {"$all": [[1, 2]]}}, {"x": [[1, 2], 3]}, True),
    ({"x": {"$all": [{"a": 1}]}}, {"x": [{"a": 1, "b": 2}]}, False),
    # $mod: Erlang's rem takes the sign of the dividend; floats and booleans never match.
    ({"n": {"$mod": [3, -1]}}, {"n": -7}, True),
    ({"n": {"$mod": [3, 2]}}, {"n": -7}, False),
    ({"n": {"$mod": [-3, 1]}}, {"n": 7}, True),
    ({"n": {"$mod": [2, 0]}}, {"n": 4.0}, False),
    ({"n": {"$mod": [1, 0]}}, {"n": True}, False),
    # $regex works on UTF-8 bytes, as Erlang's re without its unicode option.
    ({"name": {"$regex": "^d.a$"}}, {"name": "día"}, False),
    ({"name": {"$regex": "^d..a$"}}, {"name": "día"}, True),
    ({"name": {"$regex": "^\\w+$"}}, {"name": "día"}, False),
    ({"name": {"$regex": "í"}}, {"name": "día"}, True),
    # Escapes: "\\." is a dot within a key; every other backslash is dropped.
    ({"x\\.y.z": 1}, {"x.y": {"z": 1}}, True),
    ({"x\\.y.z": 1}, {"x": {"y": {"z": 1}}}, False),
    ({"a\\b": 1}, {"ab": 1}, True),
    # Below $elemMatch, $not is a plain not: an element lacking the field matches.
    ({"x": {"$elemMatch": {"$not": {"a": 1}}}}, {"x": [{"b": 1}]}, True),
    ({"$not": {"a": 1}}, {"b": 1}, False),
    ({"x": {"$keyMapMatch": {"$gt": "m"}}}, {"x": {}}, False),
    ({"x": {"$elemMatch": {"_id": {"$gt": []}}}}, {"x": [{"_id": "a"}]}, True),
    ({"x": {"$elemMatch": {"y": {"$gt": []}}}}, {"x": [{"y": "a"}]}, False),
]


@pytest.mark.parametrize(("selector", "doc", "expected"), ON_DOCUMENT, ids=repr)
def test_selector_against_a_document(
    selector: dict[str, Any], doc: dict[str, Any], expected: bool
) -> None:
    assert matches(selector, doc) is expected


def _nested(depth: int, leaf: Any) -> Any:
    """``leaf`` wrapped in ``depth - 1`` levels of ``{"$not": …}``."""
    selector = leaf
    for _ in range(depth - 1):
        selector = {"$not": selector}
    return selector


# (selector, part of the message)
INVALID: list[tuple[Any, str]] = [
    ([], "selector must be a JSON object"),
    ("status", "selector must be a JSON object"),
    (None, "selector must be a JSON object"),
    ({"$foo": 1}, "unknown operator: $foo"),
    ({"a": {"$foo": 1}}, "unknown operator: $foo"),
    ({"a": {"$gt": 1, "$regexp": "x"}}, "unknown operator: $regexp"),
    ({"a": {"$in": 1}}, "$in requires an array"),
    ({"a": {"$nin": "x"}}, "$nin requires an array"),
    ({"a": {"$all": {}}}, "$all requires an array"),
    ({"$and": {}}, "$and requires an array"),
    ({"$or": {"a": 1}}, "$or requires an array"),
    ({"$nor": 1}, "$nor requires an array"),
    ({"$not": []}, "$not requires an object"),
    ({"a": {"$not": 1}}, "$not requires an object"),
    ({"a": {"$elemMatch": 1}}, "$elemMatch requires an object"),
    ({"a": {"$allMatch": []}}, "$allMatch requires an object"),
    ({"a": {"$keyMapMatch": "k"}}, "$keyMapMatch requires an object"),
    ({"a": {"$exists": "yes"}}, "$exists requires a boolean"),
    ({"a": {"$exists": 1}}, "$exists requires a boolean"),
    ({"a": {"$type": 1}}, "$type requires a string"),
    ({"a": {"$size": -1}}, "$size requires a non-negative integer"),
    ({"a": {"$size": 1.0}}, "$size requires a non-negative integer"),
    ({"a": {"$size": True}}, "$size requires a non-negative integer"),
    ({"a": {"$mod": [0, 1]}}, "$mod requires"),
    ({"a": {"$mod": [2]}}, "$mod requires"),
    ({"a": {"$mod": [2.0, 1]}}, "$mod requires"),
    ({"a": {"$mod": [True, 0]}}, "$mod requires"),
    ({"a": {"$mod": "2,1"}}, "$mod requires"),
    ({"a": {"$regex": 1}}, "$regex requires a string"),
    ({"a": {"$regex": "("}}, "$regex requires a valid regular expression"),
    ({"a": {"$elemMatch": {"$nor": [{"$regex": "("}]}}}, "$regex requires a valid"),
    ({"a": {"$beginsWith": 1}}, "$beginsWith requires a string"),
    ({"a": {"$beginsWith": "\ud800"}}, "$beginsWith requires a string"),
    ({"a": {"$text": "leak"}}, "operator not supported: $text"),
    ({"$where": "true"}, "operator not supported: $where"),
    ({"a..b": 1}, "invalid field name"),
    ({"": 1}, "invalid field name"),
    ({"a.": 1}, "invalid field name"),
    ({"a": {"": 1}}, "invalid field name"),
    ({"$gt": 1}, "missing field name"),
    ({"$not": {"$eq": 1}}, "missing field name"),
    (_nested(MAX_SELECTOR_DEPTH + 1, {"a": 1}), "nested more than"),
]


@pytest.mark.parametrize(("selector", "message"), INVALID, ids=repr)
def test_invalid_selector_is_refused(selector: Any, message: str) -> None:
    with pytest.raises(InvalidSelector) as raised:
        compile_selector(selector)
    assert message in str(raised.value)


def test_invalid_selector_is_a_value_error() -> None:
    assert issubclass(InvalidSelector, ValueError)


def test_deepest_allowed_selector_compiles() -> None:
    # {"a": 1} takes two levels (the field and its condition).
    match = compile_selector(_nested(MAX_SELECTOR_DEPTH - 1, {"a": 1}))
    assert match({"a": 1}) is (MAX_SELECTOR_DEPTH % 2 == 0)


def test_a_compiled_selector_is_reused_across_documents() -> None:
    match = compile_selector({"status": {"$in": ["open", "pending"]}, "priority": {"$gte": 2}})
    docs: list[dict[str, Any]] = [
        {"status": "open", "priority": 2},
        {"status": "pending", "priority": 1},
        {"status": "closed", "priority": 5},
        {"priority": 9},
        {"status": "pending", "priority": 2.5},
    ]
    assert [match(doc) for doc in docs] == [True, False, False, False, True]


def test_deeply_nested_documents_compare_without_recursion() -> None:
    depth = 20_000
    deep: Any = "leaf"
    deeper: Any = "leaf-2"
    for _ in range(depth):
        deep, deeper = [deep], {"k": deeper}
    assert matches({"x": {"$eq": deep}}, {"x": deep}) is True
    assert matches({"x": {"$lt": deeper}}, {"x": deep}) is True  # an array sorts first
    assert matches({"x": {"$all": [deep]}}, {"x": [deep]}) is True
    assert matches({"x": {"$in": [[deep]]}}, {"x": [[deep]]}) is True
