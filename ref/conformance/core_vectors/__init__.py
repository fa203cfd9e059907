"""Golden-vector definitions for ref/core (systems keep theirs in their own package)."""
