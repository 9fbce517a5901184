"""Tools for testing vigil against Pacemaker, shipped so that users can use them too.

``vigil.testing.gen_cluster`` generates random, reproducible Pacemaker CIBs
(see its docstring); the differential harness that feeds them to both
schedulers lives in ``tests/differential`` and ``scripts/differential.py``.
"""
