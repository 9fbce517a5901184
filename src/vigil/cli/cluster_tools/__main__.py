"""``python -m vigil.cli.cluster_tools NAME ARGS...``: run one of the tools (the daemon's shims do this).

Only the tool asked for is imported.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

from vigil.cli.cluster_tools import TOOLS
from vigil.cli.cluster_tools.common import EXIT_USAGE, run

# The tool -> "module:function" that runs it (crm_master is crm_attribute's wrapper).
ENTRY_POINTS = {name: f"vigil.cli.cluster_tools.{name}:main" for name in TOOLS}
ENTRY_POINTS["crm_master"] = "vigil.cli.cluster_tools.crm_attribute:master_main"


def entry_point(name: str) -> Callable[[list[str]], int]:
    module, _, function = ENTRY_POINTS[name].partition(":")
    found: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ENTRY_POINTS:
        print(f"usage: python -m vigil.cli.cluster_tools {{{','.join(TOOLS)}}} ARGS...", file=sys.stderr)
        return EXIT_USAGE
    return run(args[0], entry_point(args[0]), args[1:])


if __name__ == "__main__":
    sys.exit(main())
