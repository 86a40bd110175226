"""The inbox's text search: what a clerk types (an applicant's name, part of an address, a
case id) found among hundreds of thousands of cases without reading them all.

Chinese names are two or three characters and addresses have no spaces, so neither word
splitting nor trigram indexes (PostgreSQL's pg_trgm, SQLite's FTS5 ``trigram``: three
characters at least) find "王芳" inside "王芳 汉滨区新城街道…". The hall keeps a bigram
index instead, as CJK search engines do: every two adjacent characters of the non-ASCII
words of a case's ``search_text`` (name, address) and every ASCII word whole (case id,
matter id) are rows of ``hall_case_term`` keyed ``(term, received_order)``.

A query is answered by walking the postings of its rarest term newest first, joined to
the case and checked with the exact substring test (``LIKE``), so a page costs about what
it returns even at 200,000 cases. A query with no indexable term (a single Chinese
character, part of an ASCII word) falls back to the ``LIKE`` scan: correct, slower.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from .context import Tx
from .tables import HallCase, HallCaseTerm

__all__ = [
    "ensure_search_index",
    "index_case",
    "is_complete",
    "like_pattern",
    "query_terms",
    "rarest_term",
    "reindex_all",
    "terms_of",
]

# Postings counted before a term is called common: a cap, so choosing costs little.
_COUNT_CAP = 2_000
_WHOLE = "="  # prefix of whole-word terms, so "ab" the word and "ab" the bigram differ


_terms: Table = HallCaseTerm.__table__  # type: ignore[attr-defined]
_cases: Table = HallCase.__table__  # type: ignore[attr-defined]


def _words(text: str) -> list[str]:
    return [word for word in text.lower().split() if word]


def _bigrams(word: str) -> set[str]:
    return {word[i : i + 2] for i in range(len(word) - 1)}


def terms_of(text: str) -> set[str]:
    """The index terms of a case's ``search_text``."""
    terms: set[str] = set()
    for word in _words(text):
        if word.isascii():
            terms.add(_WHOLE + word[:190])
        else:
            terms |= _bigrams(word)
    return terms


def query_terms(query: str) -> set[str] | None:
    """The terms every match of ``query`` must have in the index, or None when the index
    cannot narrow the search (a lone CJK character, part of an ASCII word)."""
    words = _words(query)
    if len(words) != 1:
        return None  # "王芳 汉滨" is matched as one substring by LIKE: words may not be terms
    word = words[0]
    if word.isascii():
        # Only a whole case id is looked up; without postings it may be part of a word.
        return {_WHOLE + word[:190]} if ":" in word else None
    return _bigrams(word) or None


def is_complete(terms: set[str]) -> bool:
    """Whether a match must have every term: bigrams are, a whole-word guess is not."""
    return not any(term.startswith(_WHOLE) for term in terms)


def like_pattern(query: str) -> str:
    escaped = query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def rarest_term(session: Session, terms: Iterable[str]) -> tuple[str, int]:
    """The term with the fewest postings and their number (counted up to a cap: a few
    index probes)."""

    connection = session.connection()

    def postings(term: str) -> int:
        capped = select(_terms.c.term).where(_terms.c.term == term).limit(_COUNT_CAP).subquery()
        return int(connection.execute(select(func.count()).select_from(capped)).scalar_one())

    return min(((term, postings(term)) for term in sorted(terms)), key=lambda tc: tc[1])


def index_case(target: Session | Tx, case: HallCase) -> None:
    """Write the case's terms, once, when the case arrives: now in a session's transaction,
    or at the end of a workflow transaction (with its other cases' terms, one insert)."""
    rows: list[dict[str, Any]] = [
        {"term": term, "received_order": case.received_order}
        for term in sorted(terms_of(case.search_text))
    ]
    if isinstance(target, Tx):
        target.insert_at_end(_terms, rows)
    elif rows:
        target.connection().execute(insert(_terms), rows)


def reindex_all(session: Session, batch: int = 2_000) -> int:
    """Index every case (for a hall whose cases predate the index); returns cases indexed."""
    done = 0
    last = -1
    while True:
        rows = (
            session.connection()
            .execute(
                select(_cases.c.received_order, _cases.c.search_text)
                .where(_cases.c.received_order > last)
                .order_by(_cases.c.received_order)
                .limit(batch)
            )
            .all()
        )
        if not rows:
            return done
        terms = [
            {"term": term, "received_order": order}
            for order, text in rows
            for term in sorted(terms_of(text))
        ]
        if terms:
            session.connection().execute(insert(_terms), terms)
        done += len(rows)
        last = rows[-1][0]


def ensure_search_index(engine: Engine) -> int:
    """Index the cases of a hall that has cases but no index yet (one made before the
    index existed); returns the cases indexed."""
    with Session(engine) as session:
        connection = session.connection()
        indexed = connection.execute(select(_terms.c.term).limit(1)).first() is not None
        cases = connection.execute(select(_cases.c.id).limit(1)).first() is not None
        if indexed or not cases:
            return 0
        done = reindex_all(session)
        session.commit()
        return done
