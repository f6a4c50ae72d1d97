"""Write a placement as SkyPilot YAML: a SkyServe service per inference service, a task per training run.

Resources are an `ordered` list (SkyPilot tries them in turn): the offerings where the workload is
feasible and priced, cheapest per token first by the rate table, each as cloud + region + accelerators
as SkyPilot spells them (TPU slice names such as `tpu-v6e-16`, which count TensorCores on v5p and 7x;
`H100`, `Trainium2`, ...); SkyPilot picks the instance type that carries them. A service replica is one node with the replica's chips; offerings where a
replica needs more than one instance are left out (SkyServe replicas are single-node here). A training
run is one gang: a TPU slice (or N slices of the largest slice the chip allows), or N nodes of a
GPU/Trainium instance; SkyPilot's
`num_nodes` is one number per task, so the ordered list holds the options with the best option's node
count and the others are named in a comment.

Replica policy from the placement: `max_replicas` = the replicas placed for the month's peak,
`min_replicas` = the share of them the mean demand needs (peak / peak_factor), `target_qps_per_replica`
= the placed replicas' mean tokens/s over the mean output tokens per request. The `run:` command is
left to the user: polyfleet decides where and how many, not how the model is served.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import yaml

from ..catalog import Catalog
from ..catalog.skypilot import TPU_SLICES
from . import names
from .placement import ScenarioPlacement

SKY_CLOUD = {"gcp": "gcp", "aws": "aws", "azure": "azure", "lambda": "lambda", "nebius": "nebius", "oci": "oci"}
MAX_OPTIONS = 8
PORT = 8000


@dataclass(frozen=True)
class Option:
    """One resources entry and what it costs per million tokens."""

    offering: str
    usd_per_mtok: float
    nodes: int
    entry: dict


def _tpu_slice(instance: str, chips: int) -> str | None:
    prefix = instance.rsplit("-", 1)[0]
    if prefix not in TPU_SLICES:
        return None
    return f"{prefix}-{chips * TPU_SLICES[prefix][1]}"


def options_for(sp: ScenarioPlacement, catalog: Catalog, workload: str, chips: int | None = None) -> list[Option]:
    """Feasible, priced offerings for a workload, cheapest per token first. `chips`: the gang size (training);
    default: the rate table's chips per replica on each offering (one node)."""
    t = sp.table
    w = t.w(workload)
    cost = t.usd_per_million_tokens()[w]
    out = []
    for o in np.argsort(cost, kind="stable"):
        off = catalog.offering(t.offerings[o])
        if not np.isfinite(cost[o]) or off.provider not in SKY_CLOUD:
            continue
        need = int(chips or t.chips_per_unit[w, o])
        acc = catalog.accelerators[off.accelerator]
        if acc.family == "tpu":                             # a gang beyond the largest slice: several slices
            per_slice = min(need, int(acc.max_slice_chips.value or need))
            name = _tpu_slice(off.instance, per_slice)
            if name is None or (not chips and per_slice < need):
                continue
            nodes, accs = math.ceil(need / per_slice), {name: 1}
        else:
            nodes = max(1, math.ceil(need / off.unit_chips)) if chips else 1
            if not chips and need > off.unit_chips:
                continue                                    # a replica would span instances
            accs = {names.SKYPILOT_NAME[off.accelerator]: need if not chips else min(need, off.unit_chips)}
        entry = {"cloud": SKY_CLOUD[off.provider], "region": off.region, "accelerators": accs}
        out.append(Option(off.id, float(cost[o]), nodes, entry))
    return out


def service_yaml(sp: ScenarioPlacement, catalog: Catalog, service: str) -> str:
    """A SkyServe service YAML for one inference service."""
    spec = next(s for s in sp.scenario.workloads.services if s.id == service)
    opts = options_for(sp, catalog, service)[:MAX_OPTIONS]
    pl = sp.fleet.inference
    s = pl.services.index(service) if pl is not None and service in pl.services else None
    placed = int(pl.replicas[s].sum()) if s is not None else 0
    cap = float(pl.capacity_tokens_per_s[s].sum()) if s is not None else 0.0
    out_tokens = spec.service().mix.mean_output_tokens
    policy = {"min_replicas": max(1, math.ceil(placed / spec.peak_factor)) if placed else 0,
              "max_replicas": max(placed, 1)}
    if placed:
        policy["target_qps_per_replica"] = round(cap / placed / out_tokens, 4)
    doc = {"name": names.dns_label(service), "service": {"readiness_probe": "/health", "replica_policy": policy},
           "resources": {"ports": PORT, "ordered": [o.entry for o in opts]},
           "envs": {"POLYFLEET_SERVICE": service, "MODEL": spec.model},
           "run": f'echo "polyfleet: replace this with the command that serves {spec.model} on port {PORT}"; exit 1'}
    head = [f"# SkyServe service for {service} ({spec.model}), from polyfleet's placement of "
            f"{sp.scenario.name or sp.scenario.source_name}, {sp.scenario.months[sp.month]}",
            f"# {placed} replicas placed for the peak; resources cheapest per token first:"]
    head += [f"#   {o.offering}: ${o.usd_per_mtok:.3f} per million tokens" for o in opts]
    return "\n".join(head) + "\n" + yaml.safe_dump(doc, sort_keys=False)


def task_yaml(sp: ScenarioPlacement, catalog: Catalog, workload: str) -> str:
    """A SkyPilot task YAML for one training workload (one gang)."""
    spec = next(w for w in sp.scenario.workloads.training if w.id == workload)
    gang = sp.gang_chips[workload]
    opts = options_for(sp, catalog, workload, chips=gang)
    nodes = opts[0].nodes if opts else 1
    same = [o for o in opts if o.nodes == nodes][:MAX_OPTIONS]
    other = [o for o in opts if o.nodes != nodes]
    doc = {"name": names.dns_label(f"train-{workload}"), "num_nodes": nodes,
           "resources": {"ordered": [o.entry for o in same]},
           "envs": {"POLYFLEET_WORKLOAD": workload, "MODEL": spec.model, "GANG_CHIPS": str(gang)},
           "run": f'echo "polyfleet: replace this with the training command for {spec.model}"; exit 1'}
    head = [f"# SkyPilot task for training {workload} ({spec.model}): one gang of {gang} chips, "
            f"cheapest per token first"]
    head += [f"#   {o.offering}: ${o.usd_per_mtok:.3f} per million tokens" for o in same]
    head += [f"# also feasible with another node count: {o.offering} ({o.nodes} nodes)" for o in other[:MAX_OPTIONS]]
    return "\n".join(head) + "\n" + yaml.safe_dump(doc, sort_keys=False)


def export_skypilot(sp: ScenarioPlacement, catalog: Catalog) -> dict[str, str]:
    """{file name: YAML}: `service-<id>.yaml` per inference service, `train-<id>.yaml` per training run."""
    files = {f"service-{names.dns_label(s.id)}.yaml": service_yaml(sp, catalog, s.id)
             for s in sp.scenario.workloads.services}
    files.update({f"train-{names.dns_label(w.id)}.yaml": task_yaml(sp, catalog, w.id)
                  for w in sp.scenario.workloads.training})
    return files
