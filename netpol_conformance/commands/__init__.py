"""The subcommands of `netpol-conformance`, one module each: ``add_parser`` and its run."""
