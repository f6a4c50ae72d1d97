"""`polyfleet import kubernetes|skypilot|bill` and `polyfleet export kueue|skypilot|ray`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
import yaml
from rich.console import Console

from ..errors import UserError
from ..report.tables import Column, emit, jsonable, num
from . import app, options as opt, preflight
from .common import load, progress, write_outputs

import_app = typer.Typer(help="Read the fleet you have (Kubernetes nodes, SkyPilot clusters) or what you paid "
                              "(a cloud bill) into scenario sections.", no_args_is_help=True)
export_app = typer.Typer(help="Write a scenario's placement in a scheduler's own format (Kueue, SkyPilot, Ray).",
                         no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")

FORMAT, QUIET, OVERWRITE = opt.FORMAT, opt.QUIET, opt.OVERWRITE
POOL_COLUMNS = [Column("offering", "offering", justify="left"), Column("term", "term", justify="left"),
                Column("machines", "machines"), Column("units", "units"), Column("healthy_chips", "healthy chips"),
                Column("degraded_chips", "degraded chips"), Column("leftover_chips", "not a whole unit")]


def _catalog(ctx: typer.Context):
    return ctx.obj.context().catalog


def _write_file(path: Path, text: str, overwrite: bool, protect: Path | None = None) -> None:
    """Write one file; never over the input scenario, over another file only with --overwrite."""
    if protect is not None and path.resolve() == protect.resolve():
        raise UserError("is the scenario being read; write the copy elsewhere", where=str(path), field="--out")
    if path.exists() and (path.is_dir() or not overwrite):
        raise UserError("already exists; nothing was written", where=str(path), field="--out",
                        allowed="another path, or --overwrite" if not path.is_dir() else "a file path")
    if path.parent.exists() and not path.parent.is_dir():
        raise UserError("is not under a directory", where=str(path), field="--out")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _emit_fleet(fi, fmt: str, out: Path | None, scenario: str | None, overwrite: bool) -> None:
    from ..bridges.fleet_import import merge_fleet
    text = fi.to_yaml()
    if scenario is not None:
        if out is None:
            raise UserError("--scenario writes a copy of the scenario and needs --out", field="--out")
        text = merge_fleet(Path(scenario), fi)
    if out is not None:
        _write_file(out, text, overwrite, Path(scenario) if scenario else None)
    if fmt == "json":
        print(json.dumps(jsonable(fi.document()), indent=2))
        return
    rows = [p.row() for p in fi.pools]
    emit(rows, fmt, POOL_COLUMNS, title=f"Fleet read from {fi.source} ({fi.kind})",
         notes=[f"not in the fleet: {u.name}: {u.reason}" for u in fi.problems()] + list(fi.notes) +
               ([f"wrote {out}"] if out else ["(no --out: nothing written; the fleet section is below)"]))
    if fmt == "table" and out is None:
        sys.stdout.write(yaml.safe_dump({"fleet": fi.fleet_section()}, sort_keys=False, default_flow_style=None))


@import_app.command("kubernetes", epilog="Examples:\n\n"
                    "  kubectl get nodes -o json > nodes.json && polyfleet import kubernetes nodes.json\n\n"
                    "  polyfleet import kubernetes nodes.json --scenario my.yaml --out my-now.yaml\n\n"
                    "  polyfleet import kubernetes --context prod-gke --format json   (live cluster)\n\n"
                    "Accelerator nodes become the scenario's fleet: section (whole units of catalog offerings); "
                    "cordoned and NotReady nodes count as degraded capacity, left out of the units.")
def import_kubernetes(
    ctx: typer.Context,
    nodes: str | None = typer.Argument(None, help="`kubectl get nodes -o json` output; omit to read the live "
                                                  "cluster (needs the kubernetes package and a kubeconfig)."),
    context: str | None = typer.Option(None, "--context", help="kubeconfig context for the live cluster."),
    provider: str | None = typer.Option(None, "--provider", help="Provider of nodes that name none "
                                                                 "(no providerID or cloud labels)."),
    scenario: str | None = typer.Option(None, "--scenario", metavar="FILE",
                                        help="Write a copy of this scenario with its fleet: section replaced."),
    out: Path | None = typer.Option(None, "--out", metavar="FILE", help="Where to write the YAML."),
    overwrite: bool = OVERWRITE, fmt: str = FORMAT, quiet: bool = QUIET,
) -> None:
    """Read the fleet from Kubernetes nodes (TPU, Trainium/Inferentia, NVIDIA and AMD)."""
    preflight.options(ctx, out_file=True)
    from ..bridges.kubernetes import fleet_from_nodes, nodes_from_cluster, read_node_list
    cat = _catalog(ctx)
    if provider is not None:
        cat.provider(provider)
    with progress(quiet) as say:
        say("reading nodes")
        items = read_node_list(nodes) if nodes else nodes_from_cluster(context)
        fi = fleet_from_nodes(items, cat, source=Path(nodes).name if nodes else f"context {context or 'current'}",
                              provider=provider)
    _emit_fleet(fi, fmt, out, scenario, overwrite)


@import_app.command("skypilot", epilog="Examples:\n\n"
                    "  sky status -o json > clusters.json && polyfleet import skypilot clusters.json\n\n"
                    "  polyfleet import skypilot clusters.json --scenario my.yaml --out my-now.yaml\n\n"
                    "UP clusters are the fleet; INIT clusters are degraded; STOPPED ones hold nothing.")
def import_skypilot(
    ctx: typer.Context,
    status: str = typer.Argument(..., help="`sky status -o json` output."),
    scenario: str | None = typer.Option(None, "--scenario", metavar="FILE",
                                        help="Write a copy of this scenario with its fleet: section replaced."),
    out: Path | None = typer.Option(None, "--out", metavar="FILE", help="Where to write the YAML."),
    overwrite: bool = OVERWRITE, fmt: str = FORMAT,
) -> None:
    """Read the fleet from SkyPilot's cluster list."""
    preflight.options(ctx, out_file=True)
    from ..bridges.skypilot_status import fleet_from_status, read_status
    fi = fleet_from_status(read_status(status), _catalog(ctx), source=Path(status).name)
    _emit_fleet(fi, fmt, out, scenario, overwrite)


@import_app.command("bill", epilog="Examples:\n\n"
                    "  polyfleet import bill cur2-2026-10.csv --out paid.yaml\n\n"
                    "  polyfleet plan my.yaml --catalog paid.yaml     (plan with the prices actually paid)\n\n"
                    "Reads an AWS CUR 2.0 or a GCP billing export CSV; writes a catalog override whose prices have "
                    "status 'measured' (USD paid / chip-hours paid per offering and term).")
def import_bill(
    ctx: typer.Context,
    bill: str = typer.Argument(..., help="AWS CUR 2.0 or GCP billing export CSV."),
    out: Path | None = typer.Option(None, "--out", metavar="FILE", help="Where to write the catalog override."),
    overwrite: bool = OVERWRITE, fmt: str = FORMAT,
) -> None:
    """Read prices and chip-hours actually paid from a cloud bill."""
    preflight.options(ctx, out_file=True)
    from ..bridges.bills import read_bill
    cat = _catalog(ctx)
    b = read_bill(bill, cat)
    section = b.catalog_section(cat)
    if out is not None:
        head = f"# polyfleet import bill {Path(bill).name}: measured prices (catalog override; use with --catalog)\n"
        _write_file(out, head + yaml.safe_dump(section, sort_keys=False), overwrite)
    rows = b.prices()
    doc = {"source": b.source, "layout": b.layout, "prices": rows, "paid": [p.__dict__ | {"avg_chips": p.avg_chips}
                                                                             for p in b.paid],
           "not_mapped": [u.__dict__ for u in b.unmapped], "other_usd": b.other_usd, "catalog": section}
    emit(rows, fmt, [Column("offering", "offering", justify="left"), Column("term", "term", justify="left"),
                     Column("months", "months", justify="left"), Column("chip_hours", "chip-hours", num(0)),
                     Column("usd", "USD paid", num(2)), Column("usd_per_chip_hour", "$/chip-h (measured)", num(3))],
         title=f"Paid per chip-hour ({b.layout}, {Path(bill).name})", document=doc,
         notes=[f"not mapped: {u.name}: {u.reason}" for u in b.unmapped] +
               [f"other lines (not accelerators, fees, tax): ${b.other_usd:,.2f}"] +
               ([f"wrote {out}"] if out else ["(no --out: nothing written)"]))


def _placement(ctx: typer.Context, scenario: str, month: str | None, from_plan: bool, quiet: bool):
    from ..bridges.placement import scenario_placement
    from ..scenario.series import month_offset, parse_month
    scn = load(ctx, scenario)
    try:
        t = month_offset(scn.horizon.start, parse_month(month)) if month else 0
    except ValueError as exc:
        raise UserError(str(exc), field="--month", allowed="YYYY-MM") from None
    if not 0 <= t < scn.horizon.months:
        raise UserError(f"{month} is outside the horizon", field="--month", allowed=f"{scn.months[0]} .. {scn.months[-1]}")
    with progress(quiet) as say:
        return scn, scenario_placement(scn, t, from_plan=from_plan, say=say)


SCENARIO = opt.SCENARIO
OUT_DIR = typer.Option(..., "--out", metavar="DIR", help="Directory to write into.")
MONTH = typer.Option(None, "--month", help="Month of the demand (YYYY-MM; default: the first).")
FROM_PLAN = typer.Option(False, "--from-plan", help="Use the plan's fleet that month.")


@export_app.command("kueue", epilog="Examples:\n\n"
                    "  polyfleet export kueue my-now.yaml --out kueue/ && kubectl apply -f kueue/kueue.yaml\n\n"
                    "  polyfleet export kueue --month 2026-09 --from-plan --out kueue/ --format json\n\n"
                    "ResourceFlavors per chip/provider/region, a ClusterQueue per priority class (quotas from the "
                    "placement, flavors best price/performance first, lending limits keeping survivability), a "
                    "Cohort, WorkloadPriorityClasses, and a Namespace with a LocalQueue per class.")
def export_kueue_cmd(ctx: typer.Context, scenario: str = SCENARIO, out: Path = OUT_DIR, month: str | None = MONTH,
                     from_plan: bool = FROM_PLAN, cohort: str | None = typer.Option(None, "--cohort",
                                                                                   help="Cohort name."),
                     overwrite: bool = OVERWRITE, fmt: str = FORMAT, quiet: bool = QUIET) -> None:
    """Write the placement as Kueue objects (kueue.x-k8s.io/v1beta2)."""
    preflight.options(ctx, outputs=("kueue.yaml",))
    from ..bridges.kueue import export_kueue
    scn, sp = _placement(ctx, scenario, month, from_plan, quiet)
    ex = export_kueue(sp, scn.context().catalog, cohort=cohort)
    written = write_outputs(out, {"kueue.yaml": ex.to_yaml()}, overwrite)
    emit(list(ex.quotas), fmt, [Column("class", "class", justify="left"), Column("flavor", "flavor", justify="left"),
                                Column("resource", "resource", justify="left"), Column("nominal_chips", "quota"),
                                Column("lending_limit", "lend at most"), Column("survive", "survive")],
         title=f"Kueue quotas for {scn.name or scn.source_name}, {scn.months[sp.month]} (chips)",
         document={"quotas": list(ex.quotas), "files": [str(p) for p in written]},
         notes=[f"wrote {p}" for p in written])


@export_app.command("skypilot", epilog="Examples:\n\n"
                    "  polyfleet export skypilot my.yaml --out sky/ && sky serve up sky/service-chat.yaml\n\n"
                    "A SkyServe service YAML per inference service and a task YAML per training run, resources "
                    "ordered cheapest per token first. The run: command is yours to fill in.")
def export_skypilot_cmd(ctx: typer.Context, scenario: str = SCENARIO, out: Path = OUT_DIR, month: str | None = MONTH,
                        from_plan: bool = FROM_PLAN, overwrite: bool = OVERWRITE, fmt: str = FORMAT,
                        quiet: bool = QUIET) -> None:
    """Write SkyPilot service and task YAML for the scenario's workloads."""
    preflight.options(ctx)
    from ..bridges.skypilot_export import export_skypilot
    scn, sp = _placement(ctx, scenario, month, from_plan, quiet)
    files = export_skypilot(sp, scn.context().catalog)
    written = write_outputs(out, files, overwrite)
    rows = [{"file": p.name, "workload": (yaml.safe_load(files[p.name]).get("envs") or {}).get("POLYFLEET_SERVICE")
             or (yaml.safe_load(files[p.name]).get("envs") or {}).get("POLYFLEET_WORKLOAD"),
             "options": len(yaml.safe_load(files[p.name])["resources"].get("ordered", []))} for p in written]
    emit(rows, fmt, [Column("file", "file", justify="left"), Column("workload", "workload", justify="left"),
                     Column("options", "resource options")], title=f"SkyPilot YAML written to {out}",
         notes=["edit each file's run: command before launching"])


@export_app.command("ray", epilog="Examples:\n\n"
                    "  polyfleet export ray my.yaml --out ray/\n\n"
                    "Nodes (accelerator resources TPU / GPU / neuron_cores and pool labels), replica actors per "
                    "service and pool, training gangs as placement-group bundles, and the routing weights.")
def export_ray_cmd(ctx: typer.Context, scenario: str = SCENARIO, out: Path = OUT_DIR, month: str | None = MONTH,
                   from_plan: bool = FROM_PLAN, overwrite: bool = OVERWRITE, fmt: str = FORMAT,
                   quiet: bool = QUIET) -> None:
    """Write the placement as Ray resources and placement-group specs (ray.json)."""
    preflight.options(ctx, outputs=("ray.json",))
    from ..execute.spec import ray_spec
    scn, sp = _placement(ctx, scenario, month, from_plan, quiet)
    doc = ray_spec(sp.fleet, scn.context().catalog, sp.gang_chips)
    written = write_outputs(out, {"ray.json": json.dumps(jsonable(doc), indent=2)}, overwrite)
    rows = [{"kind": "replica", "name": r["service"], "pool": r["pool"], "count": r["count"],
             "resources": json.dumps(r["resources"])} for r in doc["replicas"]]
    rows += [{"kind": "gang", "name": g["workload"], "pool": g["pool"], "count": g["count"],
              "resources": f"{len(g['bundles'])} x {json.dumps(g['bundles'][0])}"} for g in doc["gangs"]]
    emit(rows, fmt, [Column("kind", "kind", justify="left"), Column("name", "workload", justify="left"),
                     Column("pool", "pool", justify="left"), Column("count", "count"),
                     Column("resources", "resources each", justify="left")],
         title=f"Ray spec: {len(doc['nodes'])} nodes", document=doc, notes=[f"wrote {p}" for p in written],
         console=Console(width=None if sys.stdout.isatty() else 200))
