"""YAML text into nodes that remember their line, and checked access to them.

PyYAML's composed nodes (not constructed Python values) are used on purpose:
each carries the line and column it came from, so every problem can point at
the exact key or value; and a scalar keeps the text the user wrote, so
``stonith-enabled: no`` stays ``"no"`` and ``interval: 010`` stays ``"010"``
instead of being turned into a Python bool or int first.

:class:`Source` collects every problem (each with its position) instead of
stopping at the first, so a user can fix a whole file in one pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import yaml
from yaml.error import Mark, MarkedYAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from vigil.errors import InputError, Problem

NULL_TAG = "tag:yaml.org,2002:null"

# PyYAML's wording for common mistakes, and what to do about each.
_SYNTAX_HINTS = (
    ("mapping values are not allowed", "check the indentation, or quote a value that contains ': '"),
    ("could not find expected ':'", "check the indentation and that every key ends with ':'"),
    ("expected a single document", "the file holds several YAML documents (---): keep only one"),
    ("found undefined alias", "aliases (*name) are not supported: write the value out in full"),
)
_TAB_HINT = "YAML does not allow tabs for indentation: indent with spaces"
# libyaml's parser where it is installed (ten times faster), else PyYAML's own.
_Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(data: bytes | str, filename: str) -> Node | None:
    """The document's root node (None for an empty document); InputError on bad syntax.

    The nodes are composed, not constructed, so every value keeps its text
    and position.  Aliases are refused: an alias repeats a node without
    repeating its text, so a short file could expand into an enormous
    configuration, and every copy would carry the same position.
    """
    text = _decode(data, filename) if isinstance(data, bytes) else data
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except MarkedYAMLError as error:
        raise InputError([_syntax_problem(error, text, filename)]) from None
    except yaml.YAMLError as error:
        # Reader errors (a character YAML forbids) carry an offset, not a mark.
        position = getattr(error, "position", None)
        where = filename if position is None else f"{filename}:{text.count(chr(10), 0, position) + 1}"
        raise InputError([Problem(where, f"invalid YAML: {error}; remove that character")]) from None
    except RecursionError:
        raise InputError([Problem(filename, "the YAML is nested too deeply to read")]) from None
    if root is not None:
        _reject_aliases(root, filename)
    return root


def _reject_aliases(root: Node, filename: str) -> None:
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            mark = node.start_mark
            raise InputError(
                [
                    Problem(
                        f"{filename}:{mark.line + 1}:{mark.column + 1}",
                        "this value is repeated through an alias (*name), which is not supported:"
                        " write the value out in full where the alias is",
                    )
                ]
            )
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                pending.extend((key, value))


def _decode(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        message = f"byte 0x{data[error.start]:02x} is not UTF-8 text: save the file as UTF-8"
        raise InputError([Problem(f"{filename}:{line}", message)]) from None


def _syntax_problem(error: MarkedYAMLError, text: str, filename: str) -> Problem:
    mark = error.problem_mark or error.context_mark
    where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark is not None else filename
    problem = error.problem or "malformed YAML"
    context = f" ({error.context})" if error.context else ""
    if mark is not None and _character_at(text, mark) == "\t":
        hint = _TAB_HINT
    else:
        found = (hint for needle, hint in _SYNTAX_HINTS if needle in problem + context)
        hint = next(found, "fix the YAML syntax there")
    return Problem(where, f"invalid YAML: {problem}{context}; {hint}")


def _character_at(text: str, mark: Mark) -> str:
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    return line[mark.column : mark.column + 1]


@dataclass(frozen=True)
class Entry:
    """One ``key: value`` of a mapping, with both nodes for positions."""

    key: str
    key_node: Node
    value: Node


@dataclass
class Mapping:
    """A checked YAML mapping: plain keys, each once, in document order."""

    node: Node
    entries: dict[str, Entry] = field(default_factory=dict)

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def get(self, key: str) -> Node | None:
        entry = self.entries.get(key)
        return None if entry is None else entry.value


def describe(node: Node) -> str:
    """What a node is, in the words a message about a wrong type needs."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == NULL_TAG:
        return "empty"
    return f"the value {node.value!r}"


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


class Source:
    """Collects problems with their YAML positions while a document is read."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[tuple[tuple[int, int], Problem]] = []

    def where(self, mark: Mark) -> str:
        return f"{self.filename}:{mark.line + 1}:{mark.column + 1}"

    def problem(self, node: Node, message: str) -> None:
        mark = node.start_mark
        problem = Problem(self.where(mark), message)
        if all(problem != known for _, known in self.problems):
            self.problems.append(((mark.line, mark.column), problem))

    def mapping(self, node: Node, what: str) -> Mapping | None:
        """``node`` as a mapping; a problem (and None) if it is not one."""
        if not isinstance(node, MappingNode):
            self.problem(node, f"{what} must be a mapping (key: value lines), not {describe(node)}")
            return None
        mapping = Mapping(node)
        for key_node, value in node.value:
            if not isinstance(key_node, ScalarNode) or is_null(key_node):
                self.problem(key_node, f"a key in {what} must be a plain name, not {describe(key_node)}")
                continue
            key = key_node.value
            first = mapping.entries.get(key)
            if first is not None:
                self.problem(
                    key_node,
                    f"duplicate key {key!r} in {what} (first at line {first.key_node.start_mark.line + 1}):"
                    " a key may appear once; keep one of them",
                )
                continue
            mapping.entries[key] = Entry(key, key_node, value)
        return mapping

    def sequence(self, node: Node, what: str) -> list[Node] | None:
        if not isinstance(node, SequenceNode):
            self.problem(node, f"{what} must be a list (lines starting with '- '), not {describe(node)}")
            return None
        return list(node.value)

    def text(self, node: Node, what: str) -> str | None:
        """A scalar's text exactly as written; a problem (and None) for anything else."""
        if isinstance(node, ScalarNode) and not is_null(node):
            return str(node.value)
        if is_null(node):
            self.problem(node, f'{what} has no value: write one ("" for an empty text)')
        else:
            self.problem(node, f"{what} must be a single value, not {describe(node)}")
        return None

    def check_keys(self, mapping: Mapping, allowed: Iterable[str], what: str) -> None:
        """A problem for every key ``what`` does not accept, naming the ones it does."""
        known = tuple(allowed)
        for entry in mapping:
            if entry.key in known:
                continue
            close = difflib.get_close_matches(entry.key, known, n=1)
            suggestion = f"; did you mean {close[0]!r}?" if close else ""
            self.problem(
                entry.key_node,
                f"unknown key {entry.key!r} in {what}{suggestion} (allowed: {', '.join(known)})",
            )

    def sorted_problems(self) -> list[Problem]:
        return [problem for _, problem in sorted(self.problems, key=lambda item: item[0])]
