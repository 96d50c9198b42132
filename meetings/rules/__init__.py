"""Pure rules: frozen facts in, answers out; no I/O, no ORM, no clock. Answers cite domain.md rule ids.

call (the meeting call), seats (who holds each seat), quorum, voting (proposals, voting order, tally) and
dissent (who may dissent, who answers for a decision); docs/rules.md lists their functions and rules.
"""
