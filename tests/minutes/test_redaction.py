"""The public copy: a confidential item is only a mention with its legal basis (R-PUB-2), and personal data
is gone once the last rectification or appeal period has ended (R-PUB-4): in the HTML, the PDF, the JSON."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import datetime, timedelta

import pikepdf
import pytest

from core.clock import LOCAL
from minutes.document import Confidentiality, CopyKind, MinutesDocument, Publicity
from minutes.instructions import personal_data_removal_at
from minutes.redaction import public_copy
from minutes.render import render_html, render_pdf
from minutes.serialise import document_json
from tests.minutes.sample import (
    CONFIDENTIAL_BASIS,
    CONFIDENTIAL_TITLE,
    PRIVATE_NAME,
    PUBLISHED_AT,
    sample_minutes,
)
from tests.minutes.test_render import html_text, pdf_text

KINDS = ["html", "pdf", "pdf's minutes.json", "json"]
CONFIDENTIAL_FACTS = (
    CONFIDENTIAL_TITLE,
    "Asiakas 123",
    "Hakija on hänen sisarensa",
    "Takaisinperinnästä luovu",
)


@pytest.fixture(scope="module")
def removal_at() -> datetime:
    moment = personal_data_removal_at(sample_minutes())
    assert moment is not None
    return moment


def formats(document: MinutesDocument, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    pdf = render_pdf(document)
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        source = opened.attachments["minutes.json"].get_file().read_bytes().decode()
    return {
        "html": html_text(render_html(document)),
        "pdf": pdf_text(pdf, tmp_path_factory),
        "pdf's minutes.json": source,
        "json": json.dumps(document_json(document), ensure_ascii=False),
    }


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return formats(public_copy(sample_minutes(), now=PUBLISHED_AT), tmp_path_factory)


@pytest.fixture(scope="module")
def depersonalised(removal_at: datetime, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return formats(public_copy(sample_minutes(), now=removal_at), tmp_path_factory)


def test_personal_data_comes_off_when_the_last_period_ends(removal_at: datetime) -> None:
    """R-PUB-4: published Monday 30.11.2026, notified 7.12., rectification ends Monday 21.12.2026."""
    assert removal_at == (PUBLISHED_AT + timedelta(days=22)).replace(hour=0).astimezone(LOCAL)
    assert str(removal_at) == "2026-12-22 00:00:00+02:00"


@pytest.mark.parametrize("kind", KINDS)
def test_a_confidential_item_is_only_a_mention(published: dict[str, str], kind: str) -> None:
    text = published[kind]
    assert CONFIDENTIAL_BASIS in text
    assert not [fact for fact in CONFIDENTIAL_FACTS if fact in text]
    if "json" not in kind:
        assert "§ 11 Salassa pidettävä asia Kokouksessa käsiteltiin salassa pidettävä asia." in text


def test_the_public_json_item_holds_nothing_but_the_mention() -> None:
    item = document_json(public_copy(sample_minutes(), now=PUBLISHED_AT))["items"][1]
    assert item["section"] == 11
    assert item["confidentiality"] == {
        "publicity": "confidential",
        "legal_basis": CONFIDENTIAL_BASIS,
        "public_description": "",
    }
    assert (item["title"], item["description"], item["decision"]) == ("", "", "")
    assert (item["disqualifications"], item["proposals"], item["votes"], item["statements"]) == (
        [],
        [],
        [],
        [],
    )


@pytest.mark.parametrize("kind", KINDS)
def test_personal_data_stays_until_the_period_ends(published: dict[str, str], kind: str) -> None:
    assert PRIVATE_NAME in published[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_no_personal_data_after_the_removal_date(depersonalised: dict[str, str], kind: str) -> None:
    text = depersonalised[kind]
    assert PRIVATE_NAME not in text
    assert "Koulukuljetusten hankinnan ehdot hyväksyttiin" in text  # the depersonalised text stands instead
    assert "Paula Puheenjohtaja" in text  # members acting in office keep their names
    assert not [fact for fact in CONFIDENTIAL_FACTS if fact in text]
    if "json" not in kind:
        assert "Henkilötiedot on poistettu verkosta muutoksenhakuajan päätyttyä (KL 140 §)." in text


def test_a_moment_before_the_removal_keeps_the_data(removal_at: datetime) -> None:
    before = public_copy(sample_minutes(), now=removal_at - timedelta(seconds=1))
    assert PRIVATE_NAME in json.dumps(document_json(before), ensure_ascii=False)
    assert before.redaction is not None
    assert before.redaction.personal_data_removed is False


def test_the_authoritative_copy_is_untouched() -> None:
    original = sample_minutes()
    copy = public_copy(original, now=PUBLISHED_AT)
    assert copy.copy == CopyKind.PUBLIC
    assert original.copy == CopyKind.AUTHORITATIVE
    assert original == sample_minutes()


def test_a_partly_confidential_item_shows_its_public_description() -> None:
    """R-PUB-2, JulkL 10 §: the public part is published, the confidential part is not."""
    document = sample_minutes()
    secret = replace(
        document.items[0],
        confidentiality=Confidentiality(
            Publicity.PARTLY_CONFIDENTIAL, "JulkL 24 § 1 mom. 20 k.", "Reitin muutos."
        ),
    )
    copy = public_copy(replace(document, items=(secret, *document.items[1:])), now=PUBLISHED_AT)
    assert copy.items[0].description == "Reitin muutos."
    assert copy.items[0].decision == secret.decision
    assert "Osittain salassa pidettävä. Salassapitoperuste: JulkL 24 § 1 mom. 20 k." in html_text(
        render_html(copy)
    )
