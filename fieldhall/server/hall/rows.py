"""New ORM rows for hot paths, built the way SQLAlchemy builds a row it loads.

``HallCase(**values)`` on a SQLModel table model does not validate (table models never do),
but it sets every field through SQLModel's ``__setattr__`` and SQLAlchemy's instrumentation
one by one, which made up a third of the projector's time. :func:`new_row` makes the same
object — every field set, unset ones to their declared default, pending once added to a
session — the way SQLAlchemy makes the objects it loads: ``ClassManager.new_instance()``
(which runs ``SQLModel.__new__``, setting up the pydantic bookkeeping) and the values put
into the instance's ``__dict__``, which is where SQLAlchemy keeps an instance's state and
where an INSERT reads it from. Later assignments go through the instrumentation as usual.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pydantic.fields import FieldInfo
from sqlalchemy.orm import ClassManager
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import SQLModel

__all__ = ["new_row"]

_Row = TypeVar("_Row", bound=SQLModel)
_IMMUTABLE = frozenset({type(None), bool, int, float, str, bytes})


@cache
def _shape(
    cls: type[SQLModel],
) -> tuple[ClassManager[Any], frozenset[str], frozenset[str], tuple[Any, ...]]:
    names = frozenset(cls.model_fields)
    required = frozenset(name for name, f in cls.model_fields.items() if f.is_required())
    optional = tuple(
        # An immutable default is shared as is; anything else is made per row (pydantic
        # copies a mutable default and calls a default factory).
        (name, f.default if f.default_factory is None and type(f.default) in _IMMUTABLE else f)
        for name, f in cls.model_fields.items()
        if not f.is_required()
    )
    if cls.__sqlmodel_relationships__:
        raise TypeError(f"{cls.__name__} has relationships: build it with its constructor")
    return manager_of_class(cls), names, required, optional


def new_row(cls: type[_Row], **values: Any) -> _Row:
    """``cls(**values)`` for a SQLModel table model without relationships, faster."""
    manager, names, required, optional = _shape(cls)
    unknown = values.keys() - names
    if unknown:
        raise TypeError(f"{cls.__name__} has no {', '.join(sorted(unknown))}")
    missing = required - values.keys()
    if missing:
        raise TypeError(f"{cls.__name__} needs {', '.join(sorted(missing))}")
    fields_set = set(values)
    for name, default in optional:
        if name not in values:
            if isinstance(default, FieldInfo):
                default = default.get_default(call_default_factory=True)
            values[name] = default
    row: _Row = manager.new_instance()
    row.__dict__.update(values)
    object.__setattr__(row, "__pydantic_fields_set__", fields_set)
    object.__setattr__(row, "__pydantic_extra__", None)
    object.__setattr__(row, "__pydantic_private__", None)
    return row
