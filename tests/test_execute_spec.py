"""The Ray view of a fleet (plain data, no Ray): node resources and labels, replica and gang shapes."""

from __future__ import annotations

import dataclasses

import pytest

from polyfleet.catalog import load_catalog
from polyfleet.errors import UserError
from polyfleet.execute.spec import (
    POOL_LABEL,
    gang_spec,
    hardware,
    label_value,
    node_specs,
    ray_spec,
    replica_spec,
)

TPU, GPU, TRN2 = "gcp/tpu-v6e-8/us-east5", "aws/p5.48xlarge/us-east-1", "aws/trn2.48xlarge/us-east-2"


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


def test_nodes_carry_their_chips_as_rays_accelerator_resources(cat):
    nodes = node_specs({TPU: 24, GPU: 16, TRN2: 16}, {p: p for p in (TPU, GPU, TRN2)}, cat)
    by_pool = {}
    for n in nodes:
        by_pool.setdefault(n.pool, []).append(n)
    assert [n.resources for n in by_pool[TPU]] == [{"TPU": 8.0}] * 3          # three 8-chip TPU hosts
    assert [n.resources for n in by_pool[GPU]] == [{"GPU": 8.0}] * 2
    # one trn2.48xlarge: 16 chips x 8 NeuronCores
    assert [n.resources for n in by_pool[TRN2]] == [{"neuron_cores": 128.0}]
    labels = by_pool[TRN2][0].labels
    assert labels == {POOL_LABEL: "aws.trn2.48xlarge.us-east-2", "polyfleet.io/accelerator": "trn2",
                      "polyfleet.io/provider": "aws", "polyfleet.io/region": "us-east-2"}


def test_a_partial_last_node_holds_the_remainder(cat):
    nodes = node_specs({GPU: 12}, {GPU: GPU}, cat)
    assert [n.chips for n in nodes] == [8, 4]


def test_replicas_fit_one_node_or_split_evenly_over_hosts(cat):
    hw = hardware(TPU, TPU, cat)
    one = replica_spec("chat", TPU, 4, hw)
    assert (one.hosts, one.resources, one.gang) == (1, {"TPU": 4.0}, False)
    two = replica_spec("big", TPU, 16, hw)
    assert (two.hosts, two.resources, two.gang) == (2, {"TPU": 8.0}, True)
    trn = replica_spec("code", TRN2, 2, hardware(TRN2, TRN2, cat))
    assert trn.resources == {"neuron_cores": 16.0}
    with pytest.raises(UserError, match="split evenly"):
        replica_spec("odd", TPU, 9, hw)                  # 9 chips over 8-chip hosts: 2 hosts of 4 hold 8


def test_gangs_take_one_bundle_per_node(cat):
    g = gang_spec("train", GPU, 24, hardware(GPU, GPU, cat))
    assert g.bundles == ({"GPU": 8.0},) * 3 and g.strategy == "STRICT_SPREAD"
    assert gang_spec("train", GPU, 4, hardware(GPU, GPU, cat)).strategy == "PACK"


def test_label_values_follow_kubernetes_label_syntax():
    import re
    for pool in (TPU, "aws/trn3 UltraServer/us-east-2", "x" * 80):
        v = label_value(pool)
        assert re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", v) and len(v) <= 63


def test_ray_spec_of_a_scenario_placement(cat):
    from pathlib import Path

    from polyfleet.bridges.placement import scenario_placement
    from polyfleet.scenario import load_scenario
    scn = load_scenario(Path(__file__).parent / "data" / "scenarios" / "small-fleet.yaml")
    sp = scenario_placement(scn)
    doc = ray_spec(sp.fleet, scn.context().catalog, sp.gang_chips)
    pl = sp.fleet.inference
    assert sum(r["count"] for r in doc["replicas"]) == int(pl.replicas.sum())
    assert sum(n["chips"] for n in doc["nodes"]) == int(sp.fleet.chips.sum())
    for svc, weights in doc["routing"].items():
        assert sum(weights.values()) == pytest.approx(1.0)
        assert all("#" not in p for p in weights)
    for g in doc["gangs"]:
        assert g["count"] * g["chips"] <= sp.fleet.training_chips.sum() + 1e-9


def test_a_neuron_chip_without_its_core_count_is_refused_by_name():
    """Ray schedules Neuron work in cores: a catalog chip of the family that leaves cores_per_chip at
    its GPU default cannot be sized, and the message names the field and the chips that can."""
    base = load_catalog()
    bare = base.accelerators["trn2"].model_copy(update={"cores_per_chip": 1, "cores_per_rank": 1})
    cat = dataclasses.replace(base, accelerators={**base.accelerators, "trn2": bare})
    with pytest.raises(UserError, match="cores_per_chip") as err:
        hardware(TRN2, TRN2, cat)
    assert "trn1" in str(err.value.allowed) and "trn2" not in str(err.value.allowed)
