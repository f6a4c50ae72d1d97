"""The executor on a real local multi-node Ray cluster with fake accelerators: apply a placement, kill
nodes, and check that the failover's replica matrix is what runs, that no surviving replica was
restarted unless the failover moved it, that gangs are whole or absent, and that routing is published."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="Ray is installed by the README's test command (.[test,ray])")

from polyfleet.execute.cluster import start_local_cluster
from polyfleet.execute.ray import RayExecutor
from polyfleet.execute.spec import POOL_LABEL, label_value, node_specs
from polyfleet.place import Demand, Fleet, Pool, place
from polyfleet.scenario import load_scenario

TPU, GPU, TRN2 = "gcp/tpu-v6e-8/us-east5", "aws/p5.48xlarge/us-east-1", "aws/trn2.48xlarge/us-east-2"
POOLS = {TPU: 16, GPU: 16, TRN2: 16}          # 2 TPU hosts, 2 GPU hosts, 1 trn2.48xlarge


@pytest.fixture(scope="module")
def setup():
    scn = load_scenario(Path(__file__).parent / "data" / "scenarios" / "small-fleet.yaml")
    cat = scn.context().catalog
    table = scn.rate_table().subset(workloads=["chat", "code"])
    fleet = Fleet(tuple(Pool(p, p, c) for p, c in POOLS.items()))
    demand = Demand(("chat", "code"), ("enterprise", "self-serve"), np.array([[8000.0, 12000.0], [2000.0, 3000.0]]))
    placement = place(table, fleet, demand)
    specs = node_specs(POOLS, {p: p for p in POOLS}, cat)
    lc = start_local_cluster(specs)
    published = []
    ex = RayExecutor(placement, cat, gangs={"finetune": [(TRN2, 8), (GPU, 4)]}, ready_timeout_s=60,
                     on_routing=published.append)
    applied = ex.apply()
    yield lc, ex, placement, applied, published
    ex.shutdown()
    lc.shutdown()


def node_labels() -> dict[str, dict]:
    return {n["NodeID"]: n.get("Labels") or {} for n in ray.nodes() if n.get("Alive")}


def check_running(ex, placement):
    """What runs is the placement's replica matrix, on nodes of the right pool, and it answers."""
    want = {(placement.services[s], placement.pools[p]): int(placement.replicas[s, p])
            for s, p in zip(*np.nonzero(placement.replicas))}
    assert ex.running() == want
    labels = node_labels()
    for (svc, pool), reps in ex.replicas.items():
        for r in reps:
            assert all(labels[n][POOL_LABEL] == label_value(pool) for n in r.nodes), (r.id, pool)
    outs = ray.get([r.actors[0].serve.remote() for reps in ex.replicas.values() for r in reps])
    assert all(np.isfinite(outs))


def check_gangs_whole(ex):
    labels = node_labels()
    for g in ex.gangs:
        table = ray.util.placement_group_table(g.pg)
        assert table["state"] == "CREATED"
        nodes = list(table["bundles_to_node_id"].values())
        assert len(nodes) == len(g.spec.bundles)                     # every bundle reserved
        assert all(n in labels and labels[n][POOL_LABEL] == label_value(g.spec.pool) for n in nodes)


def test_apply_runs_the_placement(setup):
    lc, ex, placement, applied, published = setup
    assert applied["pending"] == [] and applied["gangs_pending"] == []
    assert applied["replicas"] == int(placement.replicas.sum()) and applied["gangs"] == 2
    check_running(ex, placement)
    check_gangs_whole(ex)
    assert published[-1] == ex.routing()
    assert ex.pool_chips() == POOLS


def _kill_and_recover(lc, ex, pool, want_node):
    i = next(i for i, s in enumerate(lc.specs) if s.pool == pool and lc.node_id(i) == want_node)
    before = {k: [r.id for r in v] for k, v in ex.replicas.items()}
    lc.kill(i)
    rec = None
    for _ in range(200):
        rec = ex.check()
        if rec is not None:
            break
        time.sleep(0.05)
    assert rec is not None, "the controller did not see the node loss"
    return before, rec


def _check_recovery(before, rec, ex, old):
    new = rec.placement
    check_running(ex, new)
    assert rec.pending == []
    after = {k: [r.id for r in v] for k, v in ex.replicas.items()}
    lost, stopped, started = set(rec.lost), set(rec.stopped), set(rec.started)
    for key, ids in before.items():
        survivors = [i for i in ids if i not in lost]
        s, p = new.services.index(key[0]), new.pools.index(key[1])
        target = int(new.replicas[s, p])
        kept = [i for i in survivors if i not in stopped]
        # nothing that survived is restarted: survivors the failover keeps are still the same actors
        assert set(kept) <= set(after.get(key, []))
        # stops only where the failover wants fewer than survived, starts only where it wants more
        assert len([i for i in survivors if i in stopped]) == max(len(survivors) - target, 0)
        assert len([i for i in after.get(key, []) if i in started]) == max(target - len(survivors), 0)
    # every replica the failover moves to a pool is among those started there
    to_pool = {}
    for m in new.moves:
        if m.to_pool is not None:
            to_pool[(m.service, m.to_pool)] = to_pool.get((m.service, m.to_pool), 0) + m.replicas
    for key, n in to_pool.items():
        assert len([i for i in after.get(key, []) if i in started]) >= n
    assert rec.running_s >= rec.replace_s >= 0


def test_losing_a_tpu_host_re_places_through_failover(setup):
    lc, ex, placement, _, published = setup
    victim = next(n for r in ex.replicas[("code", TPU)] for n in r.nodes)
    before, rec = _kill_and_recover(lc, ex, TPU, victim)
    assert rec.pool_chips[TPU] == 8 and rec.lost and rec.started
    _check_recovery(before, rec, ex, placement)
    check_gangs_whole(ex)
    # the routing published is each pool's share of the service's capacity under the new placement
    new = rec.placement
    assert published[-1] == ex.routing()
    cap = new.replicas * new.instance.cap
    for svc, weights in published[-1].items():
        s = new.services.index(svc)
        assert sum(weights.values()) == pytest.approx(1.0)
        for pool, w in weights.items():
            assert w == pytest.approx(cap[s, new.pools.index(pool)] / cap[s].sum())


def test_losing_a_gpu_host_breaks_the_spread_gang_whole(setup):
    """The 4-chip GPU gang is two 2-chip bundles spread over both GPU hosts: with one host gone it cannot
    be re-created (STRICT_SPREAD needs two), so it is reported pending, never left half-reserved."""
    lc, ex, placement, _, _ = setup
    gpu_gang = next(g for g in ex.gangs if g.spec.pool == GPU)
    victim = gpu_gang.nodes[0]
    before, rec = _kill_and_recover(lc, ex, GPU, victim)
    assert gpu_gang.id in rec.gangs_broken
    assert "finetune" in rec.gangs_pending or rec.gangs_restarted
    assert all(g.spec.pool != GPU or len(set(g.nodes)) == len(g.spec.bundles) for g in ex.gangs)
    _check_recovery(before, rec, ex, placement)
    check_gangs_whole(ex)
    assert any(g.spec.pool == TRN2 for g in ex.gangs)           # the trn2 gang was untouched
