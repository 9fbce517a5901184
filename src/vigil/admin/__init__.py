"""The operator's commands: configuration edits (pure) and their orchestration over a store.

``edits`` and ``tree`` are pure functions of the configuration; ``commands``
applies them to the store (compare-and-set), pokes the controller and builds
the reports (:mod:`vigil.output`) from one snapshot.  ``intake`` checks and
loads a configuration.  The REST API and the CLI are thin layers over them.
"""
