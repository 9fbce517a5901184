"""``vigil config show`` and ``vigil config load``: the whole configuration in and out.

A configuration is parsed and checked in full before anything is stored, so
a bad file is rejected with every problem (with its line) and the stored
configuration is left as it was.  Loading is one compare-and-set: against
the revision the caller read (``If-Match``) when one is given, else against
the one just read (retried if another writer got in between).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from vigil.admin.commands import CAS_ATTEMPTS, Admin, CommandResult
from vigil.admin.errors import AdminError, BadConfiguration, Conflict
from vigil.admin.intake import Findings, check_replacement, with_node
from vigil.errors import InputError, Problem
from vigil.formats.cib.dump import dump_cib
from vigil.formats.yaml.dump import dump_yaml_config
from vigil.model.cluster import Cluster
from vigil.model.config import Config
from vigil.model.status import Status
from vigil.store.base import RevisionConflict, Store

# Parses configuration text (CIB XML or YAML): (config, warnings), or InputError.
ConfigParser = Callable[[bytes, str], tuple[Config, list[str]]]
# Checks a configuration against this node: the problems found (refused), and the warnings.
ConfigChecker = Callable[[Config], Awaitable[Findings]]

FORMATS = ("xml", "yaml")
def render_config(config: Config, fmt: str, revision: int = 1) -> str:
    """The configuration as CIB XML (its ``epoch`` the config revision, so that a newer export
    replaces an older one in Pacemaker) or YAML."""
    if fmt == "xml":
        cluster = Cluster(config=config, status=Status(), cib_attributes=(("epoch", str(max(1, revision))),))
        return dump_cib(cluster).decode()
    if fmt == "yaml":
        return dump_yaml_config(config)
    raise AdminError(f"unknown configuration format {fmt!r}: use {' or '.join(FORMATS)}")


async def show_config(store: Store, fmt: str) -> tuple[str, int]:
    """The stored configuration as text, and its revision."""
    config, revision = await store.get_config()
    return render_config(config, fmt, revision), revision


async def load_config(admin: Admin, data: bytes, name: str, parse: ConfigParser, check: ConfigChecker, *,
                      expected_revision: int | None = None) -> CommandResult:
    """Parse, check and store a whole configuration; :class:`BadConfiguration` lists every problem.

    A configuration that names no node gets ``admin.node`` (when it is set),
    but is refused over a stored configuration of several nodes
    (:func:`~vigil.admin.intake.check_replacement`, asked of the revision it
    would replace).
    """
    parsed, warnings = parse_or_refuse(data, name, parse)
    config = with_node(parsed, admin.node) if admin.node else parsed
    found = await check(config)
    if found.problems:
        raise BadConfiguration(f"{name}: {_count(found.problems)}; nothing was changed",
                               [str(problem) for problem in found.problems])
    warnings = [*warnings, *found.warnings]
    for _ in range(CAS_ATTEMPTS):
        current, revision = await admin.store.get_config()
        if expected_revision is not None and revision != expected_revision:
            raise Conflict(f"the configuration is at revision {revision}, not {expected_revision}: "
                           "someone changed it since you read it; nothing was changed")
        if current == config:
            return CommandResult(f"{name}: the same as the stored configuration; nothing changed", False,
                                 revision, tuple(warnings))
        refused = check_replacement(current, parsed, name)
        if refused:
            raise BadConfiguration(f"{name}: cannot replace the cluster's configuration; nothing was changed",
                                   [str(problem) for problem in refused])
        try:
            new_revision = await admin.store.put_config(config, revision)
        except RevisionConflict:
            if expected_revision is not None:
                raise Conflict("the configuration changed while it was being loaded; nothing was changed") \
                    from None
            continue
        admin.poke(f"configuration loaded from {name}")
        return CommandResult(f"{name}: configuration loaded (revision {new_revision})", True, new_revision,
                             tuple(warnings))
    raise Conflict(f"the configuration kept changing while {name} was loaded ({CAS_ATTEMPTS} attempts); "
                   "nothing was changed: try again")


def parse_or_refuse(data: bytes, name: str, parse: ConfigParser) -> tuple[Config, list[str]]:
    """The configuration and its warnings; :class:`BadConfiguration` listing every problem."""
    try:
        return parse(data, name)
    except InputError as error:
        raise BadConfiguration(f"{name}: {_count(error.problems)}; nothing was changed",
                               [str(problem) for problem in error.problems]) from None


def _count(problems: list[Problem]) -> str:
    return f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
