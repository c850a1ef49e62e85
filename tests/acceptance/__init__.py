"""Acceptance tests: the project run end to end by the tools users run it with."""
