"""What every tool shares: Pacemaker's exit codes, option parsing, errors, the node an agent acts for.

Errors end a tool with one line on stderr, ``TOOL: message``, and the exit
code Pacemaker's tool would give (``crm_exit_t``): agents test both.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

# Pacemaker's exit codes (crm_exit_t) that these tools give.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INVALID_PARAM = 2
EXIT_INSUFFICIENT_PRIV = 4
EXIT_USAGE = 64
EXIT_NOT_CONNECTED = 102
EXIT_NOSUCH = 105
EXIT_TIMEOUT = 124

# Where the Pacemaker executor tells an agent which node it runs on; the tools act for that node.
ON_NODE_ENV = "OCF_RESKEY_CRM_meta_on_node"
# What a node option may say to mean "this node" (Pacemaker's pcmk__node_attr_target).
LOCAL_NAMES = ("auto", "localhost")
VERSION_LINE = "Pacemaker 2.1.5 (vigil)"


class ToolError(Exception):
    """Ends a tool: ``message`` on stderr (after the tool's name), ``exit_code`` as its status."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class Parser(argparse.ArgumentParser):
    """argparse, with Pacemaker's usage exit code (64) instead of argparse's 2, and no abbreviations."""

    def __init__(self, prog: str, description: str, help_flags: tuple[str, ...] = ("-h", "--help")) -> None:
        super().__init__(prog=prog, description=description, allow_abbrev=False, add_help=False)
        self.add_argument(*help_flags, action="help", help="Show this help and exit.")
        self.add_argument("-V", "--verbose", action="count", default=0, help="Accepted.")
        self.add_argument("-$", "--version", action="store_true", help="Print the version and exit.")

    def error(self, message: str) -> NoReturn:
        raise ToolError(f"{message} (see {self.prog} --help)", EXIT_USAGE)

    def parse(self, argv: Sequence[str]) -> argparse.Namespace:
        """The options; ``--version`` prints the version and ends the tool."""
        options = self.parse_args(list(argv))
        if options.version:
            print(VERSION_LINE)
            raise SystemExit(EXIT_OK)
        return options


def local_target(given: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The node named by a ``--node`` option, or the node the agent runs on (None: ask the daemon).

    ``auto``, ``localhost`` and no option at all mean the agent's own node:
    ``OCF_RESKEY_CRM_meta_on_node`` when the executor set it, else the node
    whose daemon answers (None here).
    """
    env = os.environ if environ is None else environ
    if given is not None and given not in LOCAL_NAMES:
        return given
    return env.get(ON_NODE_ENV) or None


def run(name: str, main: Callable[[list[str]], int], argv: Sequence[str]) -> int:
    """Run one tool's ``main``; a ToolError is printed as ``name: message`` and becomes the exit code."""
    try:
        return main(list(argv))
    except ToolError as error:
        print(f"{name}: {error.message}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        # The reader went away (`| head`): nothing more to say.
        return EXIT_OK


def emit(text: str) -> None:
    """Print ``text`` (a line) on stdout."""
    print(text)


def first_set(*pairs: tuple[str, Any]) -> str | None:
    """The name of the first pair whose value is set (the command given)."""
    for name, value in pairs:
        if value is not None and value is not False:
            return name
    return None
