"""The procedure's life cycle: ONE transition table, meetings/rules/decision_procedure.TRANSITIONS.

This module names, for each event of that table, what causes it here and the audit entry it writes, so that
the actions and the scheduler never decide a state of their own: they ask `transition` (R-EDP-3).

    (open, stance_stated)              -> open              do_state_stance      procedure.stance_stated
    (open, meeting_demanded)           -> moved_to_meeting  do_state_stance      procedure.moved_to_meeting
    (open, deadline_passed_unanswered) -> moved_to_meeting  settle_one           procedure.moved_to_meeting
    (open, deadline_passed_answered)   -> decided           settle_one           procedure.decided
    (open, withdrawn)                  -> withdrawn         settle_one           procedure.withdrawn
"""

from __future__ import annotations

from audit.models import AuditAction
from meetings.rules.decision_procedure import (
    TRANSITIONS,
    ProcedureEvent,
    ProcedureState,
    transition,
)

AUDIT: dict[ProcedureState, AuditAction] = {
    ProcedureState.MOVED_TO_MEETING: AuditAction.PROCEDURE_MOVED,
    ProcedureState.DECIDED: AuditAction.PROCEDURE_DECIDED,
    ProcedureState.WITHDRAWN: AuditAction.PROCEDURE_WITHDRAWN,
}

__all__ = ["AUDIT", "TRANSITIONS", "ProcedureEvent", "ProcedureState", "transition"]
