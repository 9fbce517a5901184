"""The file formats, at the edge: the only code that knows CIB XML or YAML.

``cib`` reads and writes Pacemaker's CIB (configuration and status), ``yaml``
vigil's readable configuration; ``config_file`` tells a file's format by its
content.  Both directions turn text into the domain model (:mod:`vigil.model`)
and back; nothing below this package imports it.
"""
