"""The cluster generator: reproducible, and valid input for Pacemaker 2.1.5.

Validity is checked with the real tools: ``crm_verify`` must find no errors
(warnings about fencing or failed resources are the point of the exercise),
and a cluster generated in steady state must make ``crm_simulate`` plan no
restart -- the proof that the operation digests are computed as Pacemaker
computes them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from vigil.testing.gen_cluster import PRESETS, Knobs, generate, generate_cluster, op_digest

needs_crm_verify = pytest.mark.skipif(shutil.which("crm_verify") is None,
                                      reason="crm_verify (Pacemaker 2.1.5 CLI) is not installed")
needs_crm_simulate = pytest.mark.skipif(shutil.which("crm_simulate") is None,
                                        reason="crm_simulate (Pacemaker 2.1.5 CLI) is not installed")

# Everything happens in place, as it was: every resource runs where it is,
# no constraint pulls it elsewhere, nothing failed.
STEADY = {
    "p_failed_monitor": 0, "p_failed_start": 0, "p_failed_stop": 0, "p_multi_active": 0,
    "p_probe_running": 0, "p_no_history": 0, "p_stale_failure": 0, "p_stopped_after_run": 0,
    "p_active": 1, "p_params": 0.6, "p_explicit_ops": 0.5, "p_node_offline": 0,
    "p_node_standby": 0, "p_location": 0, "p_colocation": 0, "p_order": 0,
    "p_target_stopped": 0, "p_asymmetric": 0, "p_no_quorum": 0, "p_quorum_policy_stop": 0,
    "p_unclean": 0, "p_node_shutdown": 0, "p_unmanaged": 0, "p_fencing": 0.5,
    "p_group_partial": 0, "p_group_split": 0, "p_clone_active": 1, "p_clone_excess": 0,
    "p_clone_orphan": 0,
}


def test_same_seed_gives_same_bytes() -> None:
    for seed in range(30):
        assert generate(seed) == generate(seed)


def test_seeds_differ() -> None:
    assert len({generate(seed) for seed in range(30)}) == 30


def test_knobs_change_the_cluster_and_unknown_knobs_are_refused() -> None:
    assert generate(3, p_fencing=1.0) != generate(3, p_fencing=0.0)
    assert b'name="stonith-enabled" value="true"' in generate(3, p_fencing=1.0)
    with pytest.raises(TypeError):
        generate(3, no_such_knob=1)


def test_knob_defaults_are_probabilities() -> None:
    for name, value in vars(Knobs()).items():
        if name.startswith("p_"):
            assert 0.0 <= value <= 1.0, name


def test_digests_match_crm_resource() -> None:
    # values printed by `crm_resource --digests` of Pacemaker 2.1.5
    assert op_digest({}) == "f2317cad3d54cec5d7d7aa7d0bf35cf8"
    assert op_digest({"CRM_meta_timeout": "20000"}) == "4811cef7f7f94e3a35a70be7916cb2fd"
    assert op_digest({"state": "/tmp/s", "fake": "x1"}) == "5e5252873bdc36f9bafd6a955e7ce6bd"
    assert op_digest({"fake": "x1", "state": "/tmp/s", "CRM_meta_timeout": "30000"}) == (
        "080c39985453030f46e1b1c0c609a10c")


def test_default_knobs_reach_every_feature() -> None:
    seen: set[str] = set()
    for seed in range(200):
        seen |= generate_cluster(seed).features
    expected = {
        "fencing", "no-quorum", "quorum-policy-stop", "asymmetric", "offline-node", "standby",
        "shutdown", "unclean-node", "startup-fencing", "offline-history", "params", "stickiness",
        "default-stickiness", "priority", "target-stopped", "migration-threshold", "unmanaged",
        "location", "location-rule", "colocation-inf", "colocation-neg-inf", "colocation-finite",
        "order-mandatory", "order-optional", "order-mandatory-asymmetric", "multi-active",
        "running", "failed-monitor", "failed-start", "failed-stop", "probe-running",
        "stale-failure",
        # groups and clones
        "group", "group-meta", "group-partial", "group-split", "member-constraint", "clone",
        "clone-unique", "cloned-group", "clone-max", "clone-max-below-nodes", "clone-node-max",
        "clone-min", "interleave", "interleave-pair", "clone-ordered", "clone-meta",
        "clone-failure", "clone-excess", "clone-orphan", "anon-instance-suffix",
        "require-all-false", "location-clone", "colocation-clone-clone",
        "colocation-clone-primitive", "colocation-clone-group", "colocation-group-group",
        "colocation-group-primitive", "order-clone-clone", "order-clone-primitive",
        "order-clone-group", "order-group-group", "order-group-primitive",
    }
    assert expected <= seen, sorted(expected - seen)


def test_default_knobs_give_groups_and_clones_often() -> None:
    counts = {"group": 0, "clone": 0, "clone-unique": 0, "cloned-group": 0, "interleave": 0}
    for seed in range(200):
        features = generate_cluster(seed).features
        for tag in counts:
            counts[tag] += tag in features
    assert counts["group"] >= 80 and counts["clone"] >= 60, counts
    assert min(counts.values()) >= 30, counts


def test_clones_preset_puts_clones_in_most_clusters() -> None:
    """The "clones" preset is what the second differential run relies on:
    clones (often of groups, often interleaved and colocated with each other)
    in nearly every cluster."""
    counts = {"clone": 0, "cloned-group": 0, "interleave-pair": 0, "colocation-clone-clone": 0}
    for seed in range(100):
        features = generate_cluster(seed, **PRESETS["clones"]).features
        for tag in counts:
            counts[tag] += tag in features
    assert counts["clone"] >= 80 and counts["cloned-group"] >= 60, counts
    assert counts["interleave-pair"] >= 30 and counts["colocation-clone-clone"] >= 30, counts


def test_promotable_preset_makes_promotable_clones_with_notifications() -> None:
    """The "promotable" preset: promotable clones (most notifying) with
    promotion scores, promoted instances and constraints by role."""
    tags = ("promotable", "notify", "promoted", "promotion-score", "colocation-role", "order-promote",
            "location-promoted", "failed-promoted")
    counts = dict.fromkeys(tags, 0)
    for seed in range(100):
        features = generate_cluster(seed, **PRESETS["promotable"]).features
        for tag in tags:
            counts[tag] += tag in features
    assert counts["promotable"] >= 80 and counts["notify"] >= 60 and counts["promoted"] >= 50, counts
    assert min(counts.values()) >= 10, counts


def test_promotable_knobs_leave_the_default_clusters_alone() -> None:
    """The promotable knobs draw nothing at their default 0, so the default
    seeds (and their known differences) stay the clusters they were."""
    for seed in range(30):
        assert "promotable" not in generate_cluster(seed).features
        assert generate(seed) == generate(seed, p_promotable=0.0, p_notify=0.0)


@needs_crm_verify
@pytest.mark.parametrize("seed", range(10))
def test_promotable_preset_is_valid_for_crm_verify(seed: int, tmp_path: Path) -> None:
    cib = tmp_path / f"seed-{seed}.xml"
    cib.write_bytes(generate(seed, **PRESETS["promotable"]))
    proc = subprocess.run(["crm_verify", "-x", str(cib)], capture_output=True, text=True,
                          timeout=60, check=False)
    out = proc.stdout + proc.stderr
    assert "Errors found" not in out and "validity error" not in out, out
    assert proc.returncode in (0, 78), out  # 78: warnings only


@needs_crm_verify
@pytest.mark.parametrize("seed", range(10))
def test_clones_preset_is_valid_for_crm_verify(seed: int, tmp_path: Path) -> None:
    cib = tmp_path / f"seed-{seed}.xml"
    cib.write_bytes(generate(seed, **PRESETS["clones"]))
    proc = subprocess.run(["crm_verify", "-x", str(cib)], capture_output=True, text=True,
                          timeout=60, check=False)
    out = proc.stdout + proc.stderr
    assert "Errors found" not in out and "validity error" not in out, out
    assert proc.returncode in (0, 78), out  # 78: warnings only


def _lrm_ids(xml: bytes) -> dict[str, set[str]]:
    """``lrm_resource`` ids per configured primitive, and fail-count attribute names."""
    root = etree.fromstring(xml)
    ids: dict[str, set[str]] = {"fail-counts": set()}
    for prim in root.iterfind("configuration/resources//primitive"):
        ids[prim.get("id", "")] = set()
    for rsc in root.iterfind("status/node_state/lrm/lrm_resources/lrm_resource"):
        ids[rsc.get("id", "").split(":")[0]].add(rsc.get("id", ""))
        for op in rsc:
            assert op.get("operation_key", "").startswith(rsc.get("id", "") + "_"), op.get("id")
            assert op.get("id", "").startswith(rsc.get("id", "") + "_"), op.get("id")
    for nv in root.iterfind("status/node_state/transient_attributes/instance_attributes/nvpair"):
        if nv.get("name", "").startswith("fail-count-"):
            ids["fail-counts"].add(nv.get("name", ""))
    return ids


def test_clone_instances_are_recorded_as_pacemaker_writes_them() -> None:
    everything_failed = {"p_failed_monitor": 5.0, "p_stale_failure": 5.0, "p_fencing": 0.0}
    for unique in (0.0, 1.0):
        xml = generate(11, p_clone=1.0, p_group=0.0, p_cloned_group=0.0, p_unique=unique,
                       p_anon_instance_suffix=0.0, **everything_failed)
        ids = _lrm_ids(xml)
        prims = [p for p in ids if p != "fail-counts"]
        assert prims and all(ids[p] for p in prims)
        for prim in prims:
            if unique:  # rsc:N, and fail-count-rsc:N#op
                assert all(i.startswith(prim + ":") for i in ids[prim]), ids[prim]
            else:  # the bare primitive id, and fail-count-rsc#op
                assert ids[prim] == {prim}, ids[prim]
        for name in ids["fail-counts"]:
            rsc = name.removeprefix("fail-count-").split("#")[0]
            assert (":" in rsc) == bool(unique), name
    numbered = _lrm_ids(generate(11, p_clone=1.0, p_group=0.0, p_cloned_group=0.0, p_unique=0.0,
                                 p_anon_instance_suffix=1.0, p_fencing=0.0))
    assert all(":" in i for p, got in numbered.items() if p != "fail-counts" for i in got)


@needs_crm_verify
@pytest.mark.parametrize("seed", range(50))
def test_crm_verify_finds_no_errors(seed: int, tmp_path: Path) -> None:
    cib = tmp_path / f"seed-{seed}.xml"
    cib.write_bytes(generate(seed))
    proc = subprocess.run(["crm_verify", "-x", str(cib)], capture_output=True, text=True,
                          timeout=60, check=False)
    out = proc.stdout + proc.stderr
    assert "Errors found" not in out and "validity error" not in out, out
    assert proc.returncode in (0, 78), out  # 78: warnings only


@needs_crm_simulate
@pytest.mark.parametrize("seed", range(20))
def test_steady_cluster_restarts_nothing(seed: int, tmp_path: Path) -> None:
    cib = tmp_path / f"steady-{seed}.xml"
    cib.write_bytes(generate(seed, **STEADY))
    proc = subprocess.run(["crm_simulate", "-x", str(cib), "-S"], capture_output=True,
                          text=True, timeout=60, check=True)
    summary = proc.stdout.split("Transition Summary:", 1)[1].split("Executing", 1)[0]
    assert "Restart" not in summary and "definition" not in summary, summary


def test_output_does_not_depend_on_hash_seed() -> None:
    code = ("import sys; from vigil.testing.gen_cluster import generate; "
            "sys.stdout.buffer.write(b''.join(generate(s) for s in range(20)))")
    for hash_seed in ("1", "2"):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": hash_seed}, timeout=60)
        assert proc.stdout == b"".join(generate(s) for s in range(20))
