"""The run-time net for texts that extraction cannot see (tests/untranslated.py): a page's lookup of a text
with no finished Finnish or Swedish translation is recorded, and a test run that made one fails at its end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import untranslated

ROOT = Path(__file__).resolve().parents[2]
NOBODY = "A text that nobody has translated."
INNER_TEST = """
from web import i18n


def test_page() -> None:
    assert i18n.translator("sv")({text!r}) == {shown!r}
"""


def test_lookups_without_a_finished_translation_are_recorded() -> None:
    recorder = untranslated.Untranslated()
    translator = recorder.wrap(untranslated.ORIGINAL)
    fi, sv, en = translator("fi"), translator("sv"), translator("en")

    assert (fi("Cancelled"), sv("Cancelled")) == ("Peruttu", "Inställt")
    assert (fi(NOBODY), sv(NOBODY), en(NOBODY)) == (NOBODY, NOBODY, NOBODY)
    translator("de")("Another text that nobody has translated.")  # an unknown language gets Finnish

    assert recorder.missing == {NOBODY: {"fi", "sv"}, "Another text that nobody has translated.": {"fi"}}


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "pytest-xdist"])
@pytest.mark.parametrize(
    ("text", "shown", "outcome"),
    [(NOBODY, NOBODY, pytest.ExitCode.TESTS_FAILED), ("Cancelled", "Inställt", pytest.ExitCode.OK)],
)
def test_a_run_that_showed_an_untranslated_text_fails(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    shown: str,
    outcome: int,
    workers: tuple[str, ...],
) -> None:
    """Also when the suite runs on several workers, as `make test` runs it: workers hand their finds on."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    # The inner run loads only the plugins it is about (ours and pytest-xdist): the installed ones that load
    # themselves (hypothesis, schemathesis, faker, playwright …) cost each run and each worker seconds.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeconftest('pytest_plugins = ["tests.untranslated"]\n')
    pytester.makepyfile(test_page=INNER_TEST.format(text=text, shown=shown))

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "xdist", *workers)

    assert result.ret == outcome
    result.stdout.fnmatch_lines(["*1 passed*"])
    listed = f"{text!r} (sv)"
    assert ("texts shown without a Finnish or Swedish translation" in result.stdout.str()) == (text == NOBODY)
    assert (listed in result.stdout.lines) == (text == NOBODY)
