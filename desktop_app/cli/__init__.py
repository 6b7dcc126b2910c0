"""The ``iris`` command line: subcommands that never load Qt."""
