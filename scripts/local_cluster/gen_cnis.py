#!/usr/bin/env python3
"""Write scripts/local_cluster/cnis.txt, the local cluster's view of the project's CNI table.

scripts/local-cluster is bash and cannot read netpol_conformance/cni.py, so the CNIs it runs
(``local=True``) and the node process each one needs (``local_agent``) are copied into a plain
table that is checked in. tests/local_cluster/test_scripts.py fails when the file and the table
differ; this script rewrites it:

    python3 scripts/local_cluster/gen_cnis.py           # rewrite cnis.txt
    python3 scripts/local_cluster/gen_cnis.py --check   # exit 1 when cnis.txt is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "cnis.txt"
NO_AGENT = "-"

HEADER = """\
# The CNIs that `scripts/local-cluster up --cni NAME` runs, and the node process (daemon) each
# one needs ("-": none). Generated from netpol_conformance/cni.py (PROFILES, fields `local` and
# `local_agent`) by scripts/local_cluster/gen_cnis.py: do not edit by hand.
"""


def render() -> str:
    """The text of cnis.txt for the CNI table of this checkout."""
    sys.path.insert(0, str(ROOT))  # this checkout's table, not an installed copy
    from netpol_conformance.cni import PROFILES

    rows = [(p.name, p.local_agent or NO_AGENT) for p in PROFILES.values() if p.local]
    width = max(len(name) for name, _ in rows) + 2
    return HEADER + "".join(f"{name:<{width}}{agent}\n" for name, agent in sorted(rows))


def main(argv: list[str]) -> int:
    if argv not in ([], ["--check"]):
        print("usage: gen_cnis.py [--check]", file=sys.stderr)
        return 2
    text = render()
    if argv == ["--check"]:
        if OUT.read_text() != text:
            regen = "python3 scripts/local_cluster/gen_cnis.py"
            print(f"{OUT} is out of date: run {regen}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
