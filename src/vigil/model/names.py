"""What may be an id, and what may be an agent's name.

Ids and agent names end up in file names and paths: a resource id is an
agent's ``OCF_RESOURCE_INSTANCE`` (vigil's own agents name their pid files
after it), and ``ocf:PROVIDER:TYPE`` is the file
``resource.d/PROVIDER/TYPE``.  A name that can hold ``/`` or ``..`` would let
whoever writes the configuration pick a file anywhere to run or write, so
both are held to syntaxes that cannot:

- an id is an XML NCName, the syntax Pacemaker's schema gives ids
  (``xsd:ID``): a letter or ``_``, then letters, digits, ``_``, ``-`` and
  ``.``.  No ``:`` either, which vigil keeps for clone instances
  (``web:0``);
- an agent's provider, type or name is one plain file name: letters,
  digits and ``_ . + @ -``, not starting with ``.`` or ``-``.
"""

from __future__ import annotations

import re

# \w without the digits is a letter or "_": NCName's first character.
_ID = re.compile(r"[^\W\d][\w.-]*")
_AGENT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+@-]*")

ID_SYNTAX = "an id starts with a letter or '_' and holds only letters, digits, '_', '-' and '.'"
AGENT_NAME_SYNTAX = "a plain name of letters, digits and '_.+@-' (no '/', not starting with '.' or '-')"


def is_valid_id(text: str) -> bool:
    """Whether ``text`` is an id Pacemaker's schema accepts (and that no path can be built from)."""
    return _ID.fullmatch(text) is not None


def is_plain_name(text: str) -> bool:
    """Whether ``text`` names one file in a directory, and only that."""
    return _AGENT_NAME.fullmatch(text) is not None


def id_problem(ident: str) -> str | None:
    """Why ``ident`` cannot be an id, or None when it can."""
    if is_valid_id(ident):
        return None
    return f"id {ident!r} is not a valid id: {ID_SYNTAX} (Pacemaker's id syntax); rename it"


def agent_name_problem(agent: str, part: str, value: str) -> str | None:
    """Why ``value``, the ``part`` (provider, type) of ``agent``, cannot name an agent; None when it can."""
    if is_plain_name(value):
        return None
    return (f"agent {agent!r}: its {part} {value!r} is not {AGENT_NAME_SYNTAX}:"
            " an agent is found by its name in its class's directory")
