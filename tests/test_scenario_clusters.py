"""The `clusters:` section and the training-run fields that go with it: accepted as documented, wrong
input refused with file:line, the field and what is allowed."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from polyfleet.errors import UserError
from polyfleet.plan import as_inputs
from polyfleet.scenario import load_scenario

BASE = {
    "name": "clusters",
    "horizon": {"start": "2026-01", "months": 4},
    "offerings": {"include": [{"provider": "gcp", "accelerator": "tpu-v6e",
                               "region": ["gcp/us-east1", "gcp/us-central1"]},
                              {"provider": "aws", "accelerator": "h200", "region": "aws/us-east-1"}]},
    "workloads": {"services": [{"id": "chat", "model": "llama-3.1-8b", "tokens_per_s": 1.0e4, "peak_factor": 1.5}],
                  "training": [{"id": "tune", "model": "llama-3.1-8b", "cluster": "pod",
                                "run": {"tokens": 1.0e11, "start": "2026-02", "deadline": "2026-03"}},
                               {"id": "rl", "model": "llama-3.1-8b", "tokens_per_month": 1.0e10, "off_peak": True}]},
    "clusters": [{"id": "pod", "accelerator": "trillium", "provider": "gcp", "region": ["us-east1", "us-central1"],
                  "max_chips": 8192, "goodput": 0.95}],
}


def scenario(**changes):
    doc = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = doc
        *head, last = path.split(".")
        for k in head:
            node = node[int(k)] if isinstance(node, list) else node[k]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return doc


def test_clusters_reach_the_plan_inputs():
    """The pod spans both TPU regions (alias trillium = tpu-v6e); the run is pinned to it; goodput comes from
    the cluster (0.95) as the run sets none; rl is off-peak at the default 0.8 and the service's peak 1.5."""
    inp = as_inputs(load_scenario(scenario()))
    (pod,) = inp.clusters
    assert pod.max_chips == 8192 and pod.goodput == 0.95
    assert sorted(np.array(inp.facts.region)[pod.mask]) == ["gcp/us-central1", "gcp/us-east1"]
    w = inp.workloads.index("tune")
    assert inp.run_clusters[w] == ("pod",) and np.isnan(inp.goodput[w])
    r = inp.workloads.index("rl")
    assert inp.off_peak[r] and inp.off_peak_goodput[r] == 0.8 and inp.peak_factor[0] == 1.5
    assert any("off-peak training goodput 80%" in a for a in inp.assumptions)


def test_default_clusters_are_an_assumption():
    doc = scenario()
    del doc["clusters"]
    del doc["workloads"]["training"][0]["cluster"]
    inp = as_inputs(load_scenario(doc))
    assert inp.clusters is None
    assert any("each accelerator, provider and region is one single-site training cluster" in a
               for a in inp.assumptions)
    assert any("training goodput 90% for tune" in a for a in inp.assumptions)


@pytest.mark.parametrize("changes, words", [
    ({"workloads.training.0.cluster": "pods"}, "unknown cluster 'pods'"),
    ({"clusters.0.accelerator": "tpu-v99"}, "unknown accelerator 'tpu-v99'"),
    ({"clusters.0.region": ["us-east99"]}, "unknown region"),
    ({"clusters.0.max_chips": 0}, "greater than 0"),
    ({"clusters.0.goodput": 1.5}, "less than or equal to 1"),
    ({"workloads.training.1.cluster": "pod"}, "cluster applies to a run with a window"),
    ({"workloads.training.0.off_peak": True}, "off_peak applies to a steady flow"),
])
def test_bad_clusters_are_refused_with_the_field(changes, words):
    with pytest.raises(UserError) as info:
        load_scenario(scenario(**changes))
    assert words in str(info.value)


def test_a_site_in_two_clusters_is_refused():
    doc = scenario()
    doc["clusters"].append({"id": "east", "accelerator": "tpu-v6e", "provider": "gcp", "region": "us-east1"})
    with pytest.raises(UserError) as info:
        load_scenario(doc)
    assert "is a site of clusters 'pod' and 'east'" in str(info.value) and "clusters" in str(info.value)


def test_a_lead_time_holds_new_capacity_at_the_fleet_already_held():
    """A supply rule with a 2-month lead time on the H100 offering: in those months no unit beyond the
    fleet can be bought, on any term (bound 0 where nothing is held, the 2 units held on demand), and
    from month 3 the bounds are the scenario's usual ones. Every bound is a number, never NaN."""
    from pathlib import Path

    import yaml

    from polyfleet.plan.from_scenario import inputs_from_scenario
    from polyfleet.plan.inputs import TERMS
    from polyfleet.scenario import load_scenario
    doc = yaml.safe_load((Path(__file__).parent / "data" / "scenarios" / "small-fleet.yaml").read_text())
    doc["supply"] = {"rules": [{"offering": "aws/p5.48xlarge/us-east-1", "lead_time_months": 2}]}
    inp = inputs_from_scenario(load_scenario(doc))
    o = inp.facts.ids.index("aws/p5.48xlarge/us-east-1")
    assert not np.isnan(inp.unit_ub).any()
    od = TERMS.index("on_demand")
    assert inp.unit_ub[o, od, :2].tolist() == [2.0, 2.0]
    assert (inp.unit_ub[o, [k for k in range(len(TERMS)) if k != od], :2] == 0.0).all()
    assert inp.unit_ub[o, od, 2] > 2.0
