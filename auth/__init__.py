"""Users, passwords, second factor, tokens, sessions, roles and rate limits."""
