"""The shared HiGHS layer: bulk models with labelled blocks, status/gap/duals read back, the one guard.

Every optimum below is derived by hand in the test's docstring.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfleet import solvers
from polyfleet.solvers import Assembler, Milp


def cover(integer: bool = True) -> Milp:
    """min 3a + 5b  s.t.  2a + 3b >= 7,  0 <= a, b <= 10."""
    a = Assembler()
    x = a.add_cols("x", np.ones(2, bool), cost=[3.0, 5.0], hi=10.0, integer=integer)
    r = a.add_rows("cover", np.ones(1, bool), lo=7.0, entity="demand", unit="units")
    a.coef(r, x, [2.0, 3.0])
    return a.finish()


def test_small_milp_and_its_relaxation_by_hand():
    """Integer points covering 7: (2, 1) costs 11, (4, 0) 12, (1, 2) 13, (0, 3) 15 -> 11 at (2, 1).
    The LP covers with the cheaper ratio, a (3/2 per unit against 5/3): a = 3.5, cost 10.5, and the
    cover row's dual is 1.5 (one more unit of cover costs half an a)."""
    model = cover()
    mip = solvers.run(solvers.load(model, {"mip_rel_gap": 0.0}), model)
    assert mip.optimal and mip.status == "Optimal" and mip.code == "optimal"
    assert mip.objective == pytest.approx(11.0) and mip.x.tolist() == pytest.approx([2.0, 1.0])
    assert mip.mip_gap == pytest.approx(0.0, abs=1e-9) and mip.row_dual is None and mip.solve_seconds >= 0
    lp = solvers.run(solvers.load(model, relax=True), model, relax=True)
    assert lp.objective == pytest.approx(10.5) and lp.x.tolist() == pytest.approx([3.5, 0.0])
    assert lp.mip_gap == 0.0 and lp.row_dual.tolist() == pytest.approx([1.5])


def test_maximise_and_an_infeasible_model():
    """max x + y  s.t.  x + 2y <= 4,  3x + y <= 6: the vertex where both bind, x = 8/5, y = 6/5, gives
    2.8 (the axes give 2). Adding x + y >= 3 leaves nothing: HiGHS says Infeasible, and no point."""
    A = sp.csc_matrix(np.array([[1.0, 2.0], [3.0, 1.0]]))
    model = Milp(A=A, cost=np.ones(2), col_lo=np.zeros(2), col_hi=np.full(2, np.inf),
                 row_lo=np.full(2, -np.inf), row_hi=np.array([4.0, 6.0]), integer=np.zeros(2, bool), sense="max")
    sol = solvers.run(solvers.load(model), model)
    assert sol.objective == pytest.approx(2.8) and sol.x.tolist() == pytest.approx([1.6, 1.2])
    worse = model.with_rows(3.0, np.inf, np.arange(2), np.ones(2))
    bad = solvers.run(solvers.load(worse), worse)
    assert not bad.has_solution and bad.x is None and bad.code == "infeasible" and not bad.optimal


def test_labelled_blocks_keep_their_shape_and_skip_absent_cells():
    """Columns exist only where `present` is true; value() puts the solution back in the block's shape."""
    a = Assembler()
    present = np.array([[True, False], [True, True]])
    idx = a.add_cols("y", present, cost=1.0, lo=[[1.0, 0.0], [2.0, 3.0]])
    assert idx.tolist() == [[0, -1], [1, 2]]
    model = a.finish()
    sol = solvers.run(solvers.load(model), model)
    assert np.isnan(model.value("y", sol.x, fill=np.nan)[0, 1])
    assert model.value("y", sol.x).tolist() == [[1.0, 0.0], [2.0, 3.0]]


def test_consistent_rejects_a_wrong_objective_a_broken_row_and_a_broken_bound():
    model = cover()
    good = np.array([2.0, 1.0])
    assert solvers.consistent(model, good, 11.0)
    assert not solvers.consistent(model, good, 9.0)                    # HiGHS's 1.16 bug: objective is not c.x
    assert not solvers.consistent(model, np.array([1.0, 1.0]), 8.0)    # 2 + 3 = 5 < 7
    assert not solvers.consistent(model, np.array([11.0, 0.0]), 33.0)  # a above its bound 10
    assert not solvers.consistent(model, good, None)


def test_the_guard_solves_again_without_presolve(monkeypatch):
    """When the first point fails the check, the same instance runs again with presolve off, then
    presolve goes back to HiGHS's default."""
    model = cover()
    calls = []
    real = solvers.consistent

    def first_fails(m, x, objective, **kw):
        calls.append(objective)
        return len(calls) > 1 and real(m, x, objective, **kw)

    monkeypatch.setattr("polyfleet.solvers.highs.consistent", first_fails)
    h = solvers.load(model, {"mip_rel_gap": 0.0})
    sol = solvers.run(h, model)
    assert sol.resolved and len(calls) == 1 and sol.objective == pytest.approx(11.0)
    assert h.getOptionValue("presolve")[1] == "choose"
    calm = solvers.run(solvers.load(model), model, guard=False)
    assert not calm.resolved and len(calls) == 1


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.5, 20.0), min_size=2, max_size=6), st.floats(1.0, 50.0))
def test_covering_lp_matches_the_best_ratio(costs, need):
    """min sum c_i x_i  s.t.  sum x_i >= need: the LP buys only the cheapest column, need x min c,
    and the dual of the row is min c (independent of HiGHS: a one-line argument)."""
    a = Assembler()
    x = a.add_cols("x", np.ones(len(costs), bool), cost=np.array(costs))
    r = a.add_rows("need", np.ones(1, bool), lo=need)
    a.coef(r, x, 1.0)
    model = a.finish()
    sol = solvers.run(solvers.load(model, relax=True), model, relax=True)
    assert sol.objective == pytest.approx(need * min(costs), rel=1e-9)
    assert sol.row_dual[0] == pytest.approx(min(costs), rel=1e-9)
    assert solvers.consistent(model, sol.x, sol.objective)


def test_watch_hears_each_better_plan_and_the_last_one_is_the_answer():
    """A knapsack-like MILP whose optimum is found after a start point: the watcher's last best plan is
    the objective HiGHS returns, every best plan it hears is no better than the bound it hears with it,
    and the objectives it hears only improve."""
    import numpy as np

    from polyfleet.solvers import Assembler, load, run

    a = Assembler()
    x = a.add_cols("x", np.ones(6, bool), cost=[7.0, 9.0, 11.0, 13.0, 17.0, 19.0], hi=9.0, integer=True)
    r = a.add_rows("cover", np.ones(1, bool), lo=37.5)
    a.coef(r[:, None], x[None, :], np.array([[2.0, 3.0, 4.0, 5.0, 7.0, 8.0]]))
    model = a.finish()
    heard = []
    sol = run(load(model, {"mip_rel_gap": 0.0}), model, start=np.array([9.0, 9.0, 0, 0, 0, 0]), watch=heard.append)
    assert sol.optimal
    assert heard, "the start point and the optimum are both improving solutions"
    objs = [h.objective for h in heard]
    assert objs == sorted(objs, reverse=True)
    assert objs[-1] == pytest.approx(sol.objective)
    assert all(h.bound <= h.objective + 1e-9 for h in heard if np.isfinite(h.bound))
    assert "best $" in heard[-1].line()


def test_a_node_limit_stops_the_search_and_says_it_was_the_work_limit():
    """With one node allowed and no gap accepted, a MILP whose root does not close stops on the node
    limit: the status names the work limit and the plan is not called optimal."""
    import numpy as np

    from polyfleet.solvers import Assembler, load, run

    rng = np.random.default_rng(3)
    a = Assembler()
    n = 40
    x = a.add_cols("x", np.ones(n, bool), cost=rng.uniform(10, 20, n), hi=1.0, integer=True)
    r = a.add_rows("cover", np.ones(3, bool), lo=rng.uniform(40, 60, 3))
    a.coef(r[:, None], x[None, :], rng.uniform(1, 5, (3, n)))
    model = a.finish()
    sol = run(load(model, {"mip_rel_gap": 0.0, "mip_max_nodes": 1, "mip_heuristic_effort": 0.0,
                           "presolve": "off"}), model)
    if sol.optimal:
        pytest.skip("HiGHS closed this instance at the root; the limit was never reached")
    assert sol.code == "work_limit"
    assert "Work limit" in sol.status


def _hard_milp(n=60, seed=5):
    from polyfleet.solvers import Assembler
    rng = np.random.default_rng(seed)
    a = Assembler()
    x = a.add_cols("x", np.ones(n, bool), cost=rng.uniform(10, 20, n), hi=1.0, integer=True)
    r = a.add_rows("cover", np.ones(8, bool), lo=rng.uniform(60, 90, 8))
    a.coef(r[:, None], x[None, :], rng.uniform(1, 5, (8, n)))
    return a.finish()


def test_ctrl_c_inside_a_solve_stops_it_and_is_raised():
    """HiGHS swallows an exception raised in a Python callback, so a Ctrl-C that lands while it
    solves must not be lost: SIGINT at the first better plan stops the search (far fewer nodes
    than the uninterrupted solve of the same model) and KeyboardInterrupt comes out of `run`; the
    process's own SIGINT handler is back afterwards."""
    import os
    import signal

    from polyfleet.solvers import load, run

    model = _hard_milp()
    full = run(load(model, {"mip_rel_gap": 0.0, "presolve": "off"}), model)
    seen = []

    def watch(inc):
        seen.append(inc.nodes)
        if len(seen) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)
    h = load(model, {"mip_rel_gap": 0.0, "presolve": "off"})
    with pytest.raises(KeyboardInterrupt):
        run(h, model, watch=watch)
    assert signal.getsignal(signal.SIGINT) is before
    assert full.optimal and full.nodes > 10 and len(seen) == 1
    assert h.getInfo().mip_node_count < full.nodes / 2
