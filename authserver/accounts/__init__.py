"""People who log in: their records, their passwords and the checks on each login."""
