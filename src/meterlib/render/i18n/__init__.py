r"""The label catalogs: gettext ``.mo`` files managed with Babel's message tools.

Labels are written in English in the renderers and marked ``_("...")``; the catalogs live
beside this module as ``<language>/LC_MESSAGES/meterlib.po`` (sources) and ``.mo`` (compiled,
shipped in the package). A locale with no catalog, or a label a catalog lacks, shows English.

Maintaining them (from the repository root; ``babel.cfg`` says which files to scan)::

    pybabel extract -F babel.cfg -o src/meterlib/render/i18n/meterlib.pot src/meterlib/render
    pybabel update -D meterlib -i src/meterlib/render/i18n/meterlib.pot \\
        -d src/meterlib/render/i18n
    pybabel init -D meterlib -i src/meterlib/render/i18n/meterlib.pot \\
        -d src/meterlib/render/i18n -l LANG        # a new language
    pybabel compile -D meterlib -d src/meterlib/render/i18n --statistics

A test checks that every ``.po`` is compiled, complete and current with the template.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel import Locale
from babel.support import NullTranslations, Translations

__all__ = ["CATALOGS", "DOMAIN", "available_languages", "translations"]

#: The gettext domain of meterlib's labels.
DOMAIN = "meterlib"
#: The folder holding ``<language>/LC_MESSAGES/meterlib.mo``.
CATALOGS = Path(__file__).parent


def available_languages() -> tuple[str, ...]:
    """The languages a compiled catalog ships for, sorted (``("ar", "de", ...)``)."""
    return tuple(
        sorted(path.parent.parent.name for path in CATALOGS.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    )


@cache
def _load(name: str) -> NullTranslations:
    return Translations.load(str(CATALOGS), [name], DOMAIN)


def translations(locale: Locale) -> NullTranslations:
    """The catalog for ``locale`` (``de_AT`` falls back to ``de``); English when none ships."""
    return _load(str(locale))
