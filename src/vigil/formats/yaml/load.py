"""``load_yaml_config``: vigil's YAML configuration format into the model.

The document is translated into a CIB ``<configuration>`` (``to_cib``)
and read by the same code that reads Pacemaker's CIB, so the two formats
cannot drift apart.  What the CIB reader reports is moved back to the YAML:
the file, line and column of the key the problem is about lead every
message, and an attribute renamed by the format (``rsc`` is ``resource``) is
called by its YAML name.

Only :class:`~vigil.errors.InputError` ever escapes, listing every problem.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from yaml.error import Mark

from vigil.errors import InputError, Problem
from vigil.formats.cib.config import load_configuration
from vigil.formats.cib.reader import Element, Reader
from vigil.formats.yaml.build import Positions
from vigil.formats.yaml.source import parse_yaml
from vigil.formats.yaml.to_cib import translate
from vigil.model.config import Config

EMPTY_HINT = "write at least one section, e.g. 'resources: []' (see docs/configuration.md)"


def load_yaml_config(source: Path | bytes | str, name: str | None = None) -> tuple[Config, list[str]]:
    """Read a YAML configuration from a file, bytes or text; return the model and the warnings.

    ``name`` is the file name used in messages (default: the path's name, or
    ``<yaml>``).  Raises ``InputError`` listing every problem.
    """
    filename = name or (source.name if isinstance(source, Path) else "<yaml>")
    data = _read(source, filename)
    root = parse_yaml(data, filename)
    if root is None:
        raise InputError([Problem(f"{filename}:1", f"the configuration is empty: {EMPTY_HINT}")])
    try:
        configuration, positions, translation = translate(root, filename)
        reader = YamlReader(filename, positions)
        reader.index_ids(configuration)
        config = load_configuration(reader, configuration)
    except RecursionError:
        message = "the configuration is nested too deeply (rules within rules?): flatten it"
        raise InputError([Problem(filename, message)]) from None
    problems = translation.problems + reader.located_problems
    if problems:
        raise InputError([problem for _, problem in sorted(problems, key=lambda item: item[0])])
    warnings = reader.warnings()
    return replace(config, warnings=tuple(warnings)), warnings


def _read(source: Path | bytes | str, filename: str) -> bytes | str:
    if not isinstance(source, Path):
        return source
    try:
        return source.read_bytes()
    except OSError as error:
        raise InputError(
            [Problem(filename, f"cannot read the configuration: {error.strerror or error}")]
        ) from None


class YamlReader(Reader):
    """A CIB reader whose messages point into the YAML document the CIB came from."""

    def __init__(self, filename: str, positions: Positions) -> None:
        super().__init__(filename)
        self.positions = positions
        self.located_problems: list[tuple[tuple[int, int], Problem]] = []

    def where(self, element: Element) -> str:
        return self._where(self._mark(element))

    def problem(self, element: Element, message: str) -> None:
        if element in self.positions.reported:
            return
        mark, message = self._locate(element, message)
        problem = Problem(self._where(mark), _in_yaml_words(message))
        if problem not in self.problems:
            self.problems.append(problem)
            position = (mark.line, mark.column) if mark is not None else (0, 0)
            self.located_problems.append((position, problem))

    def check_id(self, element: Element, ident: str) -> None:
        """Only the ids the user wrote: a generated one is made of them, and was checked through them."""
        if "id" in self.positions.attributes.get(element, {}):
            super().check_id(element, ident)

    def _where(self, mark: Mark | None) -> str:
        return self.filename if mark is None else f"{self.filename}:{mark.line + 1}:{mark.column + 1}"

    def _mark(self, element: Element) -> Mark | None:
        return self.positions.elements.get(element)

    def _locate(self, element: Element, message: str) -> tuple[Mark | None, str]:
        """The key the message is about (the first attribute it names), in YAML words."""
        found: tuple[int, str] | None = None
        origins = self.positions.attributes.get(element, {})
        for attribute in origins:
            match = re.search(rf"(?<![\w-]){re.escape(attribute)}(?![\w-])", message)
            if match is not None and (found is None or match.start() < found[0]):
                found = (match.start(), attribute)
        if found is None:
            return self._mark(element), message
        origin = origins[found[1]]
        if origin.key != found[1]:
            start = found[0]
            # "rsc 'x' does not ..." reads "resource: 'x' does not ..."
            renamed = f"{origin.key}:" if start == 0 else origin.key
            message = message[:start] + renamed + message[start + len(found[1]) :]
        return origin.mark, message


# What the CIB elements a YAML user may hear about are called in YAML.
_YAML_WORDS = {
    "primitive": "a resource",
    "group": "a group",
    "clone": "a clone",
    "node": "a node",
    "op": "an op",
    "rsc_location": "a location",
    "rsc_colocation": "a colocation",
    "rsc_order": "an order",
    "rule": "a rule",
    "expression": "an expression",
    "date_expression": "an expression",
    "rsc_expression": "an expression",
    "op_expression": "an expression",
    "date_spec": "a date-spec",
    "fencing-level": "a fencing level",
    "alert": "an alert",
    "recipient": "a recipient",
    "attribute": "a selected attribute",
    "cluster_property_set": "a set",
    "meta_attributes": "a set",
    "instance_attributes": "a set",
    "utilization": "a set",
}


def _in_yaml_words(message: str) -> str:
    """The duplicate-id message names the first user by its CIB element: name it as YAML does."""

    def word(match: re.Match[str]) -> str:
        tag = match[1]
        return "already used by " + _YAML_WORDS.get(tag, f"<{tag}>")

    message = re.sub(r"already used by <([\w-]+)>", word, message)
    return message.replace("within <configuration>", "in the configuration")
