"""vigil's YAML configuration: Pacemaker's concepts under their names, without XML or ids.

``load`` reads it (``source`` keeps line and column for every problem,
``to_cib`` translates it to the CIB the reader knows, ``build`` and ``alerts``
help); ``dump`` writes a configuration as YAML (``dump_base``); ``vocabulary``
is the keys and generated ids both directions share.
"""
