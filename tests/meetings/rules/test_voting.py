"""Proposals, voting order, tally and the run to a decision: tables whose rows cite the rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings.rules.voting import (
    Alternative,
    Choice,
    Pairing,
    PlannedVote,
    Progress,
    Proposal,
    ProposalKind,
    WinnerOf,
    default_order,
    lapsed,
    order_problems,
    planned_votes,
    run_order,
    tabling_demanded,
    tally,
    vote_needed,
)

BASE, COUNTER, TABLING, RETURN, REJECTION, PONSI = (
    ProposalKind.BASE,
    ProposalKind.COUNTER,
    ProposalKind.TABLING,
    ProposalKind.RETURN,
    ProposalKind.REJECTION,
    ProposalKind.PONSI,
)
CHAIR = 10
MEMBERS = range(10, 19)  # nine members; 10 chairs


def p(pid: int, kind: ProposalKind, seconded: bool = True, by: int | None = None) -> Proposal:
    return Proposal(pid, kind, seconded=kind != BASE and seconded, made_by=by, label=f"P{pid}")


def base(*others: Proposal) -> list[Proposal]:
    return [p(1, BASE, by=90), *others]


def ballots(jaa: Iterable[int] = (), ei: Iterable[int] = (), tyhja: Iterable[int] = ()) -> dict[int, Choice]:
    """The listed members' choices; every other member of MEMBERS was absent (POISSA)."""
    chosen = dict.fromkeys(jaa, Choice.JAA) | dict.fromkeys(ei, Choice.EI)
    chosen |= dict.fromkeys(tyhja, Choice.TYHJA)
    return {m: chosen.get(m, Choice.POISSA) for m in MEMBERS}


JAA_WINS = ballots(jaa=range(10, 15), ei=range(15, 19))  # 5-4, the chair with JAA
EI_WINS = ballots(jaa=range(15, 19), ei=range(10, 15))  # 4-5, the chair with EI


@pytest.mark.parametrize(
    ("proposals", "lapsing", "needed"),
    [
        pytest.param(base(), [], False, id="R-PROP-3 the base alone is declared the decision without a vote"),
        pytest.param(
            base(p(2, COUNTER, seconded=False)),
            [2],
            False,
            id="R-PROP-2 R-PROP-3 an unseconded counter-proposal lapses and no vote is needed",
        ),
        pytest.param(
            base(p(2, COUNTER)), [], True, id="R-PROP-2 a seconded counter-proposal goes to the vote"
        ),
        pytest.param(base(p(5, TABLING)), [], True, id="R-PROP-4 a seconded tabling proposal is voted on"),
        pytest.param(
            base(p(6, RETURN, seconded=False)), [6], False, id="R-PROP-4 an unseconded return proposal lapses"
        ),
        pytest.param(
            base(p(7, REJECTION)), [], True, id="R-VOTE-4 a seconded rejection proposal is voted on"
        ),
        pytest.param(
            base(p(8, PONSI)),
            [],
            False,
            id="R-VOTE-4 a ponsi is voted after the main decision and does not contest it",
        ),
        pytest.param(
            base(p(2, COUNTER, seconded=False), p(3, COUNTER), p(8, PONSI, seconded=False)),
            [2, 8],
            True,
            id="R-VOTE-1 the chair names what lapses and what goes to the vote",
        ),
    ],
)
def test_lapsing_and_whether_a_vote_is_needed(
    proposals: list[Proposal], lapsing: list[int], needed: bool
) -> None:
    assert [proposal.id for proposal in lapsed(proposals)] == lapsing
    assert vote_needed(proposals) is needed


def test_an_item_has_exactly_one_base_proposal() -> None:
    with pytest.raises(ValueError, match="exactly one base"):
        vote_needed([p(2, COUNTER)])
    with pytest.raises(ValueError, match="exactly one base"):
        default_order([*base(), p(3, BASE)])


@pytest.mark.parametrize(
    ("proposals", "ranking", "order"),
    [
        pytest.param(base(), (), (1,), id="R-PROP-3 the base alone: an order of one and no vote"),
        pytest.param(base(p(2, COUNTER)), (), (2, 1), id="R-VOTE-4 one counter-proposal against the base"),
        pytest.param(
            base(p(2, COUNTER), p(3, COUNTER), p(4, COUNTER)),
            (),
            (4, 3, 2, 1),
            id="R-VOTE-4 [INTERP] unranked counter-proposals go latest first, the base last",
        ),
        pytest.param(
            base(p(2, COUNTER), p(3, COUNTER), p(4, COUNTER)),
            (2, 4, 3),
            (2, 4, 3, 1),
            id="R-VOTE-4 the chair's ranking puts the most different first",
        ),
        pytest.param(
            base(p(2, COUNTER), p(3, COUNTER), p(4, COUNTER)),
            (3,),
            (3, 4, 2, 1),
            id="R-VOTE-4 counter-proposals the chair did not rank follow, latest first",
        ),
        pytest.param(
            base(p(2, COUNTER), p(3, COUNTER, seconded=False)),
            (3, 99, 1),
            (2, 1),
            id="R-VOTE-4 a ranking naming lapsed, unknown or base proposals is read for standing ones only",
        ),
        pytest.param(
            base(
                p(2, COUNTER), p(8, PONSI), p(6, RETURN), p(7, REJECTION), p(5, TABLING), p(3, COUNTER, False)
            ),
            (),
            (5, 6, 2, 1, 7, 8),
            id="R-PROP-4 R-VOTE-4 tabling, return, counter-proposals, base, rejection, then ponnet",
        ),
        pytest.param(
            base(p(8, PONSI), p(9, PONSI), p(7, REJECTION)),
            (),
            (1, 7, 8, 9),
            id="R-VOTE-4 R-VOTE-5 rejection against the base, ponnet after in the order made",
        ),
    ],
)
def test_default_order(proposals: list[Proposal], ranking: tuple[int, ...], order: tuple[int, ...]) -> None:
    assert default_order(proposals, ranking) == order
    assert order_problems(proposals, order) == []


MIX = base(
    p(2, COUNTER), p(3, COUNTER), p(4, COUNTER, seconded=False), p(5, TABLING), p(7, REJECTION), p(8, PONSI)
)


@pytest.mark.parametrize(
    ("order", "rules"),
    [
        pytest.param((5, 3, 2, 1, 7, 8), [], id="R-VOTE-4 the default order is valid"),
        pytest.param(
            (5, 2, 3, 1, 7, 8), [], id="R-VOTE-4 the chair may pit the counter-proposals in any order"
        ),
        pytest.param((5, 2, 1, 7, 8), ["R-VOTE-1"], id="R-VOTE-1 every standing proposal is in the order"),
        pytest.param((5, 3, 2, 1, 7), ["R-VOTE-1"], id="R-VOTE-1 a standing ponsi is in the order too"),
        pytest.param((5, 4, 3, 2, 1, 7, 8), ["R-PROP-2"], id="R-PROP-2 a lapsed proposal is not voted on"),
        pytest.param((5, 3, 2, 1, 7, 8, 99), ["R-VOTE-1"], id="R-VOTE-1 the order names only proposals made"),
        pytest.param((5, 3, 2, 3, 1, 7, 8), ["R-VOTE-1"], id="R-VOTE-1 a proposal is voted on once"),
        pytest.param((3, 5, 2, 1, 7, 8), ["R-PROP-4"], id="R-PROP-4 tabling comes before the substance"),
        pytest.param(
            (5, 3, 1, 2, 7, 8), ["R-VOTE-5"], id="R-VOTE-5 the base enters only in the last pairing"
        ),
        pytest.param(
            (5, 1, 3, 2, 7, 8), ["R-VOTE-5", "R-VOTE-5"], id="R-VOTE-5 the base first breaks the chain"
        ),
        pytest.param((5, 3, 7, 2, 1, 8), ["R-VOTE-5"], id="R-VOTE-5 rejection comes after the base"),
        pytest.param((5, 3, 2, 8, 1, 7), ["R-VOTE-4"], id="R-VOTE-4 ponnet come after the main decision"),
        pytest.param(
            (8, 3, 2, 1, 7, 5),
            ["R-PROP-4", "R-VOTE-4"],
            id="R-PROP-4 R-VOTE-4 every misplaced proposal is named",
        ),
    ],
)
def test_order_problems(order: tuple[int, ...], rules: list[str]) -> None:
    assert sorted(problem.rule for problem in order_problems(MIX, order)) == sorted(rules)


def test_order_problems_name_the_proposal() -> None:
    (problem,) = order_problems(MIX, (3, 5, 2, 1, 7, 8))
    assert problem.message.startswith("P5 must be voted on first")
    (problem,) = order_problems(MIX, (5, 3, 2, 1, 7, 8, 42))
    assert problem.message == "The voting order names a proposal that was not made: #42."


@pytest.mark.parametrize(
    ("cast", "winner", "by_chair"),
    [
        pytest.param(
            ballots(jaa=[11, 12, 13], ei=[14, 15]), Choice.JAA, False, id="R-VOTE-2 most votes win: 3-2"
        ),
        pytest.param(
            ballots(jaa=[11, 12], ei=[13, 14, 15]), Choice.EI, False, id="R-VOTE-2 most votes win: 2-3"
        ),
        pytest.param(
            ballots(jaa=[11, 12], ei=[13], tyhja=[14, 15, 16, 17]),
            Choice.JAA,
            False,
            id="R-VOTE-2 [MEMORY] blank votes count for neither side",
        ),
        pytest.param(
            ballots(jaa=[10, 11], ei=[12, 13]), Choice.JAA, True, id="R-VOTE-2 a tie goes to the chair's JAA"
        ),
        pytest.param(
            ballots(jaa=[11, 12], ei=[10, 13]), Choice.EI, True, id="R-VOTE-2 a tie goes to the chair's EI"
        ),
        pytest.param(
            ballots(jaa=[11, 12], ei=[13, 14], tyhja=[10]),
            None,
            False,
            id="R-VOTE-2 a tie with the chair voting blank is not resolved by the rule",
        ),
        pytest.param(
            ballots(jaa=[11, 12], ei=[13, 14]),
            None,
            False,
            id="R-VOTE-2 a tie with the chair absent from the vote is not resolved by the rule",
        ),
        pytest.param(
            {11: Choice.JAA, 12: Choice.EI},
            None,
            False,
            id="R-VOTE-2 a tie where the chair has no ballot at all is not resolved either",
        ),
        pytest.param(
            ballots(tyhja=MEMBERS),
            None,
            False,
            id="R-VOTE-2 everyone blank is a 0-0 tie the chair did not break",
        ),
        pytest.param(ballots(jaa=[10]), Choice.JAA, False, id="R-VOTE-2 absent members do not count: 1-0"),
    ],
)
def test_tally(cast: dict[int, Choice], winner: Choice | None, by_chair: bool) -> None:
    result = tally(cast, CHAIR)
    assert (result.winner, result.by_chair) == (winner, by_chair)
    assert result.jaa + result.ei + result.tyhja + result.poissa == len(cast)


def test_tally_counts_every_choice() -> None:
    result = tally(ballots(jaa=[10, 11], ei=[12], tyhja=[13, 14, 15]), CHAIR)
    assert (result.jaa, result.ei, result.tyhja, result.poissa, result.tie) == (2, 1, 3, 3, False)


def pairings(progress: Progress) -> list[tuple[object, object]]:
    return [(vote.pairing.jaa, vote.pairing.ei) for vote in progress.votes]


CONTINUE, DECLINE = Alternative.CONTINUE, Alternative.DECLINE


@pytest.mark.parametrize(
    ("proposals", "cast", "decision", "adopted", "taken"),
    [
        pytest.param(
            base(), [], 1, (), [], id="R-PROP-3 no challenger: the base is the decision without a vote"
        ),
        pytest.param(
            base(p(2, COUNTER)),
            [JAA_WINS],
            1,
            (),
            [(1, 2)],
            id="R-VOTE-4 the base (JAA) beats the counter (EI)",
        ),
        pytest.param(
            base(p(2, COUNTER)), [EI_WINS], 2, (), [(1, 2)], id="R-VOTE-2 the counter-proposal wins"
        ),
        pytest.param(
            base(p(2, COUNTER), p(3, COUNTER), p(4, COUNTER)),
            [EI_WINS, JAA_WINS, EI_WINS],
            2,
            (),
            [(3, 4), (2, 4), (1, 2)],
            id="R-VOTE-4 successive elimination: each winner meets the next, the last pairing is the base's",
        ),
        pytest.param(
            base(p(2, COUNTER), p(3, COUNTER)),
            [JAA_WINS, JAA_WINS],
            1,
            (),
            [(2, 3), (1, 2)],
            id="R-VOTE-5 the base enters only in the final pairing and wins it",
        ),
        pytest.param(
            base(p(2, COUNTER), p(5, TABLING), p(8, PONSI)),
            [EI_WINS],
            5,
            (),
            [(CONTINUE, 5)],
            id="R-PROP-4 tabling passes: the substance and its ponnet are not voted on",
        ),
        pytest.param(
            base(p(2, COUNTER), p(5, TABLING), p(6, RETURN)),
            [JAA_WINS, EI_WINS],
            6,
            (),
            [(CONTINUE, 5), (CONTINUE, 6)],
            id="R-PROP-4 tabling fails, return for preparation passes: handling stops",
        ),
        pytest.param(
            base(p(2, COUNTER), p(5, TABLING)),
            [JAA_WINS, EI_WINS],
            2,
            (),
            [(CONTINUE, 5), (1, 2)],
            id="R-PROP-4 tabling fails: the handling continues to the substance",
        ),
        pytest.param(
            base(p(2, COUNTER), p(7, REJECTION)),
            [EI_WINS, EI_WINS],
            7,
            (),
            [(1, 2), (2, 7)],
            id="R-VOTE-5 rejection meets the survivor last and becomes the decision only by winning",
        ),
        pytest.param(
            base(p(7, REJECTION)), [JAA_WINS], 1, (), [(1, 7)], id="R-VOTE-5 rejection fails against the base"
        ),
        pytest.param(
            base(p(2, COUNTER), p(8, PONSI), p(9, PONSI)),
            [JAA_WINS, JAA_WINS, EI_WINS],
            1,
            (8,),
            [(1, 2), (8, DECLINE), (9, DECLINE)],
            id="R-VOTE-4 ponnet one by one after the main decision: JAA adopts, EI declines",
        ),
        pytest.param(
            base(p(8, PONSI)),
            [EI_WINS],
            1,
            (),
            [(8, DECLINE)],
            id="R-PROP-3 R-VOTE-4 an undisputed base, then its ponsi voted down",
        ),
    ],
)
def test_run_order(
    proposals: list[Proposal],
    cast: list[dict[int, Choice]],
    decision: int,
    adopted: tuple[int, ...],
    taken: list[tuple[object, object]],
) -> None:
    progress = run_order(proposals, default_order(proposals), cast, chair=CHAIR)
    assert (progress.decision, progress.adopted_ponnet) == (decision, adopted)
    assert pairings(progress) == taken
    assert progress.finished


def test_with_fewer_ballots_the_run_names_the_next_pairing() -> None:
    """R-VOTE-4: the next pairing uses the previous winner, so it is known only once that vote is counted."""
    proposals = base(p(2, COUNTER), p(3, COUNTER), p(8, PONSI))
    order = default_order(proposals)
    steps = [run_order(proposals, order, [JAA_WINS, EI_WINS, JAA_WINS][:n], chair=CHAIR) for n in range(4)]
    assert [step.next for step in steps] == [Pairing(2, 3), Pairing(1, 2), Pairing(8, DECLINE), None]
    assert [step.decision for step in steps] == [None, None, 2, 2]
    assert steps[3].adopted_ponnet == (8,)
    assert not any(step.finished for step in steps[:3])


def test_an_unresolved_tie_stops_the_run() -> None:
    """R-VOTE-2: a tie in which the chair voted blank picks no winner, so no next pairing follows."""
    proposals = base(p(2, COUNTER), p(3, COUNTER))
    tie = ballots(jaa=[11, 12], ei=[13, 14], tyhja=[10])
    progress = run_order(proposals, default_order(proposals), [tie], chair=CHAIR)
    assert progress.unresolved is not None
    assert progress.unresolved.tally.winner is None
    assert (progress.next, progress.decision, progress.finished) == (None, None, False)
    with pytest.raises(ValueError, match="more ballots"):
        run_order(proposals, default_order(proposals), [tie, JAA_WINS], chair=CHAIR)


def test_run_refuses_an_invalid_order_and_spare_ballots() -> None:
    proposals = base(p(2, COUNTER))
    with pytest.raises(ValueError, match="invalid voting order"):
        run_order(proposals, (1, 2), [JAA_WINS], chair=CHAIR)
    with pytest.raises(ValueError, match="more ballots"):
        run_order(proposals, (2, 1), [JAA_WINS, JAA_WINS], chair=CHAIR)


def test_a_tie_broken_by_the_chair_decides_the_pairing() -> None:
    proposals = base(p(2, COUNTER))
    tie = ballots(jaa=[11, 12], ei=[10, 13])
    progress = run_order(proposals, (2, 1), [tie], chair=CHAIR)
    assert progress.decision == 2
    assert progress.votes[0].tally.by_chair


@pytest.mark.parametrize(
    ("demanding", "present", "demanded"),
    [
        pytest.param(11, 43, True, id="R-PROP-4 [MEMORY] council minority: 11 of 43 present is at least 1/4"),
        pytest.param(10, 43, False, id="R-PROP-4 [MEMORY] council minority: 10 of 43 present is not"),
        pytest.param(10, 40, True, id="R-PROP-4 [MEMORY] council minority: exactly a quarter is enough"),
    ],
)
def test_council_minority_may_table(demanding: int, present: int, demanded: bool) -> None:
    assert tabling_demanded(demanding, present, Fraction("1/4")) is demanded


kinds = st.sampled_from([COUNTER, COUNTER, TABLING, RETURN, REJECTION, PONSI])


@st.composite
def items(draw: st.DrawFn) -> list[Proposal]:
    others = draw(st.lists(st.tuples(kinds, st.booleans()), max_size=7))
    made = [p(pid, kind, seconded) for pid, (kind, seconded) in enumerate(others, start=2)]
    return draw(st.permutations([p(1, BASE), *made]))


def vote_to_the_end(
    proposals: Sequence[Proposal], order: Sequence[int], draw: st.DataObject
) -> tuple[Progress, list[Mapping[int, Choice]]]:
    cast: list[Mapping[int, Choice]] = []
    progress = run_order(proposals, order, cast, chair=CHAIR)
    while progress.next is not None:
        cast.append(draw.draw(st.fixed_dictionaries({m: st.sampled_from(list(Choice)) for m in MEMBERS})))
        progress = run_order(proposals, order, cast, chair=CHAIR)
    return progress, cast


@settings(deadline=None)  # a slow CI machine must not fail a correct example
@given(items(), st.data())
def test_the_result_is_always_a_standing_proposal(proposals: list[Proposal], data: st.DataObject) -> None:
    """R-VOTE-4: whatever the ballots, the default order ends in a standing proposal (or an unresolved tie,
    R-VOTE-2), adopts only standing ponnet, and the base meets nothing but the survivor of the chain and a
    rejection (R-VOTE-5)."""
    order = default_order(proposals, data.draw(st.lists(st.integers(1, 9))))
    assert order_problems(proposals, order) == []
    progress, _ = vote_to_the_end(proposals, order, data)
    standing = {proposal.id for proposal in proposals if proposal.standing}
    assert progress.unresolved is not None or progress.decision in standing
    assert set(progress.adopted_ponnet) <= standing
    kind = {proposal.id: proposal.kind for proposal in proposals}
    sides = [{vote.pairing.jaa, vote.pairing.ei} for vote in progress.votes]
    first_base = next((n for n, pair in enumerate(sides) if 1 in pair), len(sides))
    for pair in sides[first_base + 1 :]:
        assert any(isinstance(side, int) and kind[side] in (REJECTION, PONSI) for side in pair)


@pytest.mark.parametrize(
    ("proposals", "planned"),
    [
        pytest.param(base(), [], id="R-PROP-3 no challenger: no vote to plan"),
        pytest.param(
            base(p(2, COUNTER), p(3, COUNTER), p(4, COUNTER)),
            [(3, 4, COUNTER), (2, WinnerOf(1), COUNTER), (1, WinnerOf(2), BASE)],
            id="R-VOTE-4 R-VOTE-5 each winner meets the next; the base enters only in the last pairing",
        ),
        pytest.param(
            base(p(2, COUNTER), p(5, TABLING), p(6, RETURN), p(7, REJECTION), p(8, PONSI)),
            [
                (CONTINUE, 5, TABLING),
                (CONTINUE, 6, RETURN),
                (1, 2, BASE),
                (WinnerOf(3), 7, REJECTION),
                (8, DECLINE, PONSI),
            ],
            id="R-PROP-4 R-VOTE-4 procedural first, rejection against the survivor, the ponsi after",
        ),
        pytest.param(
            base(p(2, COUNTER, seconded=False), p(8, PONSI)),
            [(8, DECLINE, PONSI)],
            id="R-VOTE-1 a lapsed proposal is not voted on; an undisputed base leaves only its ponsi",
        ),
    ],
)
def test_planned_votes(proposals: list[Proposal], planned: list[tuple[object, object, ProposalKind]]) -> None:
    plan = planned_votes(proposals, default_order(proposals))
    assert plan == tuple(PlannedVote(n, jaa, ei, kind) for n, (jaa, ei, kind) in enumerate(planned, start=1))  # type: ignore[arg-type]


def test_planned_votes_refuse_an_invalid_order() -> None:
    with pytest.raises(ValueError, match="invalid voting order"):
        planned_votes(base(p(2, COUNTER)), (2,))


@settings(deadline=None)
@given(items(), st.data())
def test_the_plan_is_what_the_run_takes(proposals: list[Proposal], data: st.DataObject) -> None:
    """R-VOTE-1: the body approves what will happen. Whatever the ballots, the votes taken are the first votes
    of the plan, each "winner of vote n" being the side that won vote n."""
    order = default_order(proposals, data.draw(st.lists(st.integers(1, 9))))
    plan = planned_votes(proposals, order)
    progress, _ = vote_to_the_end(proposals, order, data)
    assert len(progress.votes) <= len(plan)

    def resolved(side: object) -> object:
        return progress.votes[side.number - 1].winner if isinstance(side, WinnerOf) else side

    for taken, planned in zip(progress.votes, plan, strict=False):
        assert (taken.pairing.jaa, taken.pairing.ei) == (resolved(planned.jaa), resolved(planned.ei))
    if progress.finished and progress.decision is not None:
        stopped_early = {k for k in (progress.decision,) if kind_of(proposals, k) in (TABLING, RETURN)}
        assert stopped_early or len(progress.votes) == len(plan)


def kind_of(proposals: Sequence[Proposal], pid: int) -> ProposalKind:
    return next(proposal.kind for proposal in proposals if proposal.id == pid)
