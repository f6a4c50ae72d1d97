"""The option vocabulary every command shares: one name, one meaning, one help text. `preflight`
checks each by its name, with the same rule wherever it appears."""

from __future__ import annotations

import typer

SCENARIO = typer.Argument("frontier-2026", metavar="SCENARIO", help="Scenario YAML file or built-in name "
                          "(`polyfleet scenario --list`).")
FORMAT = typer.Option("table", "--format", "-f", help="table, json or csv (printed on stdout).")
FORMAT_OUT = typer.Option("table", "--format", "-f", help="table, json or csv (printed on stdout); --out always "
                          "writes every format.")
OUT = typer.Option(None, "--out", "-o", metavar="DIR", help="Directory for the report and JSON/CSV files (files "
                   "polyfleet did not write there are never replaced).")
OVERWRITE = typer.Option(False, "--overwrite", help="Replace files in --out that polyfleet did not write.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress on stderr (by default: a spinner or bar on a "
                     "terminal, a plain line every few seconds otherwise).")
SEED = typer.Option(0, "--seed", help="Seed of everything random (same seed, same numbers).")
WORKERS = typer.Option(None, "--workers", help="Local processes (default: all cores).")
GAP = typer.Option(0.005, "--gap", help="Relative MIP gap at which HiGHS may stop planning.")
TIME_LIMIT = typer.Option(600.0, "--time-limit", help="Safety net in seconds per plan solve (plans stop at the gap "
                          "or the node limit long before; a plan stopped by the clock says so).")
NODE_LIMIT = typer.Option(5000, "--node-limit", help="Branch-and-bound nodes per plan solve: a deterministic work "
                          "limit, so the same scenario gives the same plan on any machine at any load.")
MONTHS = typer.Option(None, "--months", help="Months to simulate from the horizon's start (default: the scenario's "
                      "simulation.months, within its horizon).")
STEP = typer.Option(None, "--step-minutes", help="Traffic step in minutes, 1 to 1440 (default: the scenario's, 5).")
WHAT_IF = typer.Option([], "--what-if", metavar="EVENT", help="A fixed event, e.g. outage:provider=gcp,day=30,hours=48 "
                       "or supply-cut:vendor=nvidia,day=60,days=120 (repeatable; checked before any work).")

PATHS = typer.Option(None, "--paths", help="Plan against N demand paths (two-stage: commitments "
                     "signed first, on-demand/spot per path; 2 to 200): the scenario's uncertainty.paths when it "
                     "has them, else N paths sampled as uncertainty.sample says (defaults when absent).")
SENSITIVITY = typer.Option(False, "--sensitivity", help="Tornado: re-plan with prices per vendor +/-20%, demand "
                           "per workload +/-25%, rates per family at their error band, power and supply limits "
                           "+/-20%; cost at each end, sorted by swing.")
