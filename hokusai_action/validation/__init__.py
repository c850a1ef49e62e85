"""Validation: a manifest's YAML in, Problem values with file, line and column out.

Imports nothing heavy: the pre-commit hook runs this part on every commit.
"""
