"""The JSON minutes carry every element of R-MIN-2 and R-MIN-3 that the content model has, canonically."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785

from minutes.document import Capacity, Publicity, Resolution
from minutes.serialise import canonical, content_hash, document_json, plain
from tests.minutes.sample import CONFIDENTIAL_BASIS, PRIVATE_NAME, PUBLISHED_AT, sample_minutes


@pytest.fixture(scope="module")
def content() -> dict[str, Any]:
    return document_json(sample_minutes())


def item(content: dict[str, Any], section: int) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in content["items"] if i["section"] == section)
    return found


def test_organisation_data(content: dict[str, Any]) -> None:
    """R-MIN-2 organisation data: body, modes (ESPM identified), times, interruptions, venue, convening."""
    meeting = content["meeting"]
    assert meeting["body"] == "Kunnanhallitus"
    assert content["modes"] == ["electronic", "decision_procedure"]
    assert meeting["started_at"] == "2026-11-24T15:00:00Z"
    assert meeting["ended_at"] == "2026-11-24T16:30:00Z"
    assert meeting["interruptions"] == [
        {"started_at": "2026-11-24T15:50:00Z", "ended_at": "2026-11-24T16:00:00Z", "reason": "tauko"}
    ]
    assert meeting["venue"].startswith("Kunnantalo")
    assert meeting["convening"] | {"call_sent_at": None} == {
        "call_sent_at": None,
        "lawful": True,
        "quorate": True,
        "seats": 5,
        "members_present": 5,
        "statement": "",
    }


def test_who_was_there_and_in_what_capacity(content: dict[str, Any]) -> None:
    """R-MIN-2 presence and capacity; R-MIN-3 arrivals, departures and disconnections per item."""
    by_person = {p["person"]: p for p in content["meeting"]["participants"]}
    assert by_person["u1"]["chair"] is True
    assert by_person["u5"]["capacity"] == Capacity.DEPUTY
    assert by_person["u5"]["deputy_for"] == "u4"
    assert by_person["u6"]["capacity"] == "presenter"
    assert by_person["u7"]["capacity"] == "secretary"
    assert by_person["u4"]["present"] is False
    changes = [(a["person"], a["change"], a["section"]) for a in content["meeting"]["attendance"]]
    assert changes == [
        ("u2", "disconnected", 10),
        ("u2", "reconnected", 10),
        ("u9", "left", 11),
        ("u9", "arrived", 12),
    ]
    assert content["meeting"]["checking"]["checkers"] == ["u3", "u9"]


def test_tied_vote_records_every_stance(content: dict[str, Any]) -> None:
    """R-VOTE-3: method, order, proposition, result and each member's stance; R-VOTE-2: the chair's tie."""
    vote = item(content, 10)["votes"][0]
    assert (vote["order"], vote["method"]) == (1, "electronic")
    assert vote["proposition"].startswith("Jaa: esittelijän ehdotus")
    assert vote["counts"] == {"jaa": 2, "ei": 2, "tyhja": 1, "poissa": 0}
    assert {s["person"]: s["choice"] for s in vote["stances"]} == {
        "u1": "jaa",
        "u9": "jaa",
        "u2": "ei",
        "u3": "ei",
        "u5": "tyhja",
    }
    assert vote["tie_decided_by_chair"] is True
    assert vote["winner"] == "A"


def test_elections_record_method_and_result_not_ballots(content: dict[str, Any]) -> None:
    """R-MIN-2 elections (method, result); R-ELECT-8: a secret ballot keeps no voter's choice."""
    election = item(content, 10)["elections"][0]
    assert (election["method"], election["secret_ballot"], election["seats"]) == ("majority", True, 1)
    assert [(c["name"], c["votes"], c["elected"]) for c in election["candidates"]] == [
        ("Jaana Jäsen", 3, True),
        ("Veikko Varapuheenjohtaja", 2, False),
    ]
    assert "stances" not in election


def test_item_data(content: dict[str, Any]) -> None:
    """R-MIN-2 item data: presenter, description, base proposal, proposals with proposer and seconders,
    statements, the decision and how it was reached, dissents with reasons (R-DISSENT-1)."""
    transport = item(content, 10)
    assert transport["presenter"] == "u6"
    assert PRIVATE_NAME in transport["description"]
    assert transport["base_proposal"].startswith("Kunnanhallitus hyväksyy")
    counter = transport["proposals"][1]
    assert (counter["kind"], counter["proposer"], counter["seconders"]) == ("counter", "u3", ["u2"])
    assert transport["proposals"][2]["seconders"] == []  # the tabling proposal lapsed
    assert transport["statements"] == [
        {"person": "u8", "summary": "Kertoi reitin 4 ajoajoista.", "at": "2026-11-24T15:50:00Z"}
    ]
    assert transport["resolution"] == Resolution.AFTER_VOTE
    assert transport["dissents"][0] | {"reasons": ""} == {
        "person": "u3",
        "ground": "voted_against",
        "reasons": "",
    }
    assert "turvallisuuden" in transport["dissents"][0]["reasons"]


def test_disqualification_confidentiality_and_procedure(content: dict[str, Any]) -> None:
    """R-DISQ-5 grounds; R-MIN-3 the legal basis of confidentiality; R-EDP-3 ESPM decisions identified."""
    confidential = item(content, 11)
    assert confidential["disqualifications"] == [
        {"person": "u9", "grounds": "Hakija on hänen sisarensa.", "provision": "HL 28 § 1 mom. 2 k."}
    ]
    assert confidential["confidentiality"]["publicity"] == Publicity.CONFIDENTIAL
    assert confidential["confidentiality"]["legal_basis"] == CONFIDENTIAL_BASIS
    procedure = item(content, 12)
    assert procedure["decided_in_procedure"] is True
    assert content["meeting"]["checking"]["decision_procedure_checked_on"] == "2026-11-20"


def test_legality_data(content: dict[str, Any]) -> None:
    """R-MIN-2 legality: signers, instructions and their dates (R-RECT-3/4, R-PUB-5), checking, display."""
    assert content["legality"]["chair"] == "u1"
    assert content["legality"]["secretary"] == "u7"
    assert content["legality"]["public_display"]["published_at"] == "2026-11-30T08:00:00Z"
    rectification = item(content, 10)["instruction"]
    # Published Monday 30.11.2026: notified 7.12.; 14 days later is Monday 21.12.2026.
    assert rectification["kind"] == "rectification"
    assert (rectification["notified_on"], rectification["last_day"]) == ("2026-12-07", "2026-12-21")
    ban = item(content, 12)["instruction"]
    assert (ban["kind"], ban["provision"], ban["last_day"]) == ("appeal_ban", "KL 136 §", None)
    checking = content["meeting"]["checking"]
    assert (checking["checked_on"], checking["note"]) == (
        "2026-11-27",
        "Pöytäkirja on tarkastettu ja hyväksytty.",
    )
    assert content["version"] == 2
    assert content["schema"] == "kokous-minutes/1"


def test_canonical_bytes_are_rfc_8785(content: dict[str, Any]) -> None:
    assert canonical(content) == rfc8785.dumps(json.loads(json.dumps(content)))
    assert content_hash(content) == content_hash(document_json(sample_minutes()))


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plain(PUBLISHED_AT.replace(tzinfo=None))
