"""Fail when a user interface text lacks a finished Finnish or Swedish translation. `make lint` runs it.

It extracts the texts afresh with `pybabel extract` and pyproject.toml's [tool.babel] settings (as
`make messages` does), writes nothing, and lists every msgid whose translation in web/locale/{fi,sv} is
missing, empty or fuzzy, and every translation whose {placeholders} differ from its msgid's.

Usage: .venv/bin/python scripts/check_translations.py [--locale-dir DIR] [SOURCE_DIR ...]
SOURCE_DIRs replace pyproject.toml's input paths (the tests extract from a temporary directory).
"""

from __future__ import annotations

import argparse
import string
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ("fi", "sv")  # English falls back to the msgid


def extract(sources: list[str]) -> Catalog:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        command = [sys.executable, "-m", "babel.messages.frontend", "--quiet", "extract", "-o", str(pot)]
        subprocess.run([*command, *sources], cwd=ROOT, check=True)  # noqa: S603 - our own fixed command
        with pot.open("rb") as handle:
            return read_po(handle)


def fields(text: str) -> set[str] | None:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return None


def problems(template: Catalog, catalog: Catalog) -> list[str]:
    found = []
    for message in template:
        msgid = str(message.id)
        if not message.id:
            continue
        translated = catalog.get(msgid)
        if translated is None or not translated.string:
            found.append(f"untranslated: {msgid!r}")
        elif translated.fuzzy:
            found.append(f"fuzzy (needs review): {msgid!r}")
        elif fields(msgid) != fields(str(translated.string)):
            found.append(f"placeholders differ: {msgid!r} -> {translated.string!r}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--locale-dir", type=Path, default=ROOT / "web" / "locale")
    parser.add_argument("sources", nargs="*", help="directories to extract from instead of pyproject.toml's")
    args = parser.parse_args(argv)
    template = extract(args.sources)
    failed = False
    for language in REQUIRED:
        path = args.locale_dir / language / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            listed = problems(template, read_po(handle, locale=language))
        if listed:
            failed = True
            sys.stdout.write(f"{language}: {len(listed)} message(s) need translation ({path})\n")
            sys.stdout.writelines(f"  {line}\n" for line in listed)
    if failed:
        sys.stdout.write("Run `make messages` and translate them in the catalogues (docs/translations.md).\n")
    else:
        sys.stdout.write(f"All {len(template)} msgids are translated in {', '.join(REQUIRED)}.\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
