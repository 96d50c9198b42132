"""One template, two formats: the HTML page and the PDF say the same things, in Finnish (or Swedish)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from minutes.render import render_html
from tests.minutes.conftest import Signed, require_tool, run
from tests.minutes.sample import CONFIDENTIAL_BASIS, sample_minutes

# What a reader of the authoritative minutes must find (R-MIN-2, R-MIN-3, R-VOTE-3, R-DISSENT-1, R-RECT-5).
EXPECTED = (
    "Kunnanhallitus – Kommunstyrelsen",
    "Pöytäkirja 14/2026",
    "24.11.2026 klo 17.00 – 24.11.2026 klo 18.30",  # start and end, local time
    "24.11.2026 klo 17.50 – 18.00 (tauko)",  # the interruption
    "Kunnantalo, valtuustosali",
    "sähköinen kokous; sähköinen päätöksentekomenettely (KL 100 §)",  # decision modes
    "varajäsen (varalla: Matti Mäkinen)",
    "Matti Mäkinen – jäsen estynyt",  # absent
    "17.40 Veikko Varapuheenjohtaja yhteys katkesi § 10",
    "18.05 Tarja Tarkastaja poistui § 11",
    "Puheenjohtaja totesi kokouksen laillisesti koolle kutsutuksi ja päätösvaltaiseksi.",
    "Pöytäkirjantarkastajat: Jaana Jäsen, Tarja Tarkastaja",
    "Tarkastettu 27.11.2026.",
    "Esittelijä: Kaisa Kunnanjohtaja",
    "B (vastaehdotus), ehdotti Jaana Jäsen: Reitti 4 jaetaan kahteen osaan."
    " – kannatti Veikko Varapuheenjohtaja",
    "ei kannatettu, raukesi",
    "Äänestys 1 (sähköinen äänestys)",
    "Tulos: JAA 2: Paula Puheenjohtaja, Tarja Tarkastaja.",  # every member's stance (R-VOTE-3)
    "EI 2: Veikko Varapuheenjohtaja, Jaana Jäsen.",
    "TYHJÄ 1: Ville Varajäsen. POISSA 0.",
    "Äänet menivät tasan; puheenjohtajan kannattama ehdotus voitti",
    "Hankinnan valvojan valinta (enemmistövaali, suljetuin lipuin)",
    "Annettuja ääniä: 5.",
    "Tarja Tarkastaja: Hakija on hänen sisarensa. (HL 28 § 1 mom. 2 k.)",  # disqualification and grounds
    f"Salassapitoperuste: {CONFIDENTIAL_BASIS}",
    "Päätös tehtiin sähköisessä päätöksentekomenettelyssä (KL 100 §).",
    "Jaana Jäsen (äänesti päätöstä vastaan): Pitkä reitti vaarantaa",
    "Oikaisuvaatimusohje (Koskee pykäliä 10, 11)",
    "Määräajan viimeinen päivä 21.12.2026",
    "Muutoksenhakukielto (Koskee pykäliä 12)",
    "Paula Puheenjohtaja puheenjohtaja Sanna Sihteeri pöytäkirjanpitäjä",
    "Pöytäkirja on pantu yleisesti nähtäväksi tietoverkkoon 30.11.2026",
)


def words(text: str) -> str:
    return " ".join(text.split())


def html_text(html: str) -> str:
    import re

    return words(re.sub(r"<[^>]+>", " ", html).replace("&amp;", "&"))


def pdf_text(pdf: bytes, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("pdf") / "minutes.pdf"
    path.write_bytes(pdf)
    result = run(require_tool("pdftotext"), "-enc", "UTF-8", str(path), "-")
    assert result.returncode == 0, result.stderr
    return words(result.stdout)


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(sample_minutes())


def test_the_page_carries_every_element(page: str) -> None:
    text = html_text(page)
    missing = [e for e in EXPECTED if words(e) not in text]
    assert not missing
    assert "Jaana Jäsen 3 valittu Veikko Varapuheenjohtaja 2" in text  # the election's table, row by row


def test_the_signed_pdf_carries_every_element(
    signed: Signed, tmp_path_factory: pytest.TempPathFactory
) -> None:
    text = pdf_text(signed.pdf, tmp_path_factory)
    missing = [e for e in EXPECTED if words(e) not in text]
    assert not missing


def test_the_page_is_self_contained(page: str) -> None:
    assert "<script" not in page
    assert "<link" not in page
    assert '<html lang="fi">' in page


def test_swedish_minutes_use_swedish_headings() -> None:
    text = html_text(render_html(replace(sample_minutes(), language="sv")))
    assert "Protokoll 14/2026" in text
    assert "Närvarande" in text
    assert "JA 2: Paula Puheenjohtaja, Tarja Tarkastaja. NEJ 2:" in text


def test_a_language_without_wording_is_refused() -> None:
    with pytest.raises(ValueError, match="no wording"):
        render_html(replace(sample_minutes(), language="de"))


def test_the_pdf_has_a_plain_cross_reference_table(signed: Signed) -> None:
    """Objects outside object streams keep verification fast (minutes.render); streams stay compressed."""
    assert b"/ObjStm" not in signed.unsigned_pdf
    assert b"\nxref\n" in signed.unsigned_pdf
    assert b"/FlateDecode" in signed.unsigned_pdf


@pytest.mark.parametrize("language", ["sv", "en"])
def test_every_wording_is_translated(language: str) -> None:
    """A Finnish phrase left in a Swedish or English copy would be a defect in a legal record."""
    from minutes.labels import FI, labels

    same = [key for key, text in labels(language).items() if text == FI[key]]
    assert same == ["section"]  # "§" is the same in every language


def _displayed_elements() -> set[str]:
    """The elements templates/print-ua.css gives a display (or hides)."""
    import re
    from importlib.resources import files

    sheet = files("minutes").joinpath("templates/print-ua.css").read_text()
    css = re.sub(r"/\*.*?\*/", "", sheet, flags=re.S)
    named: set[str] = set()
    for selectors, body in re.findall(r"([^{}@]+)\{([^{}]*)\}", css):
        if "display:" in body.replace(" ", ""):
            named.update(s.strip() for s in selectors.split(","))
    return named


def test_every_element_of_the_template_has_its_print_default() -> None:
    """The PDF's user-agent sheet is the project's own (minutes.render): an element it does not know would
    be laid out inline, so a new element in the template needs its line in templates/print-ua.css."""
    import re
    from importlib.resources import files

    template = files("minutes").joinpath("templates/minutes.html").read_text()
    inline = {"strong", "em", "span", "br", "a", "abbr", "small"}
    used = set(re.findall(r"<([a-z][a-z0-9]*)\b", template)) - inline
    assert used, "no elements found in the template"
    assert used <= _displayed_elements(), sorted(used - _displayed_elements())


def test_the_pdf_looks_as_with_weasyprints_own_defaults(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The lean defaults change the render's cost, not its look: the same pages, the same text in the same
    places, and the same outline as WeasyPrint's whole HTML5 sheet gives."""
    from weasyprint import HTML

    from minutes.render import _printed_minutes

    calls: list[bool] = []

    class Watched(_printed_minutes()):  # type: ignore[misc]
        def _ua_stylesheets(self, forms: bool = False) -> list[object]:
            calls.append(forms)
            return list(super()._ua_stylesheets(forms))

    html = render_html(sample_minutes())
    ours = Watched(string=html).render()
    theirs = HTML(string=html).render()
    assert calls, "WeasyPrint no longer asks for its user-agent sheet: minutes.render's override is dead"
    assert len(ours.pages) == len(theirs.pages)
    assert ours.make_bookmark_tree() == theirs.make_bookmark_tree()
    texts = []
    for document in (ours, theirs):
        path = tmp_path_factory.mktemp("ua") / "minutes.pdf"
        path.write_bytes(document.write_pdf())
        result = run(require_tool("pdftotext"), "-layout", "-enc", "UTF-8", str(path), "-")
        assert result.returncode == 0, result.stderr
        texts.append(result.stdout)
    assert texts[0] == texts[1]
