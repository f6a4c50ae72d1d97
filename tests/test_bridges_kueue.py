"""Kueue export: every object valid under Kueue's own CRD schemas (with their CEL rules) and the kubernetes
client's models; quotas that add up to the fleet; lending limits that keep each class's survivability."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from schema_check import core_errors, kueue_dir, kueue_errors

from polyfleet.bridges.kueue import export_kueue, flavors_of, relative_cost, whole_chips
from polyfleet.bridges.placement import class_order, scenario_placement
from polyfleet.scenario import load_scenario

SMALL = Path(__file__).parent / "data" / "scenarios" / "small-fleet.yaml"
needs_crds = pytest.mark.skipif(kueue_dir() is None, reason="Kueue CRDs not found at ../shared/data/kueue "
                                                             "(the shared data folder beside the repository)")


@pytest.fixture(scope="module")
def small():
    scn = load_scenario(SMALL)
    sp = scenario_placement(scn)
    return scn, sp, export_kueue(sp, scn.context().catalog)


def by_kind(ex, kind):
    return [o for o in ex.objects if o["kind"] == kind]


@needs_crds
def test_every_kueue_object_passes_the_crd_schema_and_its_cel_rules(small):
    _, _, ex = small
    kueue = [o for o in ex.objects if o["apiVersion"].startswith("kueue.x-k8s.io/")]
    assert {o["kind"] for o in kueue} == {"ResourceFlavor", "ClusterQueue", "Cohort", "WorkloadPriorityClass",
                                          "LocalQueue"}
    assert all(o["apiVersion"] == "kueue.x-k8s.io/v1beta2" for o in kueue)
    for obj in kueue:
        assert kueue_errors(obj) == [], obj["kind"]


@needs_crds
def test_the_schema_check_rejects_what_the_api_server_would(small):
    """The checker itself can fail: an unknown field, a flavor missing a covered resource (a CEL rule),
    a negative quota pattern and a bad toleration operator are each caught."""
    _, _, ex = small
    cq = copy.deepcopy(by_kind(ex, "ClusterQueue")[0])
    cq["spec"]["cohort"] = "v1beta1-spelling"
    assert any("cohort" in e for e in kueue_errors(cq))
    cq = copy.deepcopy(by_kind(ex, "ClusterQueue")[0])
    cq["spec"]["resourceGroups"][0]["coveredResources"].append("cpu")
    assert any("coveredResources" in e or "flavors" in e for e in kueue_errors(cq))
    cq = copy.deepcopy(by_kind(ex, "ClusterQueue")[0])
    cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"] = "lots"
    assert kueue_errors(cq)
    rf = copy.deepcopy(next(o for o in by_kind(ex, "ResourceFlavor") if "tolerations" in o["spec"]))
    rf["spec"]["tolerations"][0]["operator"] = "Matches"
    assert kueue_errors(rf)


def test_core_objects_pass_the_kubernetes_client_models(small):
    _, sp, ex = small
    namespaces = by_kind(ex, "Namespace")
    assert [n["metadata"]["name"] for n in namespaces] == list(sp.classes)
    for ns in namespaces:
        assert core_errors(ns) == []
    assert core_errors({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "lables": {}}})
    for rf in by_kind(ex, "ResourceFlavor"):            # taints and tolerations are core v1 structures
        for t in rf["spec"].get("nodeTaints", []):
            assert core_errors(t, "V1Taint") == []
        for t in rf["spec"].get("tolerations", []):
            assert core_errors(t, "V1Toleration") == []


def _quota(ex):
    """{(class or '(cohort)', flavor): chips} read back from the objects, not from the quota rows."""
    out = {}
    for obj in by_kind(ex, "ClusterQueue") + by_kind(ex, "Cohort"):
        who = obj["metadata"]["name"] if obj["kind"] == "ClusterQueue" else "(cohort)"
        for g in obj["spec"].get("resourceGroups", []):
            for f in g["flavors"]:
                out[(who, f["name"])] = out.get((who, f["name"]), 0) + f["resources"][0]["nominalQuota"]
    return out


def test_each_flavors_quotas_add_up_to_the_fleets_chips(small):
    scn, sp, ex = small
    quota = _quota(ex)
    cat = scn.context().catalog
    fleet = {}
    for e in scn.fleet:                                   # the fleet as the scenario states it
        off = cat.offering(e.offering)
        name = f"{off.accelerator}-{off.provider}-{off.region}"
        fleet[name] = fleet.get(name, 0) + e.units * off.unit_chips
    for flavor, chips in fleet.items():
        assert sum(q for (_, f), q in quota.items() if f == flavor) == chips
    assert all(q >= 0 and isinstance(q, int) for q in quota.values())


def test_tier_quotas_follow_the_tenant_shares_on_every_flavor(small):
    """Every service is 40% enterprise and 60% self-serve and fully served, so on each flavor the two
    tiers' quotas split its inference chips 40:60, to within the one chip that rounding can move."""
    _, sp, ex = small
    quota = _quota(ex)
    pl = sp.fleet.inference
    assert all(s.share < 1e-9 for s in pl.shortfalls()) or not pl.shortfalls()
    flavors = {f for _, f in quota}
    for flavor in flavors:
        ent, ss = quota.get(("enterprise", flavor), 0), quota.get(("self-serve", flavor), 0)
        if ent + ss:
            assert abs(ent - 0.4 * (ent + ss)) <= 1.0, flavor


def test_lending_limits_keep_the_survivability_share(small):
    _, sp, ex = small
    for cq in by_kind(ex, "ClusterQueue"):
        survive = sp.survive[cq["metadata"]["name"]]
        for g in cq["spec"]["resourceGroups"]:
            for f in g["flavors"]:
                r = f["resources"][0]
                if survive > 0:
                    kept = r["nominalQuota"] - r["lendingLimit"]
                    assert kept >= survive * r["nominalQuota"] - 1e-9          # never lends into its share
                    assert kept - 1 < survive * r["nominalQuota"] + 1          # lends the rest (floor)
                else:
                    assert "lendingLimit" not in r


def test_priority_classes_follow_the_class_order(small):
    scn, sp, ex = small
    values = {o["metadata"]["name"]: o["value"] for o in by_kind(ex, "WorkloadPriorityClass")}
    assert list(sp.classes) == [c for c in class_order(scn) if c in sp.classes]
    assert [values[c] for c in sp.classes] == sorted(values.values(), reverse=True)
    assert len(set(values.values())) == len(values)
    assert sp.classes[0] == "enterprise"                  # survive 0.8 outranks batch and self-serve (0)


def test_flavors_are_ordered_by_price_performance(small):
    """Where a flavor is cheaper per token for every workload of a class, it comes first in that class's
    resource group (dominance: true whatever the weights)."""
    _, sp, ex = small
    t = sp.table
    cost = t.usd_per_million_tokens()
    flavor_pool = {f.name: f.pools[0] for f in flavors_of(sp, sp.scenario.context().catalog)}
    _, share = sp.scenario.class_shares()
    classes = list(sp.scenario.priority_classes())
    checked = 0
    for cq in by_kind(ex, "ClusterQueue"):
        rows = np.flatnonzero(share[:, classes.index(cq["metadata"]["name"])] > 0)
        for g in cq["spec"]["resourceGroups"]:
            names = [f["name"] for f in g["flavors"]]
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    ca = cost[rows, t.o(flavor_pool[a])]
                    cb = cost[rows, t.o(flavor_pool[b])]
                    assert not np.all(cb < ca), (cq["metadata"]["name"], a, b)
                    checked += 1
    assert checked >= 3                                    # the nvidia group has two flavors in each class


def test_relative_cost_is_one_on_each_workloads_best_pool(small):
    _, sp, _ = small
    for cls in sp.classes:
        rel = relative_cost(sp, cls)
        assert np.nanmin(rel) >= 1.0 - 1e-12
    # batch holds only the training workload: its best pool scores exactly 1
    assert np.isclose(np.min(relative_cost(sp, "batch")), 1.0)


def test_queues_and_namespaces_pair_up(small):
    _, sp, ex = small
    lqs = by_kind(ex, "LocalQueue")
    cqs = {c["metadata"]["name"] for c in by_kind(ex, "ClusterQueue")}
    assert {(q["metadata"]["namespace"], q["spec"]["clusterQueue"]) for q in lqs} == {(c, c) for c in sp.classes}
    assert cqs == set(sp.classes)
    cohort = by_kind(ex, "Cohort")[0]["metadata"]["name"]
    assert all(c["spec"]["cohortName"] == cohort for c in by_kind(ex, "ClusterQueue"))


@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=8), st.integers(0, 10_000))
def test_whole_chips_add_up_and_stay_within_a_chip_of_the_exact_share(shares, total):
    out = whole_chips(np.array(shares), total)
    s = sum(shares)
    if s <= 0:
        assert out.sum() == 0
        return
    assert out.sum() == total
    assert np.all(out >= 0)
    exact = np.array(shares) / s * total
    assert np.all(np.abs(out - exact) < 1.0 + 1e-9)


def test_whole_chips_hand_case():
    # 3 : 5 : 2 of 17 chips = 5.1, 8.5, 3.4 -> floors 5, 8, 3 (16) and the one left goes to 8.5's share
    assert whole_chips(np.array([3.0, 5.0, 2.0]), 17).tolist() == [5, 9, 3]
