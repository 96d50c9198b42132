"""Minutes drafted from a meeting's events: checking, signing and publication."""
