"""Tools for testing vigil, shipped so that users can use them too.

- :class:`ScriptedExecutor`: agents that answer from a script, at once (as
  httpx ships its ``MockTransport``);
- :class:`FakeClock`: time that moves only when told, so the controller's
  timers run in milliseconds;
- ``vigil.testing.gen_cluster``: random, reproducible Pacemaker CIBs (see its
  docstring); the differential harness that feeds them to both schedulers
  is ``scripts/diffharness.py``, run by ``scripts/differential.py`` and
  ``tests/differential``.
"""

from vigil.testing.clock import FakeClock
from vigil.testing.executor import ScriptedExecutor

__all__ = ["FakeClock", "ScriptedExecutor"]
