"""Properties of the planner that hold for any input: more demand or a tighter cap never costs less.

Instances are small and random (2-3 offerings, 2-3 months, 1-2 workloads, whole units of 1-8 chips),
solved to optimality (gap 1e-9) so the comparisons are exact up to solver tolerance.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyfleet.plan import Cap, Contingency, PlanOptions, SolveOptions, plan, simple_inputs

EXACT = PlanOptions(solve=SolveOptions(mip_rel_gap=1e-9, time_limit=20), binding=False, survivability=False)
# PLAN_EXAMPLES=200 for a longer hunt; 15 keeps the suite quick
SETTINGS = settings(max_examples=int(os.environ.get("PLAN_EXAMPLES", 15)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def instances(draw):
    n_off = draw(st.integers(2, 3))
    months = draw(st.integers(2, 3))
    offs = []
    for i in range(n_off):
        od = draw(st.floats(0.5, 3.0))
        offs.append(dict(id=f"o{i}", vendor=f"v{i % 2}", provider=f"p{i}", unit_chips=draw(st.sampled_from([1, 4, 8])),
                         on_demand=od, commit_1y=od * draw(st.floats(0.5, 0.95))))
    wls = []
    for w in range(draw(st.integers(1, 2))):
        rates = {f"o{i}": draw(st.sampled_from([0.0, 1.0, 2.0, 5.0])) for i in range(n_off)}
        rates["o0"] = max(rates["o0"], 1.0)                       # every workload runs somewhere
        demand = [draw(st.floats(1.0, 200.0)) for _ in range(months)]
        wls.append(dict(id=f"w{w}", demand=demand, rates=rates, classes={"gold": 1.0}))
    inp = simple_inputs(offerings=offs, workloads=wls, months=months, hours=1.0, classes={"gold": 0.0})
    if draw(st.booleans()):                                     # sometimes a survivability requirement too
        keep = np.ones(n_off)
        keep[0] = 0.0
        inp = replace(inp, required=np.array([draw(st.floats(0.1, 0.9))]),
                      contingencies=(Contingency("lose-o0", "loss of o0", "x", keep, np.zeros(n_off, bool)),))
    return inp


def cost(inp) -> float | None:
    r = plan(inp, EXACT)
    assert r.solution.status in ("Optimal", "Infeasible")
    return r.total_cost if r.feasible else None


@SETTINGS
@given(instances(), st.floats(1.0, 3.0))
def test_scaling_demand_never_lowers_cost(inp, k):
    base = cost(inp)
    more = cost(replace(inp, demand=inp.demand * k))
    if base is None:
        assert more is None                                     # more demand cannot become feasible
    elif more is not None:
        assert more >= base * (1 - 1e-7) - 1e-6


@SETTINGS
@given(instances(), st.floats(0.3, 1.0), st.floats(0.5, 1.0))
def test_tightening_a_cap_never_lowers_cost(inp, share, factor):
    mask = np.array([v == "v0" for v in inp.facts.vendor])
    loose = replace(inp, caps=(Cap("vendor", "v0", mask, share),), share_coef=np.ones(inp.O))
    tight = replace(inp, caps=(Cap("vendor", "v0", mask, share * factor),), share_coef=np.ones(inp.O))
    a, b = cost(loose), cost(tight)
    if a is None:
        assert b is None
    elif b is not None:
        assert b >= a * (1 - 1e-7) - 1e-6


@SETTINGS
@given(instances())
def test_a_risk_policy_never_lowers_cost(inp):
    free = cost(inp.without_risk_policy())
    policy = cost(inp)
    if policy is not None:
        assert free is not None and policy >= free * (1 - 1e-7) - 1e-6
