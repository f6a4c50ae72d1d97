"""The HiGHS layer: LP/MILP models built in bulk and solved, for planning and placement alike.

    from polyfleet.solvers import Assembler, load, run
    a = Assembler()
    x = a.add_cols("x", np.ones(3, bool), cost=[1.0, 2.0, 3.0], hi=10.0, integer=True)
    r = a.add_rows("demand", np.ones(1, bool), lo=4.0)
    a.coef(r, x, 1.0)                     # broadcast: one call per block, never per coefficient
    model = a.finish()
    sol = run(load(model, {"mip_rel_gap": 1e-6}), model)
    sol.status, sol.objective, sol.mip_gap, sol.solve_seconds, sol.x

A leaf like `errors`: it imports nothing of polyfleet, so every layer that solves may import it.
"""

from .blocks import INF, Assembler, Milp, RowBlock, band
from .highs import (BASIC, LOWER, Incumbent, Solution, basis, consistent, load, quiet_highs, read, row_violations, run,
                    set_basis, set_row_bounds, set_start)

__all__ = ["BASIC", "INF", "LOWER", "Assembler", "Incumbent", "Milp", "RowBlock", "Solution", "band", "basis", "consistent",
           "load", "quiet_highs", "read", "row_violations", "run", "set_basis", "set_row_bounds", "set_start"]
