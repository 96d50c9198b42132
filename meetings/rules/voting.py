"""Open votes on a matter: which proposals stand, the voting order, the count and the run to a decision.

R-PROP-2 (counter-proposals need seconding), R-PROP-3 (no vote without a seconded challenger), R-PROP-4
(tabling and return first; the council's minority right to table), R-PROP-5 (the proposal types), R-VOTE-1
(what lapses, what is voted, in which order), R-VOTE-2 (majority; a tie goes to the chair's side), R-VOTE-4
and R-VOTE-5 (pairwise successive elimination, base last, rejection after it, ponnet separately).
Elections (R-ELECT-*) are not votes on a matter and are not here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType

from meetings.rules.call import Problem


class ProposalKind(StrEnum):
    BASE = "base"  # pohjaehdotus: the presenter's proposal (R-PROP-2)
    COUNTER = "counter"  # vastaehdotus
    TABLING = "tabling"  # pöydällepano
    RETURN = "return"  # palautus valmisteltavaksi
    REJECTION = "rejection"  # hylkäys
    PONSI = "ponsi"  # council resolution voted after the main decision


# The vote types of Finnish open decision data (domain.md §6); a vote on the base alone is "normal".
OPEN_DATA_CODE: Mapping[ProposalKind, str] = MappingProxyType(
    {
        ProposalKind.COUNTER: "VAS",
        ProposalKind.TABLING: "PPA",
        ProposalKind.RETURN: "PAL",
        ProposalKind.REJECTION: "HYL",
        ProposalKind.PONSI: "PON",
    }
)
PROCEDURAL = frozenset({ProposalKind.TABLING, ProposalKind.RETURN})
SUBSTANTIVE = frozenset({ProposalKind.BASE, ProposalKind.COUNTER})


class Choice(StrEnum):
    """A member's stance in one vote, as Finnish voting records write it (domain.md §6)."""

    JAA = "jaa"
    EI = "ei"
    TYHJA = "tyhja"  # blank: counts for neither side (R-VOTE-2)
    POISSA = "poissa"  # did not vote


class Alternative(StrEnum):
    """The other side of a vote on a single proposal."""

    CONTINUE = "continue"  # the handling goes on (against tabling or return, R-PROP-4)
    DECLINE = "decline"  # the ponsi is not adopted (R-VOTE-4)


Side = int | Alternative  # a proposal id, or an alternative


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposal still on the table, in order of submission; withdrawn ones are not passed (R-PROP-6)."""

    id: int
    kind: ProposalKind
    seconded: bool = False
    made_by: int | None = None  # for the base: the presenter, if the body has one
    label: str = ""  # how the chair's page names it, e.g. "Virtanen's counter-proposal"

    @property
    def standing(self) -> bool:
        """The base needs no seconding; every other proposal lapses without it (R-PROP-2, R-VOTE-1)."""
        return self.kind == ProposalKind.BASE or self.seconded

    @property
    def name(self) -> str:
        return self.label or f"#{self.id}"


@dataclass(frozen=True, slots=True)
class Pairing:
    """One vote: those for `jaa` vote JAA, those for `ei` vote EI (R-VOTE-1)."""

    jaa: Side
    ei: Side


@dataclass(frozen=True, slots=True)
class Tally:
    jaa: int
    ei: int
    tyhja: int
    poissa: int
    winner: Choice | None  # JAA or EI; None for a tie that R-VOTE-2 cannot break
    by_chair: bool  # a tie broken by the chair's vote

    @property
    def tie(self) -> bool:
        return self.jaa == self.ei


@dataclass(frozen=True, slots=True)
class Vote:
    pairing: Pairing
    ballots: Mapping[int, Choice]
    tally: Tally

    @property
    def winner(self) -> Side | None:
        if self.tally.winner is None:
            return None
        return self.pairing.jaa if self.tally.winner == Choice.JAA else self.pairing.ei

    def chose(self, side: Side) -> frozenset[int]:
        """Who voted for `side`; nobody if it was not on this ballot."""
        choice = {self.pairing.jaa: Choice.JAA, self.pairing.ei: Choice.EI}.get(side)
        return frozenset(
            person for person, made in self.ballots.items() if choice is not None and made == choice
        )


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a voting order has got with the ballots so far."""

    votes: tuple[Vote, ...]
    decision: int | None  # the winning proposal, or the procedural one that stopped the handling (R-PROP-4)
    adopted_ponnet: tuple[int, ...]
    next: Pairing | None  # the vote to take now
    unresolved: Vote | None = None  # a tie in which the chair voted for neither side (R-VOTE-2)

    @property
    def finished(self) -> bool:
        return self.next is None and self.unresolved is None


def base_of(proposals: Sequence[Proposal]) -> Proposal:
    bases = [proposal for proposal in proposals if proposal.kind == ProposalKind.BASE]
    if len(bases) != 1:
        raise ValueError(f"an item has exactly one base proposal, not {len(bases)}")
    return bases[0]


def lapsed(proposals: Sequence[Proposal]) -> tuple[Proposal, ...]:
    """What the chair declares lapsed for want of seconding (R-VOTE-1 (a), R-PROP-2)."""
    return tuple(proposal for proposal in proposals if not proposal.standing)


def standing(proposals: Sequence[Proposal]) -> tuple[Proposal, ...]:
    return tuple(proposal for proposal in proposals if proposal.standing)


def vote_needed(proposals: Sequence[Proposal]) -> bool:
    """Whether the main decision needs a vote: only a seconded challenger to the base makes one (R-PROP-3).

    Without one the chair declares the base the decision. A standing ponsi is voted after the main decision
    and does not make the main decision contested. A body that is unanimous behind a seconded proposal may
    still decide without a vote (R-PROP-3): the chair establishes that in the meeting, not these rules."""
    base_of(proposals)
    return any(p.kind not in (ProposalKind.BASE, ProposalKind.PONSI) for p in standing(proposals))


def default_order(proposals: Sequence[Proposal], most_different_first: Sequence[int] = ()) -> tuple[int, ...]:
    """The model voting order (R-VOTE-4, R-PROP-4): tabling, then return, each against continuing; the
    counter-proposals most different from the base first, each winner meeting the next, the base last
    (R-VOTE-5); rejection against the survivor; ponnet one by one after the main decision.

    `most_different_first` is the chair's judgement of the counter-proposals' distance from the base. Counter-
    proposals it does not rank follow in reverse order of submission, the latest first [INTERP]: the sources
    leave the distance to the chair's judgement, and this default only gives the chair an order to start
    from. Ids that are not standing counter-proposals are ignored."""
    base, on_table = base_of(proposals), standing(proposals)
    counters = [p.id for p in reversed(on_table) if p.kind == ProposalKind.COUNTER]
    ranked = [pid for pid in dict.fromkeys(most_different_first) if pid in counters]
    ranked += [pid for pid in counters if pid not in ranked]

    def of(kind: ProposalKind) -> list[int]:
        return [p.id for p in on_table if p.kind == kind]

    return (
        *of(ProposalKind.TABLING),
        *of(ProposalKind.RETURN),
        *ranked,
        base.id,
        *of(ProposalKind.REJECTION),
        *of(ProposalKind.PONSI),
    )


def order_problems(proposals: Sequence[Proposal], order: Sequence[int]) -> list[Problem]:
    """What is wrong with the chair's voting order (R-VOTE-1, R-PROP-2, R-PROP-4, R-VOTE-4, R-VOTE-5)."""
    by_id = {proposal.id: proposal for proposal in proposals}
    problems = _listing_problems(by_id, order)
    voted = [by_id[pid] for pid in dict.fromkeys(order) if pid in by_id and by_id[pid].standing]
    for index, proposal in enumerate(voted):
        problem = _misplaced(proposal, voted[:index], voted[index + 1 :])
        if problem is not None:
            problems.append(problem)
    return problems


def _listing_problems(by_id: Mapping[int, Proposal], order: Sequence[int]) -> list[Problem]:
    problems = []
    for pid, times in Counter(order).items():
        proposal = by_id.get(pid)
        name = {"proposal": f"#{pid}" if proposal is None else proposal.name}
        if proposal is None:
            problems.append(
                Problem(
                    "order_unknown_proposal",
                    "R-VOTE-1",
                    "The voting order names a proposal that was not made: {proposal}.",
                    params=name,
                )
            )
        elif not proposal.standing:
            problems.append(
                Problem(
                    "order_lapsed_proposal",
                    "R-PROP-2",
                    "{proposal} was not seconded, so it is not voted on.",
                    params=name,
                )
            )
        elif times > 1:
            problems.append(
                Problem(
                    "order_repeated_proposal",
                    "R-VOTE-1",
                    "{proposal} appears more than once in the voting order.",
                    params=name,
                )
            )
    for proposal in by_id.values():
        if proposal.standing and proposal.id not in order:
            problems.append(
                Problem(
                    "order_missing_proposal",
                    "R-VOTE-1",
                    "{proposal} goes to the vote but is missing from the voting order.",
                    params={"proposal": proposal.name},
                )
            )
    return problems


def _misplaced(proposal: Proposal, before: list[Proposal], after: list[Proposal]) -> Problem | None:
    name = {"proposal": proposal.name}
    kind = proposal.kind
    if kind in PROCEDURAL and any(p.kind not in PROCEDURAL for p in before):
        return Problem(
            "order_procedural_late",
            "R-PROP-4",
            "{proposal} must be voted on first: tabling and return for preparation are decided before the "
            "substance.",
            params=name,
        )
    if kind == ProposalKind.COUNTER and any(p.kind == ProposalKind.BASE for p in before):
        return Problem(
            "order_counter_after_base",
            "R-VOTE-5",
            "{proposal} comes after the base proposal, which enters only in the last pairing.",
            params=name,
        )
    if kind == ProposalKind.REJECTION and any(p.kind in SUBSTANTIVE for p in after):
        return Problem(
            "order_rejection_early",
            "R-VOTE-5",
            "{proposal} is voted on last, against the proposal that wins the other votes.",
            params=name,
        )
    if kind == ProposalKind.PONSI and any(p.kind != ProposalKind.PONSI for p in after):
        return Problem(
            "order_ponsi_early",
            "R-VOTE-4",
            "{proposal} is a ponsi: it is voted on separately after the main decision.",
            params=name,
        )
    return None


def tally(ballots: Mapping[int, Choice], chair: int) -> Tally:
    """Count one vote (R-VOTE-2): most JAA or EI wins; TYHJÄ and POISSA count for neither side.

    On a tie the side the chair voted for wins. If the chair voted TYHJÄ, did not vote or is not in
    `ballots`, R-VOTE-2 names no winner and neither does this: `winner` is None, and the run stops there.
    KL 104 § gives no other tie-break for a vote on a matter (lot is for elections only), so what follows
    (the chair casting a vote, or the vote taken again) is the chair's to decide in the meeting."""
    counts = Counter(ballots.values())
    jaa, ei = counts[Choice.JAA], counts[Choice.EI]
    if jaa != ei:
        winner: Choice | None = Choice.JAA if jaa > ei else Choice.EI
    else:
        winner = ballots.get(chair, Choice.POISSA)
        winner = winner if winner in (Choice.JAA, Choice.EI) else None
    return Tally(
        jaa, ei, counts[Choice.TYHJA], counts[Choice.POISSA], winner, jaa == ei and winner is not None
    )


@dataclass
class _Run:
    ballots: Iterator[Mapping[int, Choice]]
    chair: int
    votes: list[Vote] = field(default_factory=list)
    pending: Pairing | None = None
    unresolved: Vote | None = None

    def take(self, pairing: Pairing) -> Side | None:
        """The vote's winner, or None where the run stops: no ballots for it yet, or a tie nobody broke."""
        ballots = next(self.ballots, None)
        if ballots is None:
            self.pending = pairing
            return None
        vote = Vote(pairing, MappingProxyType(dict(ballots)), tally(ballots, self.chair))
        self.votes.append(vote)
        if vote.winner is None:
            self.unresolved = vote
        return vote.winner

    def progress(self, decision: int | None, adopted: Sequence[int]) -> Progress:
        if next(self.ballots, None) is not None:
            raise ValueError("more ballots than the voting order has votes")
        return Progress(tuple(self.votes), decision, tuple(adopted), self.pending, self.unresolved)


def run_order(
    proposals: Sequence[Proposal],
    order: Sequence[int],
    ballots: Sequence[Mapping[int, Choice]],
    *,
    chair: int,
) -> Progress:
    """Take the votes of a valid order with `ballots`, one mapping per vote taken, each next pairing using the
    previous winner (R-VOTE-4). A procedural proposal that passes ends the handling and its ponnet
    (R-PROP-4). With fewer ballots than votes the answer names the next pairing to put to the body."""
    problems = order_problems(proposals, order)
    if problems:
        raise ValueError(f"invalid voting order: {[problem.message for problem in problems]}")
    kinds = {proposal.id: proposal.kind for proposal in proposals}
    run = _Run(iter(ballots), chair)
    decision = _main_decision(run, [pid for pid in order if kinds[pid] != ProposalKind.PONSI], kinds)
    if decision is None or kinds[decision] in PROCEDURAL:
        return run.progress(decision, ())
    adopted: list[int] = []
    for ponsi in (pid for pid in order if kinds[pid] == ProposalKind.PONSI):
        winner = run.take(Pairing(ponsi, Alternative.DECLINE))
        if winner is None:
            break
        if winner == ponsi:
            adopted.append(ponsi)
    return run.progress(decision, adopted)


@dataclass(frozen=True, slots=True)
class WinnerOf:
    """The side that won vote `number` (from 1) of the same order."""

    number: int


Planned = Side | WinnerOf


@dataclass(frozen=True, slots=True)
class PlannedVote:
    """One vote of a voting order before it is taken: what the body approves with the order (R-VOTE-1).

    `kind` is that of the proposal the vote brings in: a tabling or return proposal that wins ends the
    handling and the votes after it are not taken (R-PROP-4); a ponsi is voted on after the main decision
    (R-VOTE-4)."""

    number: int
    jaa: Planned
    ei: Planned
    kind: ProposalKind


def planned_votes(proposals: Sequence[Proposal], order: Sequence[int]) -> tuple[PlannedVote, ...]:
    """The pairings a valid order gives, each later one naming the earlier votes whose winners it meets
    (R-VOTE-4, R-VOTE-5), as `run_order` will take them: the votes it takes are always the first of these."""
    problems = order_problems(proposals, order)
    if problems:
        raise ValueError(f"invalid voting order: {[problem.message for problem in problems]}")
    kinds = {proposal.id: proposal.kind for proposal in proposals}
    plan: list[PlannedVote] = []

    def vote(jaa: Planned, ei: Planned, kind: ProposalKind) -> WinnerOf:
        plan.append(PlannedVote(len(plan) + 1, jaa, ei, kind))
        return WinnerOf(len(plan))

    survivor: Planned | None = None
    for pid in order:
        kind = kinds[pid]
        if kind == ProposalKind.PONSI:
            continue
        if kind in PROCEDURAL:
            vote(Alternative.CONTINUE, pid, kind)
        elif survivor is None:
            survivor = pid
        else:
            survivor = vote(pid, survivor, kind) if kind in SUBSTANTIVE else vote(survivor, pid, kind)
    for pid in order:
        if kinds[pid] == ProposalKind.PONSI:
            vote(pid, Alternative.DECLINE, ProposalKind.PONSI)
    return tuple(plan)


def _main_decision(run: _Run, main: list[int], kinds: Mapping[int, ProposalKind]) -> int | None:
    survivor: Side | None = None
    for pid in main:
        kind = kinds[pid]
        if kind in PROCEDURAL:
            winner = run.take(Pairing(Alternative.CONTINUE, pid))
            if winner != Alternative.CONTINUE:
                return pid if winner == pid else None
        elif survivor is None:
            survivor = pid
        else:
            survivor = run.take(Pairing(pid, survivor) if kind in SUBSTANTIVE else Pairing(survivor, pid))
            if survivor is None:
                return None
    return survivor if isinstance(survivor, int) else None


def tabling_demanded(demanding: int, present: int, share: Fraction) -> bool:
    """The council's minority right (R-PROP-4, [MEMORY]): at least `share` (the organisation's setting, 1/4
    by the model rules) of the councillors present demand tabling at the matter's first handling. Whether
    it is the first handling, or an exception such as urgency or the budget applies, is the chair's call."""
    return demanding * share.denominator >= present * share.numerator
