"""The Pacemaker CIB XML adapter: ``load_cib`` and ``dump_cib``.

Reading lives in ``cib_load`` (with ``cib_reader``, ``cib_rules``,
``cib_resources``, ``cib_config``, ``cib_status``); writing in ``cib_dump``
and ``cib_dump_status``.
"""

from __future__ import annotations

from vigil.model.cib_dump import dump_cib
from vigil.model.cib_load import load_cib

__all__ = ["dump_cib", "load_cib"]
