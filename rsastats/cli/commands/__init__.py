"""One module per ``rsastats`` subcommand (see ``rsastats.cli.SUBCOMMANDS``)."""
