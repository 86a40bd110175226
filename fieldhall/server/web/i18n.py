"""The hall UI's languages: Simplified Chinese first, English available.

Catalogs are the committed ``translations/<locale>/LC_MESSAGES/messages.po`` files, compiled
in memory when the module is first used — no ``.mo`` files to build or ship, so a fresh clone
installed with ``pip install -e .`` has every language. To add a string, wrap it in ``_()``
(templates) or ``N_()`` (Python), then extract and merge::

    T=fieldhall/server/web/translations
    pybabel extract -F $T/babel.cfg -k N_ --no-location --omit-header -o /tmp/hall.pot \
        fieldhall/server/web
    pybabel update -i /tmp/hall.pot -d $T --no-wrap --omit-header

and translate the new ``msgid``s in the ``zh_CN`` catalog; ``en`` leaves ``msgstr`` empty
(the English ``msgid`` is shown). ``tests/web/test_translations.py`` fails on an untranslated
or fuzzy Chinese entry and on a string the catalogs lack.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

__all__ = ["DEFAULT_LOCALE", "LOCALES", "pick_locale", "translations"]

TRANSLATIONS = Path(__file__).parent / "translations"
DEFAULT_LOCALE = "zh_CN"
# locale -> (its own name, the HTML lang attribute)
LOCALES: Mapping[str, tuple[str, str]] = {"zh_CN": ("中文", "zh-CN"), "en": ("English", "en")}


@cache
def translations(locale: str) -> Translations:
    """The compiled catalog of ``locale`` (the default's for an unknown one)."""
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def pick_locale(chosen: str | None) -> str:
    """The user's choice (the ``hall_lang`` cookie) if it is one we have, else Chinese: the
    hall works in Chinese whatever language the browser was installed in."""
    return chosen if chosen is not None and chosen in LOCALES else DEFAULT_LOCALE
