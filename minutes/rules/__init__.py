"""Pure rules for minutes: frozen facts in, answers out; no I/O, no ORM, no clock; cite domain.md ids."""
