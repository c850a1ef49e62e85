"""Subcommands in modules of their own (as pre-commit's `commands/`): plain functions, plain
data in and out, or a click command that cli.py adds to its group."""
