"""`polyfleet place`: where each workload runs on a scenario's fleet now, and where it goes if a pool fails."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from ..errors import UnknownNameError, UserError
from ..report.place_doc import place_doc
from ..report.tables import Column, emit, jsonable, num
from ..report.units import plural
from . import app, options as opt, preflight
from .common import load, pct, progress, to_csv, write_outputs

FORMAT = typer.Option("table", "--format", "-f", help="table, json or csv (replicas; printed on stdout).")
PLACE_FILES = ("place.json", "replicas.csv", "tiers.csv", "training.csv")


@app.command("place", epilog="Examples:\n\n"
             "  polyfleet place                              (frontier-2026's fleet on hand, its first month)\n\n"
             "  polyfleet place --month 2026-09 --from-plan  (the plan's fleet that month)\n\n"
             "  polyfleet place --lose gcp/tpu-v6e-8/us-east5 --format json\n\n"
             "  polyfleet place --lose gcp/tpu-v6e-8/us-east5 --rebalance\n\n"
             "The fleet is the scenario's `fleet:` section (or, with --from-plan or when it has none, what the plan "
             "holds that month). Inference is placed for the month's peak demand with tiers in priority order; "
             "training runs where the plan put it (--from-plan) or in gangs on the chips left. --lose re-places after "
             "losing pools and shows the state after, with before beside it, and the moves: only replicas on lost "
             "pools move (and lower tiers a higher one needs room from); --rebalance re-places globally.\n\n"
             "--out DIR writes place.json, replicas.csv, tiers.csv and training.csv.")
def place_cmd(
    ctx: typer.Context,
    scenario: str = opt.SCENARIO,
    month: str | None = typer.Option(None, "--month", help="Month of the demand (YYYY-MM; default: the first)."),
    from_plan: bool = typer.Option(False, "--from-plan", help="Use the plan's fleet for that month."),
    lose: list[str] = typer.Option([], "--lose", metavar="POOL", help="A pool (offering id) to lose; repeatable."),
    rebalance: bool = typer.Option(False, "--rebalance", help="With --lose: re-place globally (may move replicas "
                                   "on healthy pools) instead of moving only what the lost pools held."),
    method: str = typer.Option("lp", "--method", help="lp (fast, near-optimal), milp (exact) or greedy."),
    gap: float = opt.GAP,
    time_limit: float = opt.TIME_LIMIT,
    out: Path | None = opt.OUT,
    fmt: str = FORMAT,
    overwrite: bool = opt.OVERWRITE,
    quiet: bool = opt.QUIET,
) -> None:
    """Place the scenario's inference services and training on its current fleet; optionally fail pools."""
    from ..bridges.placement import scenario_placement
    from ..place import PlaceOptions, failover_fleet
    from ..plan import PlanOptions, SolveOptions
    from ..scenario.checks import fault_targets
    from ..scenario.series import month_offset, parse_month

    preflight.options(ctx, outputs=PLACE_FILES)
    scn = load(ctx, scenario)
    offerings = fault_targets(scn)["offering"]
    for p in lose:
        if p not in offerings:
            raise UnknownNameError("pool", p, offerings, where="--lose")
    plan_opts = PlanOptions(solve=SolveOptions(mip_rel_gap=gap, time_limit=time_limit))
    try:
        t = month_offset(scn.horizon.start, parse_month(month)) if month else 0
    except ValueError as exc:
        raise UserError(str(exc), field="--month", allowed="YYYY-MM") from None
    if not 0 <= t < scn.horizon.months:
        raise UserError(f"{month} is outside the horizon", field="--month",
                        allowed=f"{scn.months[0]} .. {scn.months[-1]}")
    opts = PlaceOptions(method=method)
    with progress(quiet) as say:
        # the steps every face shares (bridges.placement): one tier order, the fleet at what it pays
        sp = scenario_placement(scn, t, from_plan=from_plan, options=opts, plan_options=plan_opts, say=say)
        fp = sp.fleet
        missing = [p for p in lose if p not in fp.pools]
        if missing:
            raise UnknownNameError("pool", missing[0], fp.pools, where="--lose")
        after = None
        if lose:
            say("failing over")
            after = failover_fleet(sp.table, fp, lose, rebalance=rebalance, options=opts)
    doc = place_doc(scn, t, fp, after, lose, rebalance)
    written = []
    if out is not None:
        written = write_outputs(out, {"place.json": json.dumps(jsonable(doc), indent=1),
                                      "replicas.csv": to_csv(doc["replicas"]), "tiers.csv": to_csv(doc["tiers"]),
                                      "training.csv": to_csv([{k: v for k, v in r.items() if k != "pools"}
                                                              for r in doc["training"]])}, overwrite)
    if fmt == "json":
        print(json.dumps(jsonable(doc), indent=2))
    elif fmt == "csv":
        sys.stdout.write(to_csv(doc["replicas"]))
    else:
        _print(doc)
    if written:
        Console(stderr=True).print(f"[dim]wrote {len(written)} files to {out}[/dim]")


def _routing(v) -> str:
    """A routing share; a needed sliver reads '<0.1%', never '0.0%'."""
    return "-" if v is None else "<0.1%" if 0 < v < 0.0005 else pct(v)


def _print(doc: dict) -> None:
    console = Console(width=None if sys.stdout.isatty() else 160)
    f = doc.get("failover")
    head = f"[bold]{doc['scenario']}[/bold], {doc['month']}: {sum(doc['fleet_chips'].values()):,.0f} chips in " \
           f"{plural(sum(1 for c in doc['fleet_chips'].values() if c > 0), 'pool')}, {doc['idle_chips']:,.0f} idle"
    if f:
        head += f" after losing {', '.join(f['lost'])} (before: {sum(doc['fleet_chips_before'].values()):,.0f} chips)"
    console.print(head)
    before = [Column("replicas_before", "replicas before")] if f else []
    emit(doc["replicas"], "table", [Column("service", "service", justify="left"),
                                    Column("pool", "pool", justify="left"), Column("replicas", "replicas"),
                                    *before, Column("chips", "chips"), Column("tokens_per_s", "tokens/s", num(0)),
                                    Column("routing_weight", "routing", _routing)],
         title="Inference replicas" + (" after the loss" if f else "")
               + " (routing = share of the service's traffic the load balancer sends)", console=console)
    cols = [Column("service", "service", justify="left"), Column("tier", "tier", justify="left"),
            Column("demand_tokens_per_s", "peak demand (tokens/s)", num(0))]
    cols += ([Column("served_share_before", "served before", pct), Column("served_share", "served after", pct)]
             if f else [Column("served_share", "served", pct)])
    emit(doc["tiers"], "table", cols, title="Service by tier", console=console)
    if doc["training"]:
        cols = [Column("workload", "training", justify="left"),
                Column("demand_tokens_per_s", "needs tokens/s", num(0))]
        cols += ([Column("tokens_per_s_before", "gets before", num(0)), Column("tokens_per_s", "gets after", num(0)),
                  Column("chips_before", "chips before", num(0)), Column("chips", "chips after", num(0))] if f else
                 [Column("tokens_per_s", "gets tokens/s", num(0)), Column("chips", "chips", num(0))])
        emit(doc["training"], "table", cols, title="Training on its chips", console=console)
    if f:
        emit(f["moves"], "table", [Column("service", "service", justify="left"),
                                   Column("from_pool", "from", justify="left"),
                                   Column("from_replicas", "replicas stopped"), Column("from_chips", "chips"),
                                   Column("to_pool", "to", justify="left"), Column("to_replicas", "replicas started"),
                                   Column("to_chips", "chips"), Column("start_usd", "cold-start $", num(0)),
                                   Column("why", "why", justify="left")],
             title=f"Failover after losing {', '.join(f['lost'])}: {plural(len(f['moves']), 'move')}"
                   + (" (global re-placement)" if f["rebalance"] else " (only what the lost pools held)"),
             console=console)
        for n in f["notes"]:
            console.print(Text(f"note: {n}", style="yellow"))
        for u in f["unserved"]:
            share = f"{u['share']:.1%}" if u["share"] >= 0.001 else f"{u['share']:.2%}"
            console.print(f"  unserved: {u['service']} / {u['tier']}: {u['tokens_per_s']:,.0f} tokens/s ({share})")
