"""One module per subcommand that needs more than a few lines: plain functions, plain data
in and out; cli.py parses the options and prints what they return."""
