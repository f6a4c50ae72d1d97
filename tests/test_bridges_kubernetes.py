"""Importing the fleet from Kubernetes nodes: the fixture (built from the GKE, EKS/Neuron, GPU feature
discovery and AMD docs; see tests/data/k8s/README.md) read into pools by hand-counted chips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from schema_check import core_errors

from polyfleet.bridges import fleet_from_nodes, read_node_list
from polyfleet.bridges.fleet_import import merge_fleet
from polyfleet.bridges.kubernetes import node_machine, nodes_of
from polyfleet.catalog import load_catalog
from polyfleet.errors import UserError
from polyfleet.scenario import load_scenario

DATA = Path(__file__).parent / "data"
NODES = DATA / "k8s" / "nodes.json"


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


@pytest.fixture(scope="module")
def imported(cat):
    return fleet_from_nodes(read_node_list(NODES), cat, source="nodes.json")


def test_fixture_nodes_are_valid_kubernetes_nodes():
    doc = json.loads(NODES.read_text())
    for node in doc["items"]:
        assert core_errors(node, "V1Node") == [], node["metadata"]["name"]


def test_pools_hold_the_chips_counted_by_hand(imported):
    pools = {(p.offering, p.term): p for p in imported.pools}
    # six 4-chip v6e hosts in us-east5, one cordoned: 20 healthy (2 units of 8, 4 left over), 4 degraded
    v6e = pools[("gcp/tpu-v6e-8/us-east5", "on_demand")]
    assert (v6e.machines, v6e.healthy_chips, v6e.degraded_chips, v6e.units, v6e.leftover_chips) == (6, 20, 4, 2, 4)
    # one spot v5e host of 8 chips: one unit on the spot term
    assert pools[("gcp/tpu-v5litepod-8/us-central1", "spot")].units == 1
    # two trn2.48xlarge, one NotReady: 16 healthy, 16 degraded
    trn2 = pools[("aws/trn2.48xlarge/us-east-2", "on_demand")]
    assert (trn2.healthy_chips, trn2.degraded_chips, trn2.units) == (16, 16, 1)
    # two trn1.32xlarge, one offering 15 of its 16 devices: 31 healthy, 1 degraded, 1 unit + 15 left over
    trn1 = pools[("aws/trn1.32xlarge/us-east-1", "on_demand")]
    assert (trn1.healthy_chips, trn1.degraded_chips, trn1.units, trn1.leftover_chips) == (31, 1, 1, 15)
    # three Karpenter spot p5.48xlarge (GPU feature discovery names the H100)
    assert pools[("aws/p5.48xlarge/us-east-1", "spot")].units == 3
    # GKE's own accelerator label identifies the A3 H100 node; Oracle's OCID providerID the MI300X node
    assert pools[("gcp/a3-highgpu-8g/us-central1", "on_demand")].units == 1
    assert pools[("oci/BM.GPU.MI300X.8/us-ashburn-1", "on_demand")].units == 1
    assert len(pools) == 7
    assert imported.without_accelerators == 1


def test_what_could_not_be_mapped_says_why(imported):
    why = {u.name: u.reason for u in imported.problems()}
    assert "tpu-v4-podslice" in why["gke-tpu-v4-0"]
    assert "A100-SXM4-40GB" in why["ip-10-0-4-0.ec2.internal"]
    assert "provider" in why["onprem-mi300x-0"]
    assert "4 healthy chips do not fill a whole unit of 8" in why["gcp/tpu-v6e-8/us-east5"]
    degraded = {p.offering: p.degraded for p in imported.pools if p.degraded}
    assert degraded["gcp/tpu-v6e-8/us-east5"] == ("gke-tpu-v6e-5: cordoned",)
    assert "NotReady" in degraded["aws/trn2.48xlarge/us-east-2"][0]
    assert "unhealthy devices" in degraded["aws/trn1.32xlarge/us-east-1"][0]


def test_provider_option_maps_nodes_that_name_none(cat):
    nodes = read_node_list(NODES)
    fi = fleet_from_nodes(nodes, cat, provider="tensorwave")
    pools = {p.offering: p for p in fi.pools}
    assert pools["tensorwave/mi300x-8/us-west-1"].units == 1
    assert pools["aws/p5.48xlarge/us-east-1"].units == 3    # nodes that name their provider keep it


def test_fleet_section_is_a_valid_scenario_fleet(imported):
    doc = yaml.safe_load(imported.to_yaml())
    scn = load_scenario({"name": "t", "workloads": {"services": [{"id": "s", "model": "llama-3.1-8b",
                                                                   "tokens_per_s": 1000}]}, "fleet": doc["fleet"]})
    held = {e.offering: e.units for e in scn.fleet}
    assert held["gcp/tpu-v6e-8/us-east5"] == 2 and sum(held.values()) == 10


def test_merge_replaces_the_fleet_section_and_keeps_everything_else(tmp_path, imported):
    src = DATA / "scenarios" / "small-fleet.yaml"
    text = merge_fleet(src, imported)
    original = src.read_text()
    head = original[: original.index("fleet:")]
    assert text.startswith(head)                       # comments and sections before fleet: untouched
    assert "nebius/gpu-h200-sxm_8gpu" not in text      # the old fleet is gone
    out = tmp_path / "now.yaml"
    out.write_text(text)
    assert {e.offering for e in load_scenario(out).fleet} == {e["offering"] for e in imported.fleet_section()}
    appended = tmp_path / "nofleet.yaml"
    appended.write_text(head)
    assert len(load_scenario(appended).workloads.services) == 2
    assert "fleet:" in merge_fleet(appended, imported)


@pytest.mark.parametrize("text, where, what", [
    ("{not json", "bad.json:1", "not valid JSON"),
    ('{"kind": "PodList", "items": []}', "bad.json", "not a Kubernetes node list"),
    ('{"kind": "List", "items": [{"kind": "Pod", "metadata": {}}]}', "bad.json", "items[0]"),
])
def test_bad_node_files_name_the_file_and_the_problem(tmp_path, text, where, what):
    f = tmp_path / "bad.json"
    f.write_text(text)
    with pytest.raises(UserError) as err:
        read_node_list(f)
    assert where in str(err.value) and what in str(err.value)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="file not found"):
        read_node_list(tmp_path / "nope.json")


def _node(i, chips, acc_label, cordon, ready, alloc):
    return {"kind": "Node", "metadata": {"name": f"n{i}", "labels": {
        "topology.kubernetes.io/region": "us-east5", "cloud.google.com/gke-tpu-accelerator": acc_label}},
        "spec": {"providerID": f"gce://p/us-east5-a/n{i}", "unschedulable": cordon},
        "status": {"capacity": {"google.com/tpu": str(chips)}, "allocatable": {"google.com/tpu": str(alloc)},
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([4, 8]), st.sampled_from(["tpu-v6e-slice", "tpu-v5p-slice", "tpu-v4"]),
                          st.booleans(), st.booleans(), st.integers(0, 8)), min_size=1, max_size=12))
def test_no_chip_is_lost_or_counted_twice(nodes):
    """Every chip of every accelerator node ends in exactly one place: a pool's units, its leftover,
    its degraded chips, or the unmapped list."""
    cat = load_catalog()
    items = [_node(i, c, lab, cor, rdy, min(a, c)) for i, (c, lab, cor, rdy, a) in enumerate(nodes)]
    fi = fleet_from_nodes(items, cat)
    total = sum(c for c, *_ in nodes)
    placed = sum(p.units * p.unit_chips + p.leftover_chips + p.degraded_chips for p in fi.pools)
    lost = sum(u.chips or 0 for u in fi.unmapped)
    assert placed + lost == total
    for p in fi.pools:
        assert 0 <= p.leftover_chips < p.unit_chips
    healthy = sum(min(a, c) for c, lab, cor, rdy, a in nodes if lab != "tpu-v4" and not cor and rdy)
    assert sum(p.healthy_chips for p in fi.pools) == healthy


def test_node_list_of_a_single_node_and_plain_nodes():
    assert nodes_of({"kind": "NodeList", "items": []}, "x") == []
    assert node_machine({"metadata": {"name": "cpu"}, "status": {"capacity": {"cpu": "8"}}}) is None


def test_cli_import_kubernetes_writes_a_scenario_copy_and_never_the_original(run_cli, tmp_path):
    src = tmp_path / "s.yaml"
    src.write_text((DATA / "scenarios" / "small-fleet.yaml").read_text())
    out = tmp_path / "now.yaml"
    code, stdout, err = run_cli("import", "kubernetes", str(NODES), "--scenario", str(src), "--out", str(out))
    assert code == 0, err
    assert "gcp/tpu-v6e-8/us-east5" in stdout and out.exists()
    assert src.read_text() == (DATA / "scenarios" / "small-fleet.yaml").read_text()
    code, _, err = run_cli("import", "kubernetes", str(NODES), "--scenario", str(src), "--out", str(out))
    assert code == 2 and "already exists" in err
    code, _, err = run_cli("import", "kubernetes", str(NODES), "--scenario", str(src), "--out", str(src),
                           "--overwrite")
    assert code == 2 and "is the scenario being read" in err
    code, stdout, _ = run_cli("import", "kubernetes", str(NODES), "--format", "json")
    doc = json.loads(stdout)
    assert {e["offering"] for e in doc["fleet"]} >= {"aws/p5.48xlarge/us-east-1"} and doc["not_mapped"]


def test_cli_bad_node_file_is_one_line_and_exit_2(run_cli, tmp_path):
    f = tmp_path / "n.json"
    f.write_text("[1, 2")
    code, out, err = run_cli("import", "kubernetes", str(f))
    assert code == 2 and "Traceback" not in err and str(f) in err
