"""One `polyfleet plan` invocation: what it solves (the plan and whatever the flags add), the JSON
document, the files of `--out` and the tables, each from the same `PlanRun`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..report.tables import jsonable
from .common import to_csv


@dataclass(frozen=True)
class PlanAsks:
    """What the command line asks for beyond the plan."""

    compare: bool = False
    frontier: bool = False
    levels: tuple[float, ...] = ()
    deals: bool = False
    robust: bool = False
    paths: int | None = None
    sensitivity: bool = False


@dataclass
class PlanRun:
    scenario: Any
    result: Any
    nominal: Any = None          # the plan at central rates (--robust)
    deals: Any = None            # the deals as signed against a free choice (--deals)
    compare: Any = None          # single-vendor / single-cloud / least-cost strategies (--compare)
    frontier: Any = None         # cost against the survivability level (--frontier)
    sensitivity: Any = None      # the tornado (--sensitivity)

    def document(self) -> dict:
        """plan.json: the plan and each part the flags added."""
        from ..plan.robust import robust_cost
        doc = self.result.to_dict()
        if self.nominal is not None:
            doc["robust"] = robust_cost(self.result, self.nominal)
        for key, part, rows in (("deals", self.deals, "to_dict"), ("compare", self.compare, "rows"),
                                ("frontier", self.frontier, "rows"), ("sensitivity", self.sensitivity, "to_dict")):
            if part is not None:
                doc[key] = getattr(part, rows)()
        return doc

    def files(self, doc: dict) -> dict[str, str]:
        """Every file of --out, by name."""
        from ..plan.schedule import PROCUREMENT_FIELDS, procurement_rows
        from ..report import html
        r = self.result
        files = {"plan.json": json.dumps(jsonable(doc), indent=1), "plan.csv": to_csv(r.offering_rows()),
                 "months.csv": to_csv(r.month_rows()),
                 "survivability.csv": to_csv(r.survivability.rows() if r.survivability else []),
                 "binding.csv": to_csv(doc.get("binding_constraints", [])),
                 "procurement.csv": to_csv(procurement_rows(r)) or ",".join(PROCUREMENT_FIELDS) + "\n",
                 "report.html": html.render(f"polyfleet plan: {r.inputs.name}", self.sections(),
                                            self.scenario.description.strip())}
        for name, part, rows in (("compare.csv", self.compare, lambda p: p.rows()),
                                 ("frontier.csv", self.frontier, lambda p: p.rows()),
                                 ("paths.csv", r.paths, lambda p: p["paths"]),
                                 ("sensitivity.csv", self.sensitivity, lambda p: p.rows)):
            if part is not None:
                files[name] = to_csv(rows(part))
        return files

    def sections(self) -> list:
        """The HTML report's sections: the plan's, then each part the flags added."""
        from ..report import html
        from ..report.contracts import deals_section
        out = html.plan_sections(self.result)
        if self.result.paths is not None:
            out.append(html.paths_section(self.result.paths))
        if self.sensitivity is not None:
            out.append(html.sensitivity_section(self.sensitivity.to_dict()))
        if self.deals is not None:
            out.append(deals_section(self.deals))
        if self.compare is not None:
            out.append(html.compare_section(self.compare))
        if self.frontier is not None:
            out.append(html.frontier_section(self.frontier))
        return out

    def print_tables(self, doc: dict) -> None:
        from .contracts_view import print_deals
        from .plan_views import console_for_stdout, print_robust, print_tables
        from .uncertainty import print_paths, print_sensitivity
        print_tables(self.result, self.compare, self.frontier)
        console = console_for_stdout()
        if self.deals is not None:
            print_deals(self.deals)
        if self.nominal is not None:
            print_robust(doc["robust"], console)
        if self.result.paths is not None:
            print_paths(self.result.paths, console)
        if self.sensitivity is not None:
            print_sensitivity(self.sensitivity.to_dict(), console)
        unc = self.scenario.uncertainty
        if self.result.paths is None and (unc.paths or unc.sample):
            console.print("[dim]the scenario's uncertainty: section is read by --paths N[/dim]")


def solve_run(scn, opts, asks: PlanAsks, say: Callable[[str], None]) -> PlanRun:
    """The plan (at the pessimistic rates with --robust, over demand paths with --paths) and what the
    flags add, each solved with the same options."""
    from ..plan import compare, deals_vs_free, frontier, plan
    from ..plan.from_scenario import inputs_from_scenario
    from ..plan.stochastic import plan_scenario_paths
    from .uncertainty import run_sensitivity
    say("reading the scenario and building the rate table")
    run = PlanRun(scenario=scn, result=None)
    if asks.robust:
        table = scn.rate_table()
        say("solving the nominal plan (central rates) to price the robust one against")
        run.nominal = plan(inputs_from_scenario(scn, table=table), opts, progress=say)
        inp = inputs_from_scenario(scn, table=table.pessimistic())
    else:
        inp = inputs_from_scenario(scn)
    run.result = (plan(inp, opts, progress=say) if asks.paths is None
                  else plan_scenario_paths(scn, inp, asks.paths, opts.solve, say))
    if asks.sensitivity:
        run.sensitivity = run_sensitivity(scn, inp, opts.solve, say)
    if asks.deals and run.result.feasible:
        run.deals = deals_vs_free(inp, opts, progress=say, as_signed=run.result)
    if asks.compare:
        run.compare = compare(inp, opts, policy=None, progress=say)
    if asks.frontier:
        run.frontier = frontier(inp, list(asks.levels), opts, progress=say)
    return run
