"""The catalogs cover the UI: every string the templates and labels mark is in both catalogs,
Chinese has a translation for each (not fuzzy) with the same placeholders, and the compiled
catalogs translate at run time."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from fieldhall.server.web import i18n

WEB = Path(i18n.__file__).parent
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def marked() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB),
        METHODS,
        keywords={"_": None, "N_": None},
        options_map={"**/templates/**.html": {"trim_blocks": "True", "lstrip_blocks": "True"}},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(locale: str) -> dict[str, tuple[str, bool]]:
    with (WEB / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return {str(m.id): (str(m.string), m.fuzzy) for m in read_po(handle, locale=locale) if m.id}


def test_every_marked_string_is_in_both_catalogs() -> None:
    strings = marked()
    assert len(strings) > 150
    for locale in ("zh_CN", "en"):
        assert strings - set(catalog(locale)) == set(), locale


def test_chinese_translates_everything_with_the_same_placeholders() -> None:
    for msgid, (msgstr, fuzzy) in catalog("zh_CN").items():
        assert msgstr and not fuzzy, msgid
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


def test_the_catalogs_compile_at_run_time() -> None:
    assert i18n.translations("zh_CN").gettext("Log in") == "登录"
    assert i18n.translations("en").gettext("Log in") == "Log in"
    assert i18n.translations("xx").gettext("Log in") == "登录"  # the default for the unknown
    assert i18n.pick_locale(None) == "zh_CN" and i18n.pick_locale("en") == "en"
