"""A pytest plugin that fails the run when a page asked for a text with no Finnish or Swedish translation.

Extraction (`make messages`) sees only literal texts; a message built or handed around at run time slips
past it, and a page then shows English. Every lookup through web.i18n.translator (the templates' `_()`,
`say()` of an error's template or of web.errors.respond's message, the feeds' texts) in Finnish or Swedish is
checked against that catalogue's finished translations, and the run fails at its end with the list. Only texts
meant for translation go through the translator; user data is shown as it is and never looked up.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from babel.messages.pofile import read_po

from web import i18n

REQUIRED = ("fi", "sv")


@cache
def finished(language: str) -> frozenset[str]:
    """The msgids that have a finished (non-empty, non-fuzzy) translation in the language's catalogue."""
    with (i18n.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return frozenset(str(m.id) for m in catalog if m.id and m.string and not m.fuzzy)


class Untranslated:
    def __init__(self) -> None:
        self.missing: dict[str, set[str]] = {}  # msgid -> the languages it lacks

    def wrap(self, translator: Callable[[str], i18n.Translate]) -> Callable[[str], i18n.Translate]:
        def recording_translator(language: str) -> i18n.Translate:
            translate = translator(language)
            resolved = language if language in i18n.LANGUAGES else i18n.DEFAULT
            if resolved not in REQUIRED:
                return translate

            def lookup(msgid: str) -> str:
                if msgid and msgid not in finished(resolved):
                    self.missing.setdefault(msgid, set()).add(resolved)
                return translate(msgid)

            return lookup

        return recording_translator

    def report(self) -> list[str]:
        return [f"{msgid!r} ({', '.join(sorted(langs))})" for msgid, langs in sorted(self.missing.items())]


RECORDER = Untranslated()
ORIGINAL = i18n.translator


def pytest_configure(config: pytest.Config) -> None:
    i18n.translator = RECORDER.wrap(ORIGINAL)


def pytest_unconfigure(config: pytest.Config) -> None:
    i18n.translator = ORIGINAL


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    handover = getattr(session.config, "workeroutput", None)
    if handover is not None:  # a pytest-xdist worker: the controller reports what every worker found
        handover["untranslated"] = {msgid: sorted(langs) for msgid, langs in RECORDER.missing.items()}
        return
    if RECORDER.missing and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist's controller: gather each worker's finds before the session ends."""
    for msgid, langs in getattr(node, "workeroutput", {}).get("untranslated", {}).items():
        RECORDER.missing.setdefault(msgid, set()).update(langs)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RECORDER.missing:
        terminalreporter.section("texts shown without a Finnish or Swedish translation", red=True)
        for line in RECORDER.report():
            terminalreporter.write_line(line)
        terminalreporter.write_line("Mark them (docs/translations.md), run `make messages` and translate.")
