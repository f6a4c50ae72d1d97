"""The one way a scenario is placed (bridges.placement), shared by `polyfleet place`, the exports and
the service: the planner's tier order, the fleet at what its entries pay, and the same result from
every face."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from polyfleet.bridges.placement import class_order, priced_chips, scenario_placement, scenario_work, term_price
from polyfleet.perf.ratetable import TERMS
from polyfleet.scenario import load_scenario
from polyfleet.sim.build import class_order as sim_order

TINY = Path(__file__).parent / "server" / "data" / "tiny.yaml"
AWS, GCP, NEBIUS = "aws/p5.48xlarge/us-east-1", "gcp/tpu-v6e-8/us-east5", "nebius/gpu-h200-sxm_8gpu/eu-north1"


def _tiny(tmp_path, nebius_price: float | None = None, **extra):
    doc = yaml.safe_load(TINY.read_text())
    if nebius_price is not None:
        doc["fleet"][2]["usd_per_chip_hour"] = nebius_price
    doc.update(extra)
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def test_tiers_rank_as_the_planner_and_simulator_rank_them(tmp_path):
    """A tenant at survivability 0 ranks above the default class `standard` at 0, and batch comes last
    (sim.build.class_order); the exports used to rank ties in the file's order instead."""
    scn = load_scenario(_tiny(tmp_path))
    req = scn.priority_classes()
    classes = tuple(req)
    want = [classes[k] for k in sim_order(classes, np.array([req[c] for c in classes]), ("enterprise", "self-serve"))]
    assert class_order(scn) == want
    assert want.index("critical") < want.index("enterprise") < want.index("high")   # 1.0 > 0.9 > 0.5
    assert want.index("self-serve") < want.index("standard") < want.index("batch") == len(want) - 1
    assert scenario_work(scn).tiers == ("enterprise", "self-serve")                 # the tiers with demand


def test_a_pool_is_charged_its_contract_price_else_the_catalogs_for_its_term(tmp_path):
    """A pool pays the contract price its entry gives, else the catalog's price for its term (v6e:
    commit_1y known, below on-demand), else on-demand (the catalog has no commit_1y price for the
    nebius H200 that tiny.yaml holds under commit_1y); an offering held under two terms, chip-weighted."""
    scn = load_scenario(_tiny(tmp_path))
    table = scenario_work(scn).table
    commit = float(table.usd_per_chip_hour[table.o(GCP), TERMS.index("commit_1y")])
    on_demand = float(table.usd_per_chip_hour[table.o(GCP), TERMS.index("on_demand")])
    assert np.isfinite(commit) and commit < on_demand
    assert term_price(table, GCP, "commit_1y") == commit
    assert np.isnan(table.usd_per_chip_hour[table.o(NEBIUS), TERMS.index("commit_1y")])
    assert term_price(table, NEBIUS, "commit_1y") == term_price(table, NEBIUS, "on_demand") > 0
    assert term_price(table, NEBIUS, "commit_1y", 1.25) == 1.25
    ids, chips, price = priced_chips(table, [(GCP, "commit_1y", 8.0, None), (GCP, "on_demand", 24.0, None),
                                             (AWS, "on_demand", 16.0, None)])
    assert ids == [GCP, AWS] and chips.tolist() == [32.0, 16.0]
    assert price[0] == pytest.approx((8 * commit + 24 * on_demand) / 32)            # chip-weighted
    sp = scenario_placement(load_scenario(_tiny(tmp_path, nebius_price=1.25)))
    pay = dict(zip(sp.pools, (term_price(table, AWS, "on_demand"), term_price(table, GCP, "on_demand"), 1.25)))
    pl = sp.fleet.inference
    chips_on = (pl.replicas * pl.instance.chips).sum(axis=0)
    assert pl.usd_per_hour == pytest.approx(sum(c * pay[p] for p, c in zip(pl.pools, chips_on)))


def test_place_and_the_exports_place_alike(tmp_path, run_cli):
    """`polyfleet place --format json` is the shared placement's replicas and cost."""
    path = _tiny(tmp_path, nebius_price=1.25)
    code, out, err = run_cli("place", str(path), "--format", "json", "--quiet")
    assert code == 0, err
    doc = json.loads(out)
    sp = scenario_placement(load_scenario(path))
    pl = sp.fleet.inference
    shared = {(pl.services[s], pl.pools[p], int(pl.replicas[s, p])) for s, p in zip(*np.nonzero(pl.replicas))}
    assert {(r["service"], r["pool"], r["replicas"]) for r in doc["replicas"]} == shared
    assert doc["placement"]["usd_per_hour"] == pytest.approx(pl.usd_per_hour)
