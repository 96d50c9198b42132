"""Configuration, database, clock and errors shared by every Kokous package."""
