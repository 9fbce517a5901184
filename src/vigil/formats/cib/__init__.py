"""The Pacemaker CIB XML adapter: ``load_cib`` and ``dump_cib``.

Reading lives in ``load`` (with ``reader``, ``stream``, ``rules``,
``resources``, ``config``, ``alerts``, ``status``); writing in ``dump`` and
``dump_status``.
"""

from __future__ import annotations

from vigil.formats.cib.dump import dump_cib
from vigil.formats.cib.load import load_cib

__all__ = ["dump_cib", "load_cib"]
