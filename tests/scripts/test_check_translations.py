"""scripts/check_translations.py, which `make lint` runs, and the extraction settings it shares with
`make messages`: a new text without a finished Finnish and Swedish translation fails the check."""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from core.errors import KokousError

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["babel"]["extract_messages"]
NEW_MODULE = """
from core.errors import Conflict
from core.text import translatable

LATER = translatable("A text shown later that nobody has translated.")


def refuse() -> None:
    raise Conflict("A refusal that nobody has translated.")
"""
NEW_TEMPLATE = '<p>{{ _("A page text that nobody has translated.") }}</p>\n'
NEW = (
    "A page text that nobody has translated.",
    "A refusal that nobody has translated.",
    "A text shown later that nobody has translated.",
)
LOCKED = "Too many failed attempts. Try again in {minutes} min."  # auth/throttle.py


def check(locale_dir: Path, *extra_sources: Path) -> subprocess.CompletedProcess[str]:
    sources = [*SETTINGS["input_paths"], *map(str, extra_sources)] if extra_sources else []
    command = [
        sys.executable,
        str(ROOT / "scripts" / "check_translations.py"),
        "--locale-dir",
        str(locale_dir),
    ]
    return subprocess.run([*command, *sources], capture_output=True, text=True, check=False)  # noqa: S603


def edit(locale_dir: Path, language: str, texts: dict[str, str], *, fuzzy: bool = False) -> None:
    path = locale_dir / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    for msgid, text in texts.items():
        message = catalog.get(msgid) or catalog.add(msgid)
        message.string = text
        if fuzzy:
            message.flags.add("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=None)


@pytest.fixture
def locale_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(ROOT / "web" / "locale", tmp_path / "locale"))


@pytest.fixture
def new_texts(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    (source / "templates").mkdir(parents=True)
    (source / "refusals.py").write_text(NEW_MODULE)
    (source / "templates" / "page.html").write_text(NEW_TEMPLATE)
    return source


def test_the_catalogues_have_every_text(locale_dir: Path) -> None:
    done = check(locale_dir)
    assert done.returncode == 0, done.stdout
    assert "msgids are translated in fi, sv." in done.stdout


def test_a_new_untranslated_text_fails_until_it_is_translated(locale_dir: Path, new_texts: Path) -> None:
    done = check(locale_dir, new_texts)
    assert done.returncode == 1
    for language in ("fi", "sv"):
        assert f"{language}: 3 message(s) need translation" in done.stdout
    assert all(f"untranslated: {msgid!r}" in done.stdout for msgid in NEW)

    edit(locale_dir, "fi", {msgid: f"(fi) {msgid}" for msgid in NEW})
    assert "fi: " not in check(locale_dir, new_texts).stdout
    edit(locale_dir, "sv", {msgid: f"(sv) {msgid}" for msgid in NEW})
    assert check(locale_dir, new_texts).returncode == 0


@pytest.mark.parametrize(
    ("language", "text", "fuzzy", "reported"),
    [
        ("fi", "", False, f"untranslated: {LOCKED!r}"),
        (
            "sv",
            "För många försök. Försök igen om {minutes} minuter.",
            True,
            f"fuzzy (needs review): {LOCKED!r}",
        ),
        ("fi", "Liian monta yritystä. Yritä {minuutit} minuutin päästä.", False, "placeholders differ"),
    ],
)
def test_an_unfinished_translation_fails(
    locale_dir: Path, language: str, text: str, fuzzy: bool, reported: str
) -> None:
    edit(locale_dir, language, {LOCKED: text}, fuzzy=fuzzy)
    done = check(locale_dir)
    assert done.returncode == 1
    assert f"{language}: 1 message(s) need translation" in done.stdout
    assert reported in done.stdout


def _error_classes(cls: type[KokousError]) -> set[str]:
    return {cls.__name__}.union(*(_error_classes(sub) for sub in cls.__subclasses__()))


def test_every_error_class_is_an_extraction_keyword() -> None:
    """A message is extracted as the first argument of an error class; a new class needs its keyword."""
    for package in SETTINGS["input_paths"]:
        path = [str(ROOT / package)]
        for module in pkgutil.walk_packages(path, prefix=f"{package}."):
            importlib.import_module(module.name)
    keywords = {keyword.split(":")[0] for keyword in SETTINGS["keywords"]}
    assert _error_classes(KokousError) - keywords == set()
