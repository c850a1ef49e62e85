"""Subcommands kept in modules of their own (as pre-commit's `commands/`): each registers a
click command that cli.py adds to its group."""
