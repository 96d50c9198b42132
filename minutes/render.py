"""The minutes as an HTML page and as a PDF/A-3 document, both from the one template in minutes/templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from core.clock import LOCAL
from meetings.rules.voting import Choice
from minutes.document import Instruction, MinutesDocument
from minutes.labels import labels
from minutes.serialise import canonical, document_json

# PDF/A-3 (ISO 19005-3), level B: the visual appearance is preserved; files may be attached (DESIGN.md §8).
PDF_VARIANT = "pdf/a-3b"
SOURCE_FILE = "minutes.json"
NAMES_IN_VOTES_MAX = 15  # votes of more voters list them by their number on the roll


def local_moment(moment: datetime) -> str:
    local = moment.astimezone(LOCAL)
    return f"{local.day}.{local.month}.{local.year} klo {local:%H.%M}"


def local_clock(moment: datetime) -> str:
    return f"{moment.astimezone(LOCAL):%H.%M}"


def local_day(day: date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("minutes", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=False,
    )
    env.filters.update(moment=local_moment, clock=local_clock, day=local_day)
    return env


@cache
def stylesheet() -> str:
    return files("minutes").joinpath("templates/minutes.css").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class InstructionGroup:
    """Items that share the same instructions are listed once, as municipalities' minutes do."""

    instruction: Instruction
    sections: tuple[int, ...]


def instruction_groups(document: MinutesDocument) -> list[InstructionGroup]:
    groups: dict[Instruction, list[int]] = {}
    for item in document.items:
        groups.setdefault(item.instruction, []).append(item.section)
    return [InstructionGroup(instruction, tuple(sections)) for instruction, sections in groups.items()]


def roll(document: MinutesDocument) -> dict[str, int]:
    """Numbers for those present, in the order listed, when a vote names them by number (`by_number`)."""
    if not by_number(document):
        return {}
    present = [p.person for p in document.meeting.participants if p.present]
    return {person: n for n, person in enumerate(present, start=1)}


def by_number(document: MinutesDocument) -> bool:
    """A large body's votes list each member's stance by their number on the roll of those present, as a
    council's voting list does: names would make every vote a paragraph (bench/minutes.py)."""
    return any(len(v.stances) > NAMES_IN_VOTES_MAX for i in document.items for v in i.votes)


def render_html(document: MinutesDocument) -> str:
    """The minutes as one self-contained HTML page (styles inline, no scripts, no external resources)."""
    template = environment().get_template("minutes.html")
    numbers = roll(document)

    def name(person_id: str) -> str:
        return document.person(person_id).name

    return template.render(
        doc=document,
        t=labels(document.language),
        name=name,
        roll=numbers,
        by_number=bool(numbers),
        voter=lambda person_id: str(numbers[person_id]) if person_id in numbers else name(person_id),
        choices=list(Choice),
        instruction_groups=instruction_groups(document),
        css=stylesheet(),
    )


def _without_object_streams(_document: Any, pdf: Any) -> None:
    """Write a classic cross-reference table instead of object streams; the streams stay compressed.

    Whoever checks a signature reads every object of the file (pyHanko's difference analysis of the chair's
    certified revision), and pyHanko reads objects packed in object streams about four times slower than
    plain ones: 4 s instead of 1 s for a 160-page council meeting. The file grows by about half.
    """
    write = pdf.write
    pdf.write = lambda output, version, identifier, _compress: write(output, version, identifier, False)


@cache
def _print_defaults() -> Any:
    from weasyprint import CSS

    return CSS(string=files("minutes").joinpath("templates/print-ua.css").read_text(encoding="utf-8"))


@cache
def _printed_minutes() -> type[Any]:
    """WeasyPrint's HTML with the defaults the minutes use (templates/print-ua.css) as its user-agent sheet.

    WeasyPrint matches its whole HTML5 user-agent stylesheet (forms, frames, notes, bidirectional text)
    against every element; for a long meeting's minutes that cascade was a tenth of the render. The override
    is of `HTML._ua_stylesheets`, which WeasyPrint's API does not name: the pinned range (pyproject.toml)
    keeps it, and tests/minutes/test_render.py fails if WeasyPrint stops calling it.
    """
    from weasyprint import HTML

    class PrintedMinutes(HTML):  # type: ignore[misc]
        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [_print_defaults()]

    return PrintedMinutes


def render_pdf(document: MinutesDocument) -> bytes:
    """The same page as a PDF/A-3b document, fonts embedded, ready to be signed (minutes.pades).

    The document's canonical JSON travels inside as the PDF/A-3 associated file `minutes.json` (relationship
    Source): machines read the content from it, and a verifier learns whom the minutes name as signers.
    """
    from weasyprint import Attachment  # imported here: WeasyPrint loads pango at import time

    moment = document.meeting.ended_at.astimezone(
        UTC
    )  # not the machine's clock (decision 0008); WeasyPrint writes Z
    source = Attachment(
        string=canonical(document_json(document)),
        name=SOURCE_FILE,
        description="Pöytäkirjan sisältö koneluettavana (RFC 8785 JSON)",
        created=moment,
        modified=moment,
        relationship="Source",
    )
    html = _printed_minutes()(string=render_html(document))
    pdf: bytes = html.write_pdf(
        pdf_variant=PDF_VARIANT, attachments=[source], finisher=_without_object_streams
    )
    return pdf
