"""Finnish, Swedish and English user interface text from gettext catalogues (web/locale/*/messages.po)."""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("fi", "sv", "en")
DEFAULT = "fi"
NAMES = {"fi": "Suomeksi", "sv": "På svenska", "en": "In English"}
LOCALE_DIR = Path(__file__).parent / "locale"

Translate = Callable[[str], str]


@cache
def translations(language: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def translator(language: str) -> Translate:
    return translations(language if language in LANGUAGES else DEFAULT).gettext


def negotiate(chosen: str | None, accept_language: str | None) -> str:
    """The language cookie wins; then the browser's Accept-Language; then Finnish."""
    if chosen in LANGUAGES:
        return str(chosen)
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT
