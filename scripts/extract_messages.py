"""Collect the user interface's gettext msgids and merge them into web/locale.

Sources:

* every ``_("...")`` call in web/templates/**/*.html (read with Jinja's own parser);
* the message of every KokousError subclass constructed in the Python packages (core, audit, auth,
  web and any of meetings, minutes, media that exist), read with the ``ast`` module. The message is
  the first positional argument (or ``template=``). A string literal, a module-level constant (also
  one imported from another scanned module), either branch of ``a if c else b`` and the literal
  parts of ``x or "..."`` are followed. A parameter that a function passes on as an error message
  makes that function a message sink too (``self._fail(..., WRONG_CODE)``), as does a local
  variable assigned in the same function; web.errors.respond's ``message`` is a sink as well.
  A string assignment whose line carries a ``# i18n`` comment is always included.

The script writes web/locale/messages.pot and merges it into web/locale/{fi,sv,en}/LC_MESSAGES/
messages.po, keeping existing translations (changed msgids come back as fuzzy suggestions, and
msgids that come back after being removed get their old translation back). Files are only
rewritten when something other than their timestamps changes.

``--check`` writes nothing. It exits 1 and lists every msgid that has no finished (non-fuzzy)
Finnish or Swedish translation, and every translation whose {placeholders} differ from its
msgid's. Messages built with f-strings, ``+`` or ``.format()`` before being raised cannot be
translated; they are reported as warnings (and fail the run with ``--strict``).

Usage: .venv/bin/python scripts/extract_messages.py [--check] [--strict]
"""

from __future__ import annotations

import argparse
import ast
import io
import string
import sys
import tokenize
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po
from jinja2 import Environment
from jinja2.ext import extract_from_ast

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "web" / "templates"
LOCALE_DIR = ROOT / "web" / "locale"
POT = LOCALE_DIR / "messages.pot"
PACKAGES = ("core", "audit", "auth", "web", "meetings", "minutes", "media")
LANGUAGES = ("fi", "sv", "en")
REQUIRED = ("fi", "sv")  # --check insists on these; English falls back to the msgid
PROJECT = "Kokous"
BASE_ERROR = "KokousError"
# Functions that are not error constructors but take a person-readable message:
# (module, function) -> (positional index, keyword name).
EXTRA_SINKS: dict[tuple[str, str], tuple[int | None, str]] = {
    ("web.errors", "respond"): (2, "message"),
    ("meetings.rules.call", "Problem"): (2, "template"),  # why a meeting call cannot be sent
}
LANGUAGE_NAMES = {"fi": "Finnish", "sv": "Swedish", "en": "English"}
DATE_HEADERS = (b'"POT-Creation-Date:', b'"PO-Revision-Date:')

Location = tuple[str, int]
Sink = tuple[int | None, str]


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


@dataclass
class Found:
    messages: dict[str, list[Location]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, msgid: str, location: Location) -> None:
        if msgid.strip():
            places = self.messages.setdefault(msgid, [])
            if location not in places:
                places.append(location)

    def warn(self, location: Location, text: str) -> None:
        self.warnings.append(f"{location[0]}:{location[1]}: {text}")


# --- templates ---------------------------------------------------------------------------------


def extract_templates(found: Found) -> None:
    env = Environment(autoescape=True)
    for path in sorted(TEMPLATES.rglob("*.html")):
        rel = path.relative_to(ROOT).as_posix()
        tree = env.parse(path.read_text(encoding="utf-8"), name=rel, filename=rel)
        for lineno, _func, strings in extract_from_ast(tree, gettext_functions=("_",)):
            first = strings[0] if isinstance(strings, tuple) else strings
            if isinstance(first, str):
                found.add(first, (rel, lineno))
            else:
                found.warn((rel, lineno), "_() needs a string literal; this text cannot be extracted")


# --- Python ------------------------------------------------------------------------------------


@dataclass
class Module:
    name: str
    rel: str
    tree: ast.Module
    comments: dict[int, str]  # line number -> the comment on that line
    constants: dict[str, str] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # alias -> (module, name)
    sinks: dict[str, Sink] = field(default_factory=dict)  # functions defined here that take a message


Function = ast.FunctionDef | ast.AsyncFunctionDef
Scope = Function | None


def load_modules() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for package in PACKAGES:
        base = ROOT / package
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            source = path.read_text(encoding="utf-8")
            comments = {
                token.start[0]: token.string
                for token in tokenize.generate_tokens(io.StringIO(source).readline)
                if token.type == tokenize.COMMENT
            }
            module = Module(".".join(parts), rel, ast.parse(source, filename=rel), comments)
            index_module(module, is_package=path.name == "__init__.py")
            modules[module.name] = module
    return modules


def index_module(module: Module, *, is_package: bool) -> None:
    package = module.name if is_package else module.name.rpartition(".")[0]
    for statement in module.tree.body:
        if not isinstance(statement, ast.Assign | ast.AnnAssign):
            continue
        text = _string(statement.value)
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        for target in targets:
            if text is not None and isinstance(target, ast.Name):
                module.constants[target.id] = text
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*anchor, *([source] if source else [])])
            for alias in node.names:
                module.imports[alias.asname or alias.name] = (source, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    module.imports[alias.asname] = (alias.name, None)
                else:
                    top = alias.name.split(".")[0]
                    module.imports[top] = (top, None)


def _string(node: ast.AST | None) -> str | None:
    """The text of a string literal, or None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def error_classes(modules: dict[str, Module]) -> set[str]:
    """KokousError and every class in the scanned packages that derives from it, at any depth."""
    classes = {BASE_ERROR}
    changed = True
    while changed:
        changed = False
        for module in modules.values():
            for node in ast.walk(module.tree):
                if (
                    isinstance(node, ast.ClassDef)
                    and node.name not in classes
                    and any(_base_name(b) in classes for b in node.bases)
                ):
                    classes.add(node.name)
                    changed = True
    return classes


def _parameters(func: Function, *, method: bool) -> list[tuple[int | None, str]]:
    positional = [*func.args.posonlyargs, *func.args.args]
    if method and positional and not any(_base_name(d) == "staticmethod" for d in func.decorator_list):
        positional = positional[1:]
    return [(i, a.arg) for i, a in enumerate(positional)] + [(None, a.arg) for a in func.args.kwonlyargs]


def _defaults(func: Function) -> dict[str, ast.expr]:
    positional = [*func.args.posonlyargs, *func.args.args]
    with_default = positional[len(positional) - len(func.args.defaults) :]
    found = {a.arg: d for a, d in zip(with_default, func.args.defaults, strict=True)}
    kwonly = zip(func.args.kwonlyargs, func.args.kw_defaults, strict=True)
    found.update({a.arg: d for a, d in kwonly if d is not None})
    return found


def _functions_with_scope(module: Module) -> Iterator[tuple[Function, bool]]:
    def visit(node: ast.AST, in_class: bool) -> Iterator[tuple[Function, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield child, in_class
                yield from visit(child, False)
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, True)
            else:
                yield from visit(child, in_class)

    yield from visit(module.tree, False)


def _calls_in(func: ast.AST) -> Iterator[tuple[ast.Call, Scope, str | None]]:
    """Every call with the innermost function and class around it (None outside any)."""

    def visit(node: ast.AST, scope: Scope, cls: str | None) -> Iterator[tuple[ast.Call, Scope, str | None]]:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else scope
            if isinstance(child, ast.Call):
                yield child, scope, cls
            yield from visit(child, inner, child.name if isinstance(child, ast.ClassDef) else cls)

    yield from visit(func, None, None)


class Extractor:
    def __init__(self, modules: dict[str, Module], found: Found) -> None:
        self.modules = modules
        self.found = found
        self.classes = error_classes(modules)
        self.global_sinks: dict[str, Sink] = dict.fromkeys(self.classes, (0, "template"))
        for (module_name, func), sink in EXTRA_SINKS.items():
            if module_name in modules:
                modules[module_name].sinks[func] = sink

    def sink_for(self, module: Module, call: ast.Call, cls: str | None = None) -> Sink | None:
        name = _callee(call)
        if name is None:
            return None
        if (
            name == "__init__"
            and cls in self.classes
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Call)
            and _callee(call.func.value) == "super"
        ):
            return (0, "template")  # super().__init__(message) in an error class
        if name in self.global_sinks:
            return self.global_sinks[name]
        if isinstance(call.func, ast.Name) and name in module.imports:
            source, original = module.imports[name]
            target = self.modules.get(source)
            if target is not None and original in target.sinks:
                return target.sinks[original]
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        local = receiver is None or (isinstance(receiver, ast.Name) and receiver.id in {"self", "cls"})
        if name in module.sinks and local:
            return module.sinks[name]
        return None

    @staticmethod
    def argument(call: ast.Call, sink: Sink) -> ast.expr | None:
        position, keyword = sink
        if position is not None:
            before = call.args[: position + 1]
            if len(call.args) > position and not any(isinstance(a, ast.Starred) for a in before):
                return call.args[position]
        return next((k.value for k in call.keywords if k.arg == keyword), None)

    def find_sinks(self) -> None:
        """Functions whose parameter ends up as a message are sinks too, until nothing changes."""
        changed = True
        while changed:
            changed = False
            for module in self.modules.values():
                for func, method in _functions_with_scope(module):
                    if func.name in module.sinks:
                        continue
                    params = _parameters(func, method=method)
                    names = {name for _, name in params}
                    for call, scope, _cls in _calls_in(func):
                        if scope is not None:  # inside a nested function: not this one's parameters
                            continue
                        sink = self.sink_for(module, call)
                        arg = self.argument(call, sink) if sink else None
                        hit = next((n for n in self._names(arg, func) if n in names), None) if arg else None
                        if hit:
                            module.sinks[func.name] = next((p, n) for p, n in params if n == hit)
                            changed = True
                            break

    def _names(
        self, node: ast.expr, func: ast.AST | None, seen: frozenset[str] = frozenset()
    ) -> Iterator[str]:
        """Names a message expression may come from, through conditionals and local assignments."""
        if isinstance(node, ast.Name):
            yield node.id
            if func is not None and node.id not in seen:
                for value in self._local_values(func, node.id):
                    yield from self._names(value, func, seen | {node.id})
        elif isinstance(node, ast.IfExp):
            yield from self._names(node.body, func, seen)
            yield from self._names(node.orelse, func, seen)
        elif isinstance(node, ast.BoolOp):
            for value in node.values:
                yield from self._names(value, func, seen)

    @staticmethod
    def _local_values(func: ast.AST, name: str) -> list[ast.expr]:
        values = []
        for node in ast.walk(func):
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            else:
                continue
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                values.append(value)
        return values

    def constant(self, module: Module, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            if node.id in module.constants:
                return module.constants[node.id]
            if node.id in module.imports:
                source, original = module.imports[node.id]
                target = self.modules.get(source)
                if target is not None and original is not None:
                    return target.constants.get(original)
        elif isinstance(node, ast.Attribute):
            dotted = []
            current: ast.expr = node.value
            while isinstance(current, ast.Attribute):
                dotted.append(current.attr)
                current = current.value
            if isinstance(current, ast.Name) and current.id in module.imports:
                source, original = module.imports[current.id]
                path = ".".join([source, *([original] if original else []), *reversed(dotted)])
                target = self.modules.get(path)
                if target is not None:
                    return target.constants.get(node.attr)
        return None

    def messages(
        self, module: Module, node: ast.expr, func: ast.AST | None, seen: frozenset[str] = frozenset()
    ) -> None:
        location = (module.rel, node.lineno)
        text = _string(node)
        if text is None:
            text = self.constant(module, node)
        if text is not None:
            self.found.add(text, location)
        elif isinstance(node, ast.IfExp):
            self.messages(module, node.body, func, seen)
            self.messages(module, node.orelse, func, seen)
        elif isinstance(node, ast.BoolOp):
            for part in node.values:
                self.messages(module, part, func, seen)
        elif isinstance(node, ast.Name) and func is not None and node.id not in seen:
            for assigned in self._local_values(func, node.id):
                self.messages(module, assigned, func, seen | {node.id})
        elif isinstance(node, ast.JoinedStr):
            self.found.warn(
                location,
                "an f-string message cannot be translated; pass a template with "
                "{placeholders} and the values as keyword arguments",
            )
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            self.found.warn(location, "a message built with + or % cannot be translated as a whole")
        elif isinstance(node, ast.Call) and _callee(node) == "format":
            self.found.warn(location, "a message formatted before it is raised cannot be translated")

    def run(self) -> None:
        self.find_sinks()
        for module in self.modules.values():
            for call, scope, cls in _calls_in(module.tree):
                sink = self.sink_for(module, call, cls)
                arg = self.argument(call, sink) if sink else None
                if arg is not None:
                    self.messages(module, arg, scope)
            # Defaults of message parameters, e.g. `message: str = WRONG_PASSWORD`.
            for func, _method in _functions_with_scope(module):
                sink = module.sinks.get(func.name)
                if sink:
                    default = _defaults(func).get(sink[1])
                    if default is not None:
                        self.messages(module, default, None)
            # Explicit opt-in: NAME = "text"  # i18n
            for node in ast.walk(module.tree):
                if isinstance(node, ast.Assign | ast.AnnAssign):
                    text = _string(node.value)
                    end = node.end_lineno or node.lineno
                    if text is not None and "i18n" in module.comments.get(end, ""):
                        self.found.add(text, (module.rel, node.lineno))


def extract() -> Found:
    found = Found()
    extract_templates(found)
    Extractor(load_modules(), found).run()
    return found


# --- catalogues --------------------------------------------------------------------------------


def _version() -> str | None:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        version = tomllib.load(handle).get("project", {}).get("version")
    return str(version) if version else None


def template_catalog(found: Found) -> Catalog:
    catalog = Catalog(
        project=PROJECT,
        version=_version(),
        header_comment=(
            f"# Translations template for {PROJECT}.\n"
            f"# This file is distributed under the same license as the {PROJECT} project (EUPL-1.2).\n"
            "# Generated by scripts/extract_messages.py; do not edit by hand.\n#"
        ),
        charset="utf-8",
        fuzzy=False,
    )
    for msgid, locations in found.messages.items():
        catalog.add(msgid, locations=locations)
    return catalog


def _po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


def merged_catalog(template: Catalog, language: str) -> Catalog:
    path = _po_path(language)
    if path.exists():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
    else:
        catalog = Catalog(
            locale=language,
            project=PROJECT,
            version=_version(),
            revision_date=datetime.now(UTC),
            last_translator=f"{PROJECT} contributors",
            language_team=LANGUAGE_NAMES[language],
            header_comment=(
                f"# {LANGUAGE_NAMES[language]} translations for {PROJECT}.\n"
                f"# This file is distributed under the same license as the {PROJECT} project (EUPL-1.2).\n#"
            ),
            charset="utf-8",
            fuzzy=False,
        )
    # A msgid that comes back after being removed gets its old translation back.
    for message in template:
        msgid = message.id
        if not isinstance(msgid, str) or not msgid or msgid in catalog:
            continue
        old = catalog.obsolete.get(msgid)
        if old is not None and old.string and not old.fuzzy:
            del catalog.obsolete[msgid]
            catalog[msgid] = Message(old.id, old.string, flags=old.flags, user_comments=old.user_comments)
    catalog.update(template, update_creation_date=True)
    # Keep only finished translations of removed msgids: obsolete entries are written without their
    # fuzzy flag, so a guessed translation would come back as a real one.
    for key in [key for key, old in catalog.obsolete.items() if old.fuzzy or not old.string]:
        del catalog.obsolete[key]
    for message in catalog:
        # Babel reads a "#| msgid" line back as a translator comment: drop those, and keep the previous msgid
        # only where it helps, beside a guess (fuzzy) that needs review.
        message.user_comments = [
            c for c in message.user_comments if not c.startswith(("| msgid", "| msgctxt"))
        ]
        if not message.fuzzy:
            message.previous_id = []
    catalog.version = template.version
    catalog.fuzzy = False
    return catalog


def _serialise(catalog: Catalog, **options: bool) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0, include_previous=True, **options)
    return buffer.getvalue()


def _without_dates(content: bytes) -> bytes:
    return b"\n".join(line for line in content.splitlines() if not line.startswith(DATE_HEADERS))


def save(path: Path, content: bytes) -> bool:
    """Write unless only the timestamps would change; True when the file changed."""
    if path.exists() and _without_dates(path.read_bytes()) == _without_dates(content):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return True


def _fields(text: str) -> set[str] | None:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return None


def problems(catalog: Catalog) -> list[str]:
    found = []
    for message in catalog:
        if not message.id:
            continue
        msgid = str(message.id)
        if not message.string:
            found.append(f"untranslated: {msgid!r}")
        elif message.fuzzy:
            found.append(f"fuzzy (needs review): {msgid!r}")
        elif _fields(msgid) != _fields(str(message.string)):
            found.append(f"placeholders differ: {msgid!r} -> {message.string!r}")
    return found


# --- command line ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="write nothing; fail on missing fi/sv translations"
    )
    parser.add_argument(
        "--strict", action="store_true", help="also fail on messages that cannot be extracted"
    )
    args = parser.parse_args(argv)

    found = extract()
    for warning in found.warnings:
        err(f"warning: {warning}")
    template = template_catalog(found)
    catalogs = {language: merged_catalog(template, language) for language in LANGUAGES}
    failed = bool(args.strict and found.warnings)
    if failed:
        out(f"{len(found.warnings)} message(s) cannot be extracted (see the warnings above).")

    if args.check:
        for language in REQUIRED:
            listed = problems(catalogs[language])
            if listed:
                failed = True
                where = _po_path(language).relative_to(ROOT)
                out(f"{language}: {len(listed)} message(s) need translation ({where})")
                for line in listed:
                    out(f"  {line}")
        if not failed:
            out(f"All {len(template)} msgids are translated in {', '.join(REQUIRED)}.")
        return 1 if failed else 0

    changed = [POT] if save(POT, _serialise(template)) else []
    for language, catalog in catalogs.items():
        if save(_po_path(language), _serialise(catalog)):
            changed.append(_po_path(language))
    written = ", ".join(str(p.relative_to(ROOT)) for p in changed)
    out(f"{len(template)} msgids; {'updated ' + written if changed else 'no changes'}.")
    for language in REQUIRED:
        missing = len(problems(catalogs[language]))
        if missing:
            out(f"  {language}: {missing} message(s) need translation")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
