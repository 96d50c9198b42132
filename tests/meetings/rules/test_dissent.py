"""Who may dissent and who answers for a decision, for items voted in different ways."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from meetings.rules.dissent import Ground, dissent_rights, responsible, voted_against
from meetings.rules.voting import Choice, Progress, Proposal, ProposalKind, default_order, run_order

PRESENTER, CHAIR = 90, 10
MEMBERS = frozenset(range(10, 19))
PROPOSED, AGAINST, PRESENTS = Ground.PROPOSED, Ground.VOTED_AGAINST, Ground.PRESENTER

BASE = Proposal(1, ProposalKind.BASE, made_by=PRESENTER)
COUNTER_11 = Proposal(2, ProposalKind.COUNTER, seconded=True, made_by=11)
COUNTER_12 = Proposal(3, ProposalKind.COUNTER, seconded=True, made_by=12)  # seconded by 13
UNSECONDED_11 = Proposal(4, ProposalKind.COUNTER, seconded=False, made_by=11)
TABLING_14 = Proposal(5, ProposalKind.TABLING, seconded=True, made_by=14)
PONSI_15 = Proposal(8, ProposalKind.PONSI, seconded=True, made_by=15)


def ballots(jaa: Iterable[int], ei: Iterable[int], tyhja: Iterable[int] = ()) -> dict[int, Choice]:
    chosen = (
        dict.fromkeys(jaa, Choice.JAA) | dict.fromkeys(ei, Choice.EI) | dict.fromkeys(tyhja, Choice.TYHJA)
    )
    return {m: chosen.get(m, Choice.POISSA) for m in MEMBERS}


def decide(proposals: list[Proposal], *cast: dict[int, Choice]) -> Progress:
    return run_order(proposals, default_order(proposals), list(cast), chair=CHAIR)


G = frozenset


@pytest.mark.parametrize(
    ("proposals", "cast", "rights"),
    [
        pytest.param(
            [BASE], [], {}, id="R-DISSENT-1 an undisputed base proposal: nobody has grounds to dissent"
        ),
        pytest.param(
            [BASE, UNSECONDED_11],
            [],
            {11: G({PROPOSED})},
            id="R-DISSENT-1 making a counter-proposal is enough, even one that lapsed unseconded",
        ),
        pytest.param(
            [BASE, COUNTER_11],
            [ballots(jaa=[10, 12, 13, 14, 15], ei=[11, 16, 17], tyhja=[18])],
            {11: G({PROPOSED, AGAINST}), 16: G({AGAINST}), 17: G({AGAINST})},
            id="R-DISSENT-1 the base wins: the counter-proposer and those against it; blank gives none",
        ),
        pytest.param(
            [BASE, COUNTER_11],
            [ballots(jaa=[10, 12, 13], ei=[11, 14, 15, 16, 17])],
            {10: G({AGAINST}), 12: G({AGAINST}), 13: G({AGAINST}), PRESENTER: G({PRESENTS})},
            id="R-DISSENT-1 the counter-proposal wins: those who voted for the base, and the presenter",
        ),
        pytest.param(
            [BASE, COUNTER_11, COUNTER_12],
            [
                ballots(jaa=[10, 11, 14, 15, 16], ei=[12, 13, 17, 18]),  # 2 beats 3
                ballots(jaa=[10, 12, 13, 14, 15, 18], ei=[11, 16, 17]),  # 1 beats 2
            ],
            {11: G({PROPOSED, AGAINST}), 12: G({PROPOSED}), 16: G({AGAINST}), 17: G({AGAINST})},
            id="R-DISSENT-1 [INTERP] losing an early pairing gives no right to one who voted for the decision"
            " later; nor does seconding (13)",
        ),
        pytest.param(
            [BASE, COUNTER_11, COUNTER_12],
            [
                ballots(jaa=[10, 11, 14, 15, 16], ei=[12, 13, 17, 18]),  # 2 beats 3
                ballots(jaa=[10, 12, 13], ei=[11, 14, 15, 16, 17, 18]),  # 2 beats 1
            ],
            {
                10: G({AGAINST}),
                12: G({PROPOSED, AGAINST}),
                13: G({AGAINST}),
                17: G({AGAINST}),
                18: G({AGAINST}),
                PRESENTER: G({PRESENTS}),
            },
            id="R-DISSENT-1 the decision won two votes: against it in either gives the right",
        ),
        pytest.param(
            [BASE, TABLING_14],
            [ballots(jaa=[10, 11, 12, 13, 15, 16], ei=[14, 17, 18])],
            {14: G({PROPOSED, AGAINST}), 17: G({AGAINST}), 18: G({AGAINST})},
            id="R-DISSENT-1 R-PROP-4 tabling fails: those who voted for it opposed the decision to continue",
        ),
        pytest.param(
            [BASE, COUNTER_11, TABLING_14],
            [ballots(jaa=[10, 12, 13], ei=[11, 14, 15, 16, 17, 18])],
            {
                10: G({AGAINST}),
                12: G({AGAINST}),
                13: G({AGAINST}),
                11: G({PROPOSED}),
                PRESENTER: G({PRESENTS}),
            },
            id="R-DISSENT-1 R-PROP-4 tabling passes: those for continuing, the proposer, the presenter",
        ),
        pytest.param(
            [BASE, PONSI_15],
            [ballots(jaa=[15, 16], ei=[10, 11, 12, 13, 14, 17, 18])],
            {15: G({PROPOSED, AGAINST}), 16: G({AGAINST})},
            id="R-DISSENT-1 R-VOTE-4 a declined ponsi: its maker and those who voted for it",
        ),
        pytest.param(
            [BASE, PONSI_15],
            [ballots(jaa=[10, 11, 12, 13, 14, 15, 16], ei=[17, 18])],
            {17: G({AGAINST}), 18: G({AGAINST})},
            id="R-DISSENT-1 R-VOTE-4 an adopted ponsi: those who voted against it, not the presenter",
        ),
    ],
)
def test_dissent_rights(
    proposals: list[Proposal], cast: list[dict[int, Choice]], rights: dict[int, frozenset[Ground]]
) -> None:
    assert dissent_rights(proposals, decide(proposals, *cast)) == rights


def test_no_dissent_before_the_decision() -> None:
    """R-DISSENT-1: the dissent follows the decision; an unfinished or tied run has none yet."""
    proposals = [BASE, COUNTER_11]
    with pytest.raises(ValueError, match="no decision"):
        dissent_rights(proposals, decide(proposals))
    tie = ballots(jaa=[11, 12], ei=[13, 14], tyhja=[10])
    with pytest.raises(ValueError, match="no decision"):
        responsible(proposals, decide(proposals, tie), took_part=MEMBERS, dissented=frozenset())


@pytest.mark.parametrize(
    ("cast", "dissented", "answerable"),
    [
        pytest.param(
            ballots(jaa=[10, 12, 13, 14, 15], ei=[11, 16, 17], tyhja=[18]),
            G(),
            G({10, 12, 13, 14, 15, 18, PRESENTER}),
            id="R-DISSENT-2 those who voted against are not responsible; a blank vote frees no one",
        ),
        pytest.param(
            ballots(jaa=[10, 12, 13, 14, 15], ei=[11, 16, 17], tyhja=[18]),
            G({18}),
            G({10, 12, 13, 14, 15, PRESENTER}),
            id="R-DISSENT-2 a dissent frees from responsibility",
        ),
        pytest.param(
            ballots(jaa=[10, 12, 13], ei=[11, 14, 15, 16, 17, 18]),
            G(),
            G({11, 14, 15, 16, 17, 18, PRESENTER}),
            id="R-DISSENT-2 the presenter answers even for a decision that departs from the proposal",
        ),
        pytest.param(
            ballots(jaa=[10, 12, 13], ei=[11, 14, 15, 16, 17, 18]),
            G({PRESENTER}),
            G({11, 14, 15, 16, 17, 18}),
            id="R-DISSENT-2 unless the presenter dissented",
        ),
    ],
)
def test_responsible(cast: dict[int, Choice], dissented: frozenset[int], answerable: frozenset[int]) -> None:
    proposals = [BASE, COUNTER_11]
    assert (
        responsible(proposals, decide(proposals, cast), took_part=MEMBERS, dissented=dissented) == answerable
    )


def test_voted_against_reads_only_votes_with_the_decision_on_the_ballot() -> None:
    proposals = [BASE, COUNTER_11, COUNTER_12]
    progress = decide(
        proposals,
        ballots(jaa=[10, 11, 14, 15, 16], ei=[12, 13, 17, 18]),
        ballots(jaa=[10, 12, 13, 14, 15, 18], ei=[11, 16, 17]),
    )
    assert voted_against(progress) == {11, 16, 17}


def test_without_a_presenter_nobody_presents() -> None:
    """The council has no presenter in the meeting: its base proposal is the executive's (R-PROP-2)."""
    proposals = [Proposal(1, ProposalKind.BASE), COUNTER_11]
    progress = decide(proposals, ballots(jaa=[10], ei=[11, 12]))
    assert dissent_rights(proposals, progress) == {10: G({AGAINST})}
    assert responsible(proposals, progress, took_part=MEMBERS, dissented=G()) == MEMBERS - {10}
