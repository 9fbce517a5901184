"""A configuration file in either format: Pacemaker CIB XML or vigil's YAML.

The format is told by the content, not the name (an XML document starts
with ``<``; nothing else in a YAML configuration can), so a file piped in,
uploaded through the API or saved under any name loads the same.  The name
only helps the message when the content and the extension disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from vigil.errors import InputError, Problem
from vigil.formats.cib.load import load_cib
from vigil.formats.yaml.load import load_yaml_config
from vigil.model.config import Config

Format = Literal["xml", "yaml"]
_EXTENSIONS: dict[str, Format] = {".xml": "xml", ".cib": "xml", ".yaml": "yaml", ".yml": "yaml"}


def load_config_file(path: Path) -> tuple[Config, list[str]]:
    """Read the configuration in ``path``; return it and the warnings.  Raises ``InputError``."""
    try:
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError([Problem(str(path), f"cannot read the configuration file: {reason}")]) from None
    return load_config_data(data, str(path))


def load_config_data(data: bytes | str, name: str) -> tuple[Config, list[str]]:
    """Read a configuration from its text (e.g. a file uploaded to the API); ``name`` is used in messages.

    From a CIB only the ``<configuration>`` is taken; a ``<status>`` section
    is ignored with a warning.
    """
    found = detect_format(data)
    try:
        if found == "xml":
            raw = data.encode() if isinstance(data, str) else data
            cluster, warnings = load_cib(raw, name, with_status=False)
            return cluster.config, warnings
        return load_yaml_config(data, name)
    except InputError as error:
        raise InputError(_explain_format(name, found) + error.problems) from None


def detect_format(data: bytes | str) -> Format:
    """``xml`` when the first character that is not white space is ``<``, else ``yaml``."""
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n") if isinstance(data, bytes) else data.lstrip("\ufeff \t\r\n")
    first = text[:1]
    return "xml" if first in (b"<", "<") else "yaml"


def _explain_format(name: str, found: Format) -> list[Problem]:
    """A first line when the extension promised the other format, so the errors make sense."""
    suffix = Path(name).suffix.lower()
    expected = _EXTENSIONS.get(suffix)
    if expected is None or expected == found:
        return []
    if found == "yaml":
        message = f"the name ends in {suffix} but the content does not start with '<': it was read as YAML"
    else:
        message = f"the name ends in {suffix} but the content starts with '<': it was read as CIB XML"
    return [Problem(name, message)]
