"""The Pacemaker CIB XML adapter.

Reading lives in ``load`` (``load_cib``, with ``reader``, ``stream``,
``rules``, ``resources``, ``config``, ``alerts``, ``status``); writing in
``dump`` (``dump_cib``) and ``dump_status``.  Import from those modules: a
``vigil simulate`` that only reads must not pay for the writer.
"""
