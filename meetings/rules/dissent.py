"""Who may register a dissenting opinion on an item's decisions, and who answers for the decision.

R-DISSENT-1 (those who made a proposal departing from the decision or voted against it, and the presenter when
the decision departs from their proposal), R-DISSENT-2 (those who voted against or dissented are not
responsible; the presenter is, unless they dissented). KL 106 §.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from meetings.rules.voting import Alternative, Progress, Proposal, ProposalKind, Vote, base_of


class Ground(StrEnum):
    """Why someone may dissent (R-DISSENT-1)."""

    PROPOSED = "proposed"  # made a proposal that did not become the decision, seconded or not
    VOTED_AGAINST = "voted_against"  # voted for the losing side of a vote that decided something
    PRESENTER = "presenter"  # the decision departs from the presenter's proposal


def dissent_rights(proposals: Sequence[Proposal], progress: Progress) -> Mapping[int, frozenset[Ground]]:
    """Everyone who may register a dissent on the item, with their grounds (R-DISSENT-1).

    The item's decisions are the main decision, each decision to continue after a procedural vote, and each
    ponsi adopted or declined. A vote decided something when its winner is one of them; a vote in the chain
    whose winner was eliminated later decided nothing, so losing it alone gives no right [INTERP]. Seconding
    a proposal is not making it: a seconder may dissent only by having voted against (KL 106 § 1 mom)."""
    decision = _decision(progress)
    rights: dict[int, set[Ground]] = {}
    for person in _proposers(proposals, progress):
        rights.setdefault(person, set()).add(Ground.PROPOSED)
    for vote in progress.votes:
        if _decided(vote, progress):
            for person in _losers(vote):
                rights.setdefault(person, set()).add(Ground.VOTED_AGAINST)
    presenter = base_of(proposals).made_by
    if presenter is not None and decision != base_of(proposals).id:
        rights.setdefault(presenter, set()).add(Ground.PRESENTER)
    return {person: frozenset(grounds) for person, grounds in rights.items()}


def voted_against(progress: Progress) -> frozenset[int]:
    """Who voted against the main decision in a vote where it was one side (R-DISSENT-2)."""
    decision = _decision(progress)
    against: set[int] = set()
    for vote in progress.votes:
        if decision in (vote.pairing.jaa, vote.pairing.ei):
            against |= _losers(vote)
    return frozenset(against)


def responsible(
    proposals: Sequence[Proposal], progress: Progress, *, took_part: frozenset[int], dissented: frozenset[int]
) -> frozenset[int]:
    """Who answers for the main decision (R-DISSENT-2): those who took part in it (the members counted when
    it was made), less those who voted against it or dissented, and the presenter unless they dissented.
    A blank vote frees no one [INTERP]: only voting against or dissenting does."""
    answerable = took_part - voted_against(progress) - dissented
    presenter = base_of(proposals).made_by
    if presenter is not None and presenter not in dissented:
        answerable |= {presenter}
    return frozenset(answerable)


def _decision(progress: Progress) -> int:
    if not progress.finished or progress.decision is None:
        raise ValueError("the item has no decision yet")
    return progress.decision


def _decided(vote: Vote, progress: Progress) -> bool:
    winner = vote.winner
    return winner == progress.decision or isinstance(winner, Alternative) or winner in progress.adopted_ponnet


def _losers(vote: Vote) -> frozenset[int]:
    loser = vote.pairing.ei if vote.winner == vote.pairing.jaa else vote.pairing.jaa
    return vote.chose(loser)


def _proposers(proposals: Sequence[Proposal], progress: Progress) -> set[int]:
    decided = {progress.decision, *progress.adopted_ponnet}
    return {
        proposal.made_by
        for proposal in proposals
        if proposal.kind != ProposalKind.BASE and proposal.id not in decided and proposal.made_by is not None
    }
