"""The checkers' rule shared by the minutes and the decision procedure's record (R-CHECK-1/2/3, R-CHECK-5)."""

from __future__ import annotations

import pytest

from core.errors import Conflict, ValidationFailed
from minutes.rules.checking import Review, review_step

TWO = (1, 2)


@pytest.mark.parametrize(
    ("rule", "earlier", "user", "approve", "comment", "step"),
    [
        ("R-CHECK-1", [], 1, True, "", Review.APPROVE),
        ("R-CHECK-3", [(1, True)], 2, True, "", Review.APPROVE_LAST),
        ("R-CHECK-3", [(1, False)], 2, True, "", Review.APPROVE),  # one rejected: not every checker approved
        ("R-CHECK-2", [], 1, False, "§ 3: väärä summa", Review.REJECT),
        ("R-CHECK-2", [(1, True)], 2, False, "Korjattava", Review.REJECT),
    ],
)
def test_what_a_review_does(
    rule: str, earlier: list[tuple[int, bool]], user: int, approve: bool, comment: str, step: Review
) -> None:
    assert review_step(TWO, earlier, user_id=user, approve=approve, comment=comment) == step, rule


def test_one_checker_alone_checks_it() -> None:
    """R-CHECK-1: the body decides how many check; one approval of the only checker completes it."""
    assert review_step((7,), [], user_id=7, approve=True, comment="") == Review.APPROVE_LAST


@pytest.mark.parametrize("comment", ["", "   \n"])
def test_a_rejection_needs_a_comment(comment: str) -> None:
    """R-CHECK-2: the secretary must learn what to correct."""
    with pytest.raises(ValidationFailed):
        review_step(TWO, [], user_id=1, approve=False, comment=comment)


def test_nobody_reviews_the_same_text_twice() -> None:
    with pytest.raises(Conflict):
        review_step(TWO, [(1, True)], user_id=1, approve=True, comment="")
