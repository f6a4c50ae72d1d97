"""`polyfleet place`: where each workload runs on a scenario's fleet now, and where it goes if a pool fails."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import typer
from rich.console import Console

from ..errors import InfeasibleError, UnknownNameError, UserError
from ..report.tables import Column, emit, jsonable, num
from . import app, options as opt, preflight
from ..report.units import plural
from .common import load, pct, progress, to_csv, write_outputs

FORMAT = typer.Option("table", "--format", "-f", help="table, json or csv (replicas; printed on stdout).")
PLACE_FILES = ("place.json", "replicas.csv", "tiers.csv", "training.csv")


@app.command("place", epilog="Examples:\n\n"
             "  polyfleet place                              (frontier-2026's fleet on hand, its first month)\n\n"
             "  polyfleet place --month 2026-09 --from-plan  (the plan's fleet that month)\n\n"
             "  polyfleet place --lose gcp/tpu-v6e-8/us-east5 --format json\n\n"
             "The fleet is the scenario's `fleet:` section (or, with --from-plan or when it has none, what the plan "
             "holds that month). Inference is placed for the month's peak demand with tiers in priority order; "
             "training gangs share the chips left. --lose re-places after losing pools and lists the moves.\n\n"
             "--out DIR writes place.json, replicas.csv, tiers.csv and training.csv.")
def place_cmd(
    ctx: typer.Context,
    scenario: str = opt.SCENARIO,
    month: str | None = typer.Option(None, "--month", help="Month of the demand (YYYY-MM; default: the first)."),
    from_plan: bool = typer.Option(False, "--from-plan", help="Use the plan's fleet for that month."),
    lose: list[str] = typer.Option([], "--lose", metavar="POOL", help="A pool (offering id) to lose; repeatable."),
    method: str = typer.Option("lp", "--method", help="lp (fast, near-optimal), milp (exact) or greedy."),
    gap: float = opt.GAP,
    time_limit: float = opt.TIME_LIMIT,
    out: Path | None = opt.OUT,
    fmt: str = FORMAT,
    overwrite: bool = opt.OVERWRITE,
    quiet: bool = opt.QUIET,
) -> None:
    """Place the scenario's inference services and training on its current fleet; optionally fail pools."""
    from ..place import Demand, PlaceOptions, failover, place_fleet
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
    with progress(quiet) as say:
        say("building the rate table")
        table = scn.rate_table()
        chips, reserved, train_demand = _fleet(scn, table, t, from_plan or not scn.fleet, say, plan_opts)
        pools = [p for p in chips if chips[p] > 0]
        missing = [p for p in lose if p not in pools]
        if missing:
            raise UnknownNameError("pool", missing[0], pools, where="--lose")
        services = scn.workloads.services
        classes, share = scn.class_shares()
        keep = [k for k in range(len(classes)) if share[: len(services), k].sum() > 0]
        peak = scn.service_tokens_per_s(peak=True)[:, t]
        demand = Demand(services=tuple(s.id for s in services), tiers=tuple(classes[k] for k in keep),
                        tokens_per_s=peak[:, None] * share[: len(services)][:, keep]) if services else None
        training = [w.id for w in scn.workloads.training]
        gang = np.array([w.chips or table.chips_per_unit[table.w(w.id)].max() for w in scn.workloads.training],
                        dtype=float)
        vec = np.array([chips[p] for p in pools], dtype=float)
        opts = PlaceOptions(method=method)
        say("placing")
        fp = place_fleet(table, pools, vec, inference=demand, training=training,
                         training_demand=np.array([train_demand.get(w, 0.0) for w in training]),
                         gang_chips=np.minimum(gang, scn.simulation.training_shard_chips),
                         reserved=np.array([reserved.get(p, 0.0) for p in pools]), options=opts)
        after = None
        if lose and fp.inference is not None:
            say("failing over")
            after = failover(fp.inference, lost=[p for p in fp.inference.pools if p.split("#")[0] in lose])
    doc = _doc(scn, t, fp, after, train_demand, lose)
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
    if out is not None and written:
        Console(stderr=True).print(f"[dim]wrote {len(written)} files to {out}[/dim]")


def _fleet(scn, table, t: int, use_plan: bool, say, plan_opts):
    """Chips per offering, chips kept for training, and training demand (tokens/s) in month t."""
    hours = scn.horizon.hours_per_month
    if use_plan:
        from ..plan import plan
        from ..plan.from_scenario import inputs_from_scenario
        say("planning")
        inp = inputs_from_scenario(scn)
        res = plan(inp, plan_opts, progress=say)
        if not res.feasible:
            raise InfeasibleError("the scenario has no plan to place", (res.diagnosis.lines() if res.diagnosis
                                                                        else [res.status_line])[:3],
                                  where=scn.source_name)
        ids = inp.facts.ids
        chips = {o: float(res.chips[i, t]) for i, o in enumerate(ids)}
        train = [i for i, k in enumerate(inp.kinds) if k == "training"]
        reserved = {o: float(res.allocation[train, i, t].sum()) for i, o in enumerate(ids)} if train else {}
        demand = {inp.workloads[w]: float(res.served[w, t]) / 3600.0 for w in train}
        return chips, reserved, demand
    cat = scn.context().catalog
    chips: dict[str, float] = {}
    for e in scn.fleet:
        off = cat.offering(e.offering)
        chips[e.offering] = chips.get(e.offering, 0.0) + e.units * off.unit_chips
    demand = {}
    for j, w in enumerate(scn.workloads.training):
        if w.tokens_per_month is not None:
            demand[w.id] = scn.expand(w.tokens_per_month, ("workloads", "training", j, "tokens_per_month"))[t] \
                / (hours * 3600.0)
        elif w.run.start <= scn.months[t] <= w.run.deadline:
            n = sum(w.run.start <= m <= w.run.deadline for m in scn.months)
            demand[w.id] = w.run.tokens / (n * hours * 3600.0)
    return chips, {}, demand


def _doc(scn, t, fp, after, train_demand, lost) -> dict:
    out: dict = {"scenario": scn.name or scn.source_name, "month": scn.months[t],
                 "fleet_chips": {p: float(c) for p, c in zip(fp.pools, fp.chips)},
                 "idle_chips": float(fp.idle_chips.sum())}
    pl = fp.inference
    rows, tiers = [], []
    if pl is not None:
        for s, p in zip(*np.nonzero(pl.replicas)):
            rows.append({"service": pl.services[s], "pool": pl.pools[p], "replicas": int(pl.replicas[s, p]),
                         "chips": int(pl.replicas[s, p] * pl.instance.chips[s, p]),
                         "tokens_per_s": float(pl.capacity_tokens_per_s[s, p]), "routing_weight": float(pl.routing[s, p])})
        d = pl.demand.tokens_per_s
        for s, svc in enumerate(pl.services):
            for k, tier in enumerate(pl.tiers):
                if d[s, k] > 0:
                    tiers.append({"service": svc, "tier": tier, "demand_tokens_per_s": float(d[s, k]),
                                  "served_tokens_per_s": float(pl.served_tokens_per_s[s, k]),
                                  "served_share": float(pl.served_tokens_per_s[s, k] / d[s, k])})
        out["placement"] = pl.summary()
    out["replicas"] = rows
    out["tiers"] = tiers
    out["training"] = [{"workload": w, "demand_tokens_per_s": float(train_demand.get(w, 0.0)),
                        "tokens_per_s": float(v), "chips": float(fp.training_chips[i].sum()),
                        "pools": {p: float(c) for p, c in zip(fp.pools, fp.training_chips[i]) if c > 0.5}}
                       for i, (w, v) in enumerate(zip(fp.training_workloads, fp.training_tokens_per_s))]
    if after is not None:
        out["failover"] = {"lost": sorted(lost),
                           "moves": [m.__dict__ for m in after.moves], "start_usd": after.start_usd,
                           "unserved": [s.__dict__ for s in after.shortfalls()]}
    return out


def _print(doc: dict) -> None:
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(f"[bold]{doc['scenario']}[/bold], {doc['month']}: {sum(doc['fleet_chips'].values()):,.0f} chips "
                  f"in {plural(len(doc['fleet_chips']), 'pool')}, {doc['idle_chips']:,.0f} idle")
    emit(doc["replicas"], "table", [Column("service", "service", justify="left"), Column("pool", "pool",
                                                                                         justify="left"),
                                    Column("replicas", "replicas"), Column("chips", "chips"),
                                    Column("tokens_per_s", "tokens/s", num(0)),
                                    Column("routing_weight", "routing", pct)],
         title="Inference replicas (routing = share of the service's traffic the load balancer sends)",
         console=console)
    emit(doc["tiers"], "table", [Column("service", "service", justify="left"), Column("tier", "tier", justify="left"),
                                 Column("demand_tokens_per_s", "peak demand tokens/s", num(0)),
                                 Column("served_share", "served", pct)], title="Service by tier", console=console)
    if doc["training"]:
        emit(doc["training"], "table", [Column("workload", "training", justify="left"),
                                        Column("demand_tokens_per_s", "needs tokens/s", num(0)),
                                        Column("tokens_per_s", "gets tokens/s", num(0)), Column("chips", "chips",
                                                                                                num(0))],
             title="Training on the chips left (Gavel makespan allocation)", console=console)
    if "failover" in doc:
        f = doc["failover"]
        emit(f["moves"], "table", [Column("service", "service", justify="left"),
                                   Column("from_pool", "from", justify="left"), Column("to_pool", "to", justify="left"),
                                   Column("replicas", "replicas"), Column("start_usd", "cold-start $", num(0))],
             title=f"Failover after losing {', '.join(f['lost'])}: {plural(len(f['moves']), 'move')}", console=console)
        for u in f["unserved"]:
            console.print(f"  unserved: {u['service']} / {u['tier']}: {u['tokens_per_s']:,.0f} tokens/s "
                          f"({u['share']:.1%})")
