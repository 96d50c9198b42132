"""The public copy of the minutes: what may stand on the public network, and until when (R-PUB-1 … R-PUB-4).

- A wholly confidential item keeps only its § number, the mention that a confidential matter was handled and
  the legal basis (R-PUB-2, KL 140 §).
- A partly confidential item shows its public description instead of the full one (JulkL 10 §).
- Once the last rectification or appeal period has ended (minutes.instructions.personal_data_removal_at),
  an item marked as holding personal data shows only its depersonalised text, and the people who appear
  only as persons heard lose their names (R-PUB-4). Members and officials acting in office keep theirs.

The authoritative copy is never changed: a public copy is a new document that says what was removed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from minutes.document import (
    Confidentiality,
    CopyKind,
    Item,
    MinutesDocument,
    Person,
    Publicity,
    Redaction,
)
from minutes.instructions import personal_data_removal_at

REMOVED_NAME = "–"


def mention_only(item: Item) -> Item:
    """R-PUB-2: nothing but the mention and its legal basis."""
    return Item(
        section=item.section,
        title="",
        presenter=None,
        description="",
        base_proposal="",
        decision="",
        resolution=item.resolution,
        instruction=item.instruction,
        confidentiality=Confidentiality(Publicity.CONFIDENTIAL, item.confidentiality.legal_basis),
    )


def public_part(item: Item) -> Item:
    if item.confidentiality.publicity == Publicity.CONFIDENTIAL:
        return mention_only(item)
    if item.confidentiality.publicity == Publicity.PARTLY_CONFIDENTIAL:
        return replace(item, description=item.confidentiality.public_description)
    return item


def depersonalise(item: Item) -> Item:
    if not item.personal_data:
        return item
    text = item.depersonalised
    return replace(item, description=text, base_proposal="", decision=text, statements=(), dissents=())


def heard_only(document: MinutesDocument) -> frozenset[str]:
    """People who appear only as persons heard: private persons, not members or officials in office."""
    in_office = {p.person for p in document.meeting.participants if p.capacity != "expert"}
    heard = {s.person for item in document.items for s in item.statements}
    return frozenset(heard - in_office)


def item_people(item: Item) -> set[str]:
    named = {item.presenter} if item.presenter else set()
    named |= {d.person for d in item.disqualifications} | {s.person for s in item.statements}
    named |= {d.person for d in item.dissents}
    named |= {p.proposer for p in item.proposals if p.proposer} | {
        s for p in item.proposals for s in p.seconders
    }
    return named | {s.person for v in item.votes for s in v.stances}


def referenced(document: MinutesDocument) -> set[str]:
    """Everyone the content still names; a public copy lists no one else (R-PUB-3)."""
    meeting = document.meeting
    named = {p.person for p in meeting.participants} | {
        p.deputy_for for p in meeting.participants if p.deputy_for
    }
    named |= {a.person for a in meeting.attendance} | set(meeting.checking.checkers)
    named |= {document.legality.chair, document.legality.secretary}
    return named.union(*(item_people(item) for item in document.items))


def public_copy(document: MinutesDocument, *, now: datetime) -> MinutesDocument:
    """The copy for the public network as it must look at `now`."""
    items = tuple(public_part(item) for item in document.items)
    removal_at = personal_data_removal_at(document)
    remove = removal_at is not None and now >= removal_at
    hidden = heard_only(document) if remove else frozenset()
    if remove:
        items = tuple(depersonalise(item) for item in items)
    copy = replace(document, items=items)
    named = referenced(copy)
    people = tuple(
        Person(p.id, REMOVED_NAME) if p.id in hidden else p for p in document.people if p.id in named
    )
    return replace(
        copy,
        people=people,
        copy=CopyKind.PUBLIC,
        redaction=Redaction(made_at=now, personal_data_removed=remove),
    )
