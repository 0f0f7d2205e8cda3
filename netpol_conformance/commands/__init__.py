"""The subcommands of `netpol-conformance`: one module each, with ``add_parser`` and ``run``."""
