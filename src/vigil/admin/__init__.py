"""The operator's commands: configuration edits (pure), status reports (pure), and their orchestration.

``edits``, ``tree``, ``report``, ``failcounts``, ``history``, ``status_text``
and ``metrics`` are pure functions of the configuration, a snapshot and the
time; ``commands`` applies them to the store (compare-and-set) and pokes the
controller.  The REST API and the CLI are thin layers over them.
"""
