"""The electronic decision procedure (KL 100 §): stances before the meeting, deadlines settled exactly once.

models: the tables; lifecycle: the one transition table, with the completion rule it uses; actions: the do_*
changes, each audited; queries: what a member and the chair see; scheduler: the job that settles deadlines.
The pure rules live in meetings/rules/decision_procedure.py.
"""
