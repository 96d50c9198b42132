"""Pure rules: frozen facts in, answers out; no I/O, no ORM, no clock. Answers cite domain.md rule ids."""
