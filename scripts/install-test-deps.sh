#!/usr/bin/env bash
# Install what `make test` needs:
#   - Pacemaker's crm_simulate (Debian package pacemaker-cli-utils), the oracle
#     of the differential tests, only when it is missing;
#   - Debian's resource agents (resource-agents, pacemaker-resource-agents),
#     which the executor tests run, only when they are missing;
#   - what the event tests run for real, only when missing: haproxy (a backend
#     put in maint through its admin socket) and fence-agents (fence_dummy);
#     Pacemaker's sample alert agents come with pacemaker-common, which
#     pacemaker-cli-utils brings;
#   - Debian's chromium, only when missing: tests/web drives the web page in it
#     (Playwright, from the test extras, with the system browser);
#   - Debian's etcd-server (and etcd-client, for etcdctl), only when missing:
#     the store tests start their own etcd on 127.0.0.1 with free ports (never
#     2379, where the package's own etcd.service may listen);
#   - Debian's redis-server, only when missing: a promotable ocf:heartbeat:redis
#     runs on three nodes of a local cluster (tests/cluster);
#   - systemd and dbus-daemon, only when missing: the systemd class's tests
#     run a private `systemd --user` with its own D-Bus daemon (as root, in a
#     mount namespace: vigil.testing.systemd), whether or not PID 1 is systemd;
#   - vigil with its test extras, editable, into the virtual environment
#     (redone only when pyproject.toml changed since the last install).
# Runs unattended (CI=true, no stdin): apt is noninteractive, sudo never prompts.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${VENV:-.venv}

have_crm_simulate() {
    command -v crm_simulate >/dev/null 2>&1 || [ -x /usr/sbin/crm_simulate ]
}

if ! have_crm_simulate; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-test-deps: crm_simulate is missing and there is no apt-get;" \
             "install Pacemaker's command line tools (crm_simulate) and run again" >&2
        exit 1
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "install-test-deps: not root and no sudo: install pacemaker-cli-utils as root" >&2
            exit 1
        fi
        sudo="sudo -n"
    fi
    echo "install-test-deps: installing pacemaker-cli-utils (crm_simulate)"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q
    $sudo apt-get install -y -q --no-install-recommends pacemaker-cli-utils
    have_crm_simulate || { echo "install-test-deps: crm_simulate still missing after install" >&2; exit 1; }
fi

# Debian's resource agents, run unmodified by the executor tests
# (ocf:heartbeat:Dummy, ocf:pacemaker:Dummy and Stateful; cluster-glue, a
# dependency, brings the /etc/init.d/logd script whose status they read),
# and what the event tests run: haproxy, fence_dummy, the alert samples.
agent_packages() {
    [ -x /usr/lib/ocf/resource.d/heartbeat/Dummy ] || echo resource-agents
    [ -x /usr/lib/ocf/resource.d/pacemaker/Stateful ] || echo pacemaker-resource-agents
    [ -x /usr/sbin/haproxy ] || echo haproxy
    [ -x /usr/sbin/fence_dummy ] || echo fence-agents
    # ocf:pacemaker:ping pings with it (tests/tools: pingd and a rule on it).
    command -v ping >/dev/null 2>&1 || echo iputils-ping
    [ -f /usr/share/pacemaker/alerts/alert_file.sh.sample ] || echo pacemaker-common
    command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ] || echo etcd-server
    command -v etcdctl >/dev/null 2>&1 || [ -x /usr/bin/etcdctl ] || echo etcd-client
    [ -x /usr/lib/systemd/systemd ] || echo systemd
    command -v dbus-daemon >/dev/null 2>&1 || [ -x /usr/bin/dbus-daemon ] || echo dbus-daemon
    # tests/cluster runs a promotable ocf:heartbeat:redis with Debian's redis-server (the package
    # does not start its own service where policy-rc.d forbids it, as in containers).
    command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || echo redis-server
    # The web page's tests drive Debian's chromium through Playwright (no browser download).
    [ -x /usr/bin/chromium ] || echo chromium
}
missing_agents=$(agent_packages)
if [ -n "$missing_agents" ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-test-deps: resource agents are missing and there is no apt-get;" \
             "install" $missing_agents "(or your system's equivalent)" >&2
        exit 1
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "install-test-deps: not root and no sudo: install" $missing_agents "as root" >&2
            exit 1
        fi
        sudo="sudo -n"
    fi
    echo "install-test-deps: installing" $missing_agents "(Debian's agents, haproxy, etcd, systemd)"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q
    # shellcheck disable=SC2086  # one word per package
    $sudo apt-get install -y -q --no-install-recommends $missing_agents
    if [ -n "$(agent_packages)" ]; then
        echo "install-test-deps: resource agents still missing after install" >&2
        exit 1
    fi
fi

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
stamp="$venv/.test-deps-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -e '.[test]'
    touch "$stamp"
fi
