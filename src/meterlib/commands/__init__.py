"""Subcommands of the ``meterlib`` command line, one module each."""
