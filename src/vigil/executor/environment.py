"""The environment an OCF agent runs with, built as Pacemaker builds it.

Pacemaker's executor (``add_action_env_vars()`` in ``services_linux.c``)
sets, on top of its own inherited environment:

- ``OCF_RA_VERSION_MAJOR``/``MINOR`` (1, 1), ``OCF_ROOT``,
  ``OCF_EXIT_REASON_PREFIX`` (``ocf-exit-reason:``),
  ``OCF_RESOURCE_INSTANCE``, ``OCF_RESOURCE_TYPE``, ``OCF_RESOURCE_PROVIDER``;
- every instance parameter ``K`` as ``OCF_RESKEY_K`` (except
  ``OCF_CHECK_LEVEL``, set under its own name), ``crm_feature_set``
  included;
- every meta attribute as ``OCF_RESKEY_CRM_meta_K`` with ``-`` turned into
  ``_``: the resource's and the operation's meta attributes, the clone data,
  ``timeout``, ``on_node``, ``on_node_uuid``, and whatever the transition
  attached (vigil's stop context: ``stop_reason``, ``stop_final`` ...).

One difference, on purpose: Pacemaker sets ``CRM_meta_name`` and
``CRM_meta_interval`` only for operations configured in the CIB; vigil always
sets them (``interval`` 0 is what ocf-shellfuncs assumes when it is missing).

vigil's own environment is inherited, minus any ``OCF_*`` variable (a stray
``OCF_RESKEY_x`` in an operator's shell must not reach an agent).  ``vigil
run`` adds its commands for agents (``attrd_updater``, ``crm_attribute``
...): first in ``PATH``, as ``HA_SBIN_DIR`` (where ``ocf-shellfuncs`` looks
for them), and ``VIGIL_STATE_DIR`` (how they reach this node's daemon); see
:func:`with_cluster_tools` and :mod:`vigil.executor.cluster_tools`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from vigil.executor.request import ActionRequest
from vigil.model.booleans import is_true

OCF_RA_VERSION = ("1", "1")
EXIT_REASON_PREFIX = "ocf-exit-reason:"
DEFAULT_OCF_ROOT = "/usr/lib/ocf"
# The feature set Pacemaker 2.1.5 reports; agents compare it to pick behaviour.
CRM_FEATURE_SET = "3.16.1"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CHECK_LEVEL = "OCF_CHECK_LEVEL"
META_PREFIX = "OCF_RESKEY_CRM_meta_"

# The variables Pacemaker documents for OCF agents (Pacemaker Administration,
# "OCF Environment Variables"), besides OCF_RESKEY_<param> and
# OCF_RESKEY_CRM_meta_<meta>.  Used to check that vigil sets nothing else.
PACEMAKER_OCF_VARIABLES = frozenset(
    {
        "OCF_CHECK_LEVEL",
        "OCF_EXIT_REASON_PREFIX",
        "OCF_RA_VERSION_MAJOR",
        "OCF_RA_VERSION_MINOR",
        "OCF_RESKEY_crm_feature_set",
        "OCF_RESOURCE_INSTANCE",
        "OCF_RESOURCE_PROVIDER",
        "OCF_RESOURCE_TYPE",
        "OCF_ROOT",
        "OCF_TRACE_FILE",
        "OCF_TRACE_RA",
        "PCMK_DEBUGLOG",
        "HA_DEBUGLOG",
        "PCMK_LOGFACILITY",
        "HA_LOGFACILITY",
        "PCMK_LOGFILE",
        "HA_LOGFILE",
        "PCMK_service",
    }
)

_CLONE_SUFFIX = re.compile(r":\d+$")


def ocf_root(environ: Mapping[str, str] | None = None) -> Path:
    """``$OCF_ROOT``, else Debian's (and Pacemaker's) ``/usr/lib/ocf``."""
    env = os.environ if environ is None else environ
    return Path(env.get("OCF_ROOT") or DEFAULT_OCF_ROOT)


def meta_variable(name: str) -> str:
    """``migration-threshold`` -> ``OCF_RESKEY_CRM_meta_migration_threshold``."""
    if name.startswith("CRM_meta_"):
        name = name[len("CRM_meta_") :]
    return META_PREFIX + name.replace("-", "_")


def param_variable(name: str) -> str:
    """``ip`` -> ``OCF_RESKEY_ip``; ``OCF_CHECK_LEVEL`` stays as it is."""
    return name if name == CHECK_LEVEL else "OCF_RESKEY_" + name


def instance_name(request: ActionRequest) -> str:
    """The name the agent sees as ``OCF_RESOURCE_INSTANCE``.

    An anonymous clone's instances are interchangeable, so Pacemaker gives
    the agent the primitive's id without ``:N``; a globally unique clone's
    instances keep it.
    """
    if request.instance is not None:
        return request.instance
    meta = request.meta_dict
    is_clone_instance = "clone" in meta or "clone_max" in meta or "clone-max" in meta
    unique = meta.get("globally_unique", meta.get("globally-unique"))
    if is_clone_instance and not is_true(unique):
        return _CLONE_SUFFIX.sub("", request.resource_id)
    return request.resource_id


def clone_meta(
    number: int,
    clone_max: int,
    clone_node_max: int = 1,
    *,
    globally_unique: bool = False,
    notify: bool = False,
    promoted_max: int | None = None,
    promoted_node_max: int | None = None,
) -> dict[str, str]:
    """The clone meta attributes Pacemaker attaches to a clone instance's actions."""
    meta = {
        "clone": str(number),
        "clone_max": str(clone_max),
        "clone_node_max": str(clone_node_max),
        "globally_unique": "true" if globally_unique else "false",
        "notify": "true" if notify else "false",
    }
    if promoted_max is not None:
        meta["promotable"] = "true"
        meta["promoted_max"] = str(promoted_max)
        meta["promoted_node_max"] = str(promoted_node_max if promoted_node_max is not None else 1)
        # Deprecated names, still read by older agents (ocf_is_ms).
        meta["master_max"] = meta["promoted_max"]
        meta["master_node_max"] = meta["promoted_node_max"]
    return meta


def agent_variables(request: ActionRequest, root: Path) -> dict[str, str]:
    """The variables vigil sets for an OCF agent's action (nothing inherited).

    Order of precedence, lowest first: instance parameters, meta attributes,
    the executor's own meta (timeout, interval, name, node), the fixed OCF
    variables: an agent is never told a timeout other than the one enforced.
    """
    env: dict[str, str] = {}
    params = request.params_dict
    params.setdefault("crm_feature_set", CRM_FEATURE_SET)
    for key, value in params.items():
        env[param_variable(key)] = value
    for key, value in request.meta:
        env[meta_variable(key)] = value
    env[META_PREFIX + "timeout"] = str(request.timeout_ms)
    env[META_PREFIX + "interval"] = str(request.interval_ms)
    env[META_PREFIX + "name"] = request.action
    if request.node_name:
        env[META_PREFIX + "on_node"] = request.node_name
    if request.node_uuid or request.node_name:
        env[META_PREFIX + "on_node_uuid"] = request.node_uuid or request.node_name
    env["OCF_RA_VERSION_MAJOR"], env["OCF_RA_VERSION_MINOR"] = OCF_RA_VERSION
    env["OCF_ROOT"] = str(root)
    env["OCF_EXIT_REASON_PREFIX"] = EXIT_REASON_PREFIX
    env["OCF_RESOURCE_INSTANCE"] = instance_name(request)
    env["OCF_RESOURCE_TYPE"] = request.agent.type
    if request.agent.provider is not None:
        env["OCF_RESOURCE_PROVIDER"] = request.agent.provider
    return env


def metadata_variables(request: ActionRequest, root: Path) -> dict[str, str]:
    """The smaller set for ``meta-data``: Pacemaker names the instance after the type."""
    env = {
        "OCF_RA_VERSION_MAJOR": OCF_RA_VERSION[0],
        "OCF_RA_VERSION_MINOR": OCF_RA_VERSION[1],
        "OCF_ROOT": str(root),
        "OCF_EXIT_REASON_PREFIX": EXIT_REASON_PREFIX,
        "OCF_RESOURCE_INSTANCE": request.agent.type,
        "OCF_RESOURCE_TYPE": request.agent.type,
        META_PREFIX + "timeout": str(request.timeout_ms),
    }
    if request.agent.provider is not None:
        env["OCF_RESOURCE_PROVIDER"] = request.agent.provider
    return env


# ocf-shellfuncs runs ${HA_SBIN_DIR}/attrd_updater, crm_attribute ...
HA_SBIN_DIR = "HA_SBIN_DIR"
# How vigil's commands for agents find this node's daemon (vigil.daemon.statedir.STATE_DIR_ENV).
STATE_DIR_ENV = "VIGIL_STATE_DIR"


def with_cluster_tools(environ: Mapping[str, str], tools_dir: Path,
                       state_dir: Path | None = None) -> dict[str, str]:
    """``environ`` with vigil's commands for agents in ``tools_dir`` first in ``PATH`` and as
    ``HA_SBIN_DIR``, and ``VIGIL_STATE_DIR`` set to ``state_dir`` (when given).

    Agents run ``attrd_updater`` and the rest either by name or as
    ``${HA_SBIN_DIR}/crm_attribute``: both find vigil's, never Pacemaker's.
    """
    env = dict(environ)
    directory = str(tools_dir)
    rest = [part for part in env.get("PATH", DEFAULT_PATH).split(":") if part and part != directory]
    env["PATH"] = ":".join([directory, *rest])
    env[HA_SBIN_DIR] = directory
    if state_dir is not None:
        env[STATE_DIR_ENV] = str(state_dir)
    return env


def inherited_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """vigil's own environment, minus ``OCF_*``, with a usable ``PATH``."""
    env = dict(os.environ if environ is None else environ)
    for key in [k for k in env if k.startswith("OCF_")]:
        del env[key]
    env.setdefault("PATH", DEFAULT_PATH)
    return env
