"""Checking by chosen checkers, pure: what a checker's review does (R-CHECK-1 … R-CHECK-3, R-CHECK-5).

The meeting's minutes (minutes.workflow) and the decision procedure's record checked before the meeting
(minutes.procedure_check) are checked by the same rule: every checker approves, or one rejection with a
comment sends the text back (R-CHECK-2); nobody reviews the same text twice.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from enum import StrEnum

from core.errors import Conflict, ValidationFailed
from core.text import translatable

REVIEWED = translatable("You have already checked this version.")
COMMENT_NEEDED = translatable("Say what should be corrected: a rejection needs a comment (R-CHECK-2).")


class Review(StrEnum):
    APPROVE = "approve"  # one more approval; others still to come
    APPROVE_LAST = "approve_last"  # every checker has now approved: checked (R-CHECK-3)
    REJECT = "reject"  # R-CHECK-2


def review_step(
    checkers: Collection[int],
    earlier: Iterable[tuple[int, bool]],
    *,
    user_id: int,
    approve: bool,
    comment: str,
) -> Review:
    """What `user_id`'s review does, given the (checker, approved) reviews already made of the same text.
    The caller has made sure that `user_id` is one of `checkers`."""
    if not approve and not comment.strip():
        raise ValidationFailed(COMMENT_NEEDED, field="comment")
    made = list(earlier)
    if any(checker == user_id for checker, _ in made):
        raise Conflict(REVIEWED)
    if not approve:
        return Review.REJECT
    approved = {checker for checker, ok in made if ok} | {user_id}
    return Review.APPROVE_LAST if set(checkers) <= approved else Review.APPROVE
