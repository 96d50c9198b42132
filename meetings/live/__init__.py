"""A held meeting's live state and event log (DESIGN.md §6): models, actions, queries."""
