"""Plans of small scenarios checked by reasoning, not by numbers copied from a run: a cap on on-demand
chips, and commitments already held when the horizon starts."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from polyfleet.catalog import load_catalog
from polyfleet.plan import PlanOptions, SolveOptions, plan
from polyfleet.report.tables import jsonable
from polyfleet.scenario import load_scenario

EXACT = PlanOptions(solve=SolveOptions(mip_rel_gap=1e-9))
TPU = "gcp/tpu-v6e-8/us-east1"
BASE = f"""
name: hand
horizon: {{start: 2026-01, months: 2}}
offerings:
  include:
    - {{provider: gcp, accelerator: tpu-v6e, region: gcp/us-east1}}
workloads:
  services:
    - {{id: chat, model: llama-3.1-8b, input_tokens: 1000, output_tokens: 200, tokens_per_s: 2.0e5}}
"""


def solve(tmp_path, extra: str):
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(BASE) + textwrap.dedent(extra), encoding="utf-8")
    res = plan(load_scenario(path), EXACT)
    return res, (json.loads(json.dumps(jsonable(res.to_dict()))) if res.feasible else None)


def test_on_demand_cap_binds_at_one_unit_below_the_uncapped_need(tmp_path):
    """Only on-demand and spot; spot is cheaper per firm chip ($0.648 / 0.6 < $2.7) and capped at 40
    chips (5 units), so the least-cost plan buys the fewest on-demand units u that meet demand with at
    most 5 spot units. A cap of u units' chips leaves that plan as it is; with one unit less, even 5 spot
    units cannot make it up (else that cheaper mix would have been the least-cost plan)."""
    terms = "money: {terms: [on_demand, spot]}\n"
    _, free = solve(tmp_path, terms + "supply: {spot_max_chips: 40}\n")
    u = max(r["on_demand_units"] for r in free["plan"])
    assert u > 0 and all(0 < r["spot_units"] <= 5 for r in free["plan"])
    _, capped = solve(tmp_path, terms + f"supply: {{spot_max_chips: 40, on_demand_max_chips: {8 * u}}}\n")
    assert capped["totals"]["cost_usd"] == pytest.approx(free["totals"]["cost_usd"])
    short, _ = solve(tmp_path, terms + f"supply: {{spot_max_chips: 40, on_demand_max_chips: {8 * (u - 1)}}}\n")
    assert not short.feasible


def test_a_held_commitment_is_paid_for_its_months_left(tmp_path):
    """3 units (24 chips) on a 1-year commitment with 1 month left: month 1 holds them and pays
    24 x 730 h x the catalog's commit_1y price; month 2 does not hold them. The solver's objective (which
    carries the held commitment as a fixed cost) equals the sum of the rows priced from the catalog."""
    res, doc = solve(tmp_path, f"fleet:\n  - {{offering: {TPU}, units: 3, term: commit_1y, months_left: 1}}\n")
    off = load_catalog().offering(TPU)
    rows = {r["month"]: r for r in doc["plan"]}
    assert rows["2026-01"]["commit_1y_units"] == 3 and rows["2026-02"]["commit_1y_units"] == 0
    total = 0.0
    for r in doc["plan"]:
        cost = sum(r[f"{t}_units"] * off.unit_chips * off.price(t).value * 730
                   for t in ("on_demand", "spot", "commit_1y", "commit_3y"))
        assert r["cost_usd"] == pytest.approx(cost, rel=1e-9)
        total += cost
    assert 3 * 8 * 730 * off.price("commit_1y").value <= rows["2026-01"]["cost_usd"]
    assert doc["solver"]["objective_usd"] == pytest.approx(total, rel=1e-6)


TWO = f"""
name: two
horizon: {{start: 2026-01, months: 2}}
offerings:
  include:
    - {{provider: gcp, accelerator: tpu-v6e, region: gcp/us-east1}}
    - {{provider: aws, accelerator: h200, region: aws/us-east-1}}
workloads:
  services:
    - {{id: chat, model: llama-3.1-8b, input_tokens: 1000, output_tokens: 200, tokens_per_s: 2.0e5}}
tenants:
  - {{id: enterprise, share: 0.5, survive: 0.5}}
"""


def plan_of(tmp_path, text: str):
    path = tmp_path / "two.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return plan(load_scenario(path), EXACT)


def test_automatic_region_and_vendor_failures(tmp_path):
    """auto_failures [region, vendor] on Google TPUs in two regions and NVIDIA chips in one: one set per
    region, each losing exactly its region's offerings, then one per vendor unless an earlier set already
    loses the same offerings (NVIDIA's is aws/us-east-1's); the plan keeps half of enterprise's demand
    through each."""
    text = TWO.replace("region: gcp/us-east1}", "region: [gcp/us-east1, gcp/us-central1]}")
    res = plan_of(tmp_path, text + "risk: {auto_failures: [region, vendor]}\n")
    offs = res.inputs.offerings
    lost = {c.id: (c.kind, [o for o, k in zip(offs, c.keep) if k == 0]) for c in res.inputs.contingencies}
    east, central, aws = "gcp/tpu-v6e-8/us-east1", "gcp/tpu-v6e-8/us-central1", "aws/p5en.48xlarge/us-east-1"
    assert sorted(offs) == sorted([east, central, aws])
    assert lost == {"region:aws/us-east-1": ("region", [aws]), "region:gcp/us-central1": ("region", [central]),
                    "region:gcp/us-east1": ("region", [east]),
                    "vendor:google": ("vendor", [o for o in offs if o in (east, central)])}
    rows = {r["failure"]: r for r in res.survivability.rows()}
    assert set(rows) == {"none", *lost}
    assert all(rows[f]["enterprise"] >= 0.5 - 1e-9 for f in lost)


def test_explicit_failure_sets_and_cvar_scenarios_from_yaml(tmp_path):
    """A named partial failure (Google keeps 40%) and a CVaR what-if that uses it with probability 0.2 at
    alpha 0.5: the plan's inputs carry exactly these numbers, and the what-if's keep is the set's."""
    text = TWO + """
risk:
  failures:
    - {id: google-brownout, vendor: google, keep: 0.4}
  scenarios:
    - {id: brownout, probability: 0.2, failures: [google-brownout]}
  cvar: {alpha: 0.5, weight: 1.0}
"""
    res = plan_of(tmp_path, text)
    tpu = np.array([o.startswith("gcp/") for o in res.inputs.offerings])
    (fail,) = [c for c in res.inputs.contingencies if c.id == "google-brownout"]
    assert fail.keep.tolist() == np.where(tpu, 0.4, 1.0).tolist()
    (case,) = res.inputs.cvar_cases
    assert case.id == "brownout" and case.probability == pytest.approx(0.2)
    assert case.contingency.keep.tolist() == np.where(tpu, 0.4, 1.0).tolist()
    assert res.inputs.cvar_alpha == pytest.approx(0.5) and res.feasible


def test_a_fleet_entry_outside_the_planned_offerings_is_noted_and_ignored(tmp_path):
    """The fleet holds an offering the scenario does not plan with (a region not included): the plan goes
    on without it and says so."""
    res = plan_of(tmp_path, TWO + "fleet:\n  - {offering: gcp/tpu-v6e-8/us-central1, units: 2}\n")
    assert res.feasible
    assert any("gcp/tpu-v6e-8/us-central1" in n and "ignored" in n for n in res.inputs.notes)


def test_an_offering_available_only_from_month_two_holds_nothing_before(tmp_path):
    """Enterprise must keep half its demand through the loss of either provider, so the plan holds both
    Google's and NVIDIA's chips from month 1. A supply rule that makes NVIDIA's chips available only from
    2026-02 leaves month 1 with one provider: no plan, and the conflict is in month 1 alone."""
    base = plan_of(tmp_path, TWO)
    nvidia = [i for i, v in enumerate(base.inputs.facts.vendor) if v == "nvidia"]
    assert base.feasible and nvidia and base.chips[nvidia, 0].sum() > 0
    res = plan_of(tmp_path, TWO + "supply:\n  rules:\n    - {id: late, vendor: nvidia, available_from: 2026-02}\n")
    assert not res.feasible
    assert {m for c in res.diagnosis.conflicts for m in c.months} == {0}
